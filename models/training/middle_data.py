"""The corpora of the multi-task "middle" model, their labels per task and
their seeded, stratified dev splits.  Standard library only, so that
`npm run eval:middle` (through dump_middle_dev.py) rebuilds the very same dev
splits with any python3.  The texts are read from ../shared/data at run time
and never written into the repository.

Every row: {"corpus", "id", "text", "labels": {task: int}}.  A task a corpus
has no label for is absent from its labels (the trainer masks its loss).
"""

import os
import random

from data import dedupe_key, load_all, split
from textnorm import decode_tsv_text

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                       "shared", "data"))

SENTIMENT = ["negative", "neutral", "positive"]
EMOTIONS = ["anger", "joy", "optimism", "sadness"]
TASKS = ["sentiment", "emotion", "suggestion", "question", "comparison", "mixed"]
BINARY = ["suggestion", "question", "comparison", "mixed"]
NUM_CLASSES = {"sentiment": 3, "emotion": 4, "suggestion": 1, "question": 1,
               "comparison": 1, "mixed": 1}
SPLIT_SEED = 13


def _tsv(path):
    """(id, label, decoded text, extra columns) per line."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) >= 3:
                yield parts[0], parts[1], decode_tsv_text(parts[2]), parts[3:]


def _sentiment(label):
    return {"sentiment": SENTIMENT.index(label)} if label in SENTIMENT else None


def _emotion(label):
    return {"emotion": EMOTIONS.index(label)} if label in EMOTIONS else None


def _absa(label, extra):
    # mixed: a conflict aspect or both polarities; a sentence without aspects is not mixed
    out = {"mixed": int(label == "mixed")}
    if label in SENTIMENT:
        out["sentiment"] = SENTIMENT.index(label)
    return out


def _nps(label):
    if label == "System":  # JOIN/PART lines of the chat server, not posts
        return None
    return {"question": int(label in ("ynQuestion", "whQuestion"))}


# name: (files under SHARED, labeller(label, extra) -> labels or None, stratify task, dev fraction)
CORPORA = {
    "tse": (["tweet-sentiment-extraction/train.tsv"], lambda l, e: _sentiment(l), "sentiment", 0.1),
    "dong": (["dong2014-target-twitter/dong2014.tsv"], lambda l, e: _sentiment(l), "sentiment", 0.15),
    "valence": (["semeval2018-affect/valence-oc-train.tsv", "semeval2018-affect/valence-oc-dev.tsv"],
                lambda l, e: _sentiment(l), "sentiment", 0.2),
    "emotion": (["tweeteval/emotion-train.tsv", "tweeteval/emotion-val.tsv"],
                lambda l, e: _emotion(l), "emotion", 0.15),
    "ec": (["semeval2018-affect/ec-train.tsv", "semeval2018-affect/ec-dev.tsv"],
           lambda l, e: {"mixed": int(bool(e) and e[0] == "mixed")}, "mixed", 0.15),
    "forums": (["semeval2019-task9-suggestions/subtaskA-train-v1.4.tsv",
                "semeval2019-task9-suggestions/subtaskA-trial-dev.tsv"],
               lambda l, e: {"suggestion": int(l == "suggestion")}, "suggestion", 0.15),
    # Subtask B has no training set by design: half of its trial set trains, half is dev
    "hotels": (["semeval2019-task9-suggestions/subtaskB-trial-dev.tsv"],
               lambda l, e: {"suggestion": int(l == "suggestion")}, "suggestion", 0.5),
    "nps": (["nps-chat/nps-chat.tsv"], lambda l, e: _nps(l), "question", 0.15),
    "compsent": (["compsent19/train.tsv"],
                 lambda l, e: {"comparison": int(l in ("better", "worse"))}, "comparison", 0.15),
    "restaurants": (["semeval2014-absa/restaurants-train.tsv"], _absa, "mixed", 0.15),
    "laptops": (["semeval2014-absa/laptops-train.tsv"], _absa, "mixed", 0.15),
}
SENTIMENT_SETS = ["semeval", "tse", "dong", "valence"]


def load_corpus(name, shared=SHARED):
    """Rows of one corpus, duplicates (same id, or same normalised text) dropped, first wins."""
    files, labeller, _, _ = CORPORA[name]
    rows, seen_ids, seen_text = [], set(), set()
    for rel in files:
        for tid, label, text, extra in _tsv(os.path.join(shared, rel)):
            labels = labeller(label, extra)
            k = dedupe_key(text)
            if labels is None or tid in seen_ids or k in seen_text or not k:
                continue
            seen_ids.add(tid)
            seen_text.add(k)
            rows.append({"corpus": name, "id": tid, "text": text, "labels": labels})
    return rows


def stratified_split(rows, task, frac, seed=SPLIT_SEED):
    """data.split's recipe: within each label, rows sorted by id, shuffled with
    random.Random(seed + label), the first round(frac * n) go to dev."""
    train, dev = [], []
    for lab in sorted({r["labels"][task] for r in rows}):
        part = sorted((r for r in rows if r["labels"][task] == lab), key=lambda r: r["id"])
        random.Random(seed + lab).shuffle(part)
        n = round(frac * len(part))
        dev.extend(part[:n])
        train.extend(part[n:])
    return (sorted(train, key=lambda r: r["id"]), sorted(dev, key=lambda r: r["id"]))


def semeval_rows(shared=SHARED):
    """SemEval 2013-2016 with train.py's own dedupe and dev split (the same dev as eval:sentiment)."""
    rows, _, _ = load_all(os.path.join(shared, "sentiment", "semeval-2013-2016"))
    tr, dv = split(rows)
    conv = lambda rs: [{"corpus": "semeval", "id": r[0], "text": r[2],  # noqa: E731
                        "labels": {"sentiment": r[1]}} for r in rs]
    return conv(tr), conv(dv)


def load_splits(shared=SHARED, corpora=None):
    """{corpus: (train, dev)}.  Training rows whose normalised text is in any
    corpus's dev split are dropped (TweetEval emotion is a subset of E-c, and
    V-oc shares tweets with both), so no dev text is ever trained on."""
    out = {"semeval": semeval_rows(shared)}
    for name in corpora or CORPORA:
        _, _, task, frac = CORPORA[name]
        out[name] = stratified_split(load_corpus(name, shared), task, frac)
    dev_keys = {dedupe_key(r["text"]) for _, dev in out.values() for r in dev}
    return {name: ([r for r in tr if dedupe_key(r["text"]) not in dev_keys], dev)
            for name, (tr, dev) in out.items()}
