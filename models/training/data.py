"""Loading, de-duplication and the seeded, stratified dev split.

The tweets are read from ../shared/data/sentiment at training time and never
written into the repository.
"""

import glob
import os
import random
from collections import Counter

from textnorm import decode_tsv_text, normalize

LABELS = ["negative", "neutral", "positive"]
LABEL2ID = {l: i for i, l in enumerate(LABELS)}

DEFAULT_DATA_DIR = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                 "sentiment", "semeval-2013-2016"))


def read_tsv(path):
    """Yield (id, label, decoded_text).  Extra columns (a date) are ignored."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) < 3 or parts[1] not in LABEL2ID:
                continue
            yield parts[0], parts[1], decode_tsv_text(parts[2])


def dedupe_key(text):
    # same text after normalisation (mentions, links, case, whitespace)
    return " ".join(normalize(text).split())


def load_all(data_dir=DEFAULT_DATA_DIR):
    """All tweets, duplicates dropped: the first occurrence (files in sorted
    name order, lines in order) of an id or of a normalised text wins."""
    files = sorted(glob.glob(os.path.join(data_dir, "*.tsv")))
    if not files:
        raise SystemExit(f"no .tsv files in {data_dir}")
    seen_ids, seen_text = set(), set()
    rows, dropped = [], Counter()
    for p in files:
        for tid, label, text in read_tsv(p):
            if tid in seen_ids:
                dropped["id"] += 1
                continue
            k = dedupe_key(text)
            if k in seen_text:
                dropped["text"] += 1
                seen_ids.add(tid)
                continue
            seen_ids.add(tid)
            seen_text.add(k)
            rows.append((tid, LABEL2ID[label], text, os.path.basename(p)))
    return rows, dropped, [os.path.basename(p) for p in files]


def split(rows, dev_frac=0.1, seed=13):
    """Stratified split: within each label, rows sorted by tweet id, shuffled
    with random.Random(seed), the first round(dev_frac*n) go to dev."""
    train, dev = [], []
    for lab in range(len(LABELS)):
        part = sorted((r for r in rows if r[1] == lab), key=lambda r: r[0])
        random.Random(seed + lab).shuffle(part)
        n_dev = round(dev_frac * len(part))
        dev.extend(part[:n_dev])
        train.extend(part[n_dev:])
    train.sort(key=lambda r: r[0])
    dev.sort(key=lambda r: r[0])
    return train, dev
