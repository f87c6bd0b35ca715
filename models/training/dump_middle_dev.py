"""Prints the multi-task dev splits, one JSON object per line ({"corpus", "id", "text", "labels"},
text decoded), for `npm run eval:middle`.  Standard library only (no torch): the same corpora,
dedupe and seeded splits as multitask.py (middle_data.load_splits).  The texts stay in ../shared:
this writes to stdout, never to the repository.
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
from middle_data import load_splits  # noqa: E402

if __name__ == "__main__":
    for name, (_, dev) in load_splits().items():
        for r in dev:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
