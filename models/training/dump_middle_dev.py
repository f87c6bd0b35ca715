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
from middle_data import CORPORA, SHARED, _tsv, load_splits  # noqa: E402


def ec_emotions():
    """E-c's own labels by tweet id (eleven emotions, several or none a tweet): the emotions field's
    dev set (eval:middle). Kept outside `labels`, which the trainer reads."""
    return {tid: [e for e in label.split(",") if e] for rel in CORPORA["ec"][0]
            for tid, label, _, _ in _tsv(os.path.join(SHARED, rel))}


if __name__ == "__main__":
    emotions = ec_emotions()
    for name, (_, dev) in load_splits().items():
        for r in dev:
            if name == "ec":
                r = {**r, "emotions": emotions.get(r["id"], [])}
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
