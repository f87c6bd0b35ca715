"""Prints the dev split, one JSON object per line ({"id", "label", "text"}, text decoded), for
`npm run eval:sentiment`.  Standard library only (no torch): the same dedupe and seeded split as
train.py's defaults (--dev-frac 0.1 --split-seed 13).  The tweets stay in ../shared: this writes to
stdout, never to the repository.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from data import LABELS, load_all, split  # noqa: E402

if __name__ == "__main__":
    rows, _, _ = load_all()
    _, dev = split(rows)
    out = sys.stdout
    for tid, label, text, _file in dev:
        out.write(json.dumps({"id": tid, "label": LABELS[label], "text": text}, ensure_ascii=False) + "\n")
