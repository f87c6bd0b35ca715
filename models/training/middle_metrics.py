"""Figures of the multi-task model: macro recall, F1, expected calibration
error, temperature fitting and thresholds.  numpy only.  The same figures
(computed in TypeScript) are what `npm run eval:middle` prints."""

import numpy as np

from middle_data import BINARY, SENTIMENT_SETS

SET_TASK = {"forums": "suggestion", "hotels": "suggestion", "nps": "question",
            "compsent": "comparison", "restaurants": "mixed", "laptops": "mixed", "ec": "mixed"}


def macro_recall(gold, pred, n):
    return float(np.mean([(pred[gold == k] == k).mean() for k in range(n) if (gold == k).any()]))


def macro_f1(gold, pred, n):
    return float(np.mean([f1(gold == k, pred == k) for k in range(n)]))


def f1(gold, pred):
    tp = float(np.sum(gold & pred))
    return 0.0 if tp == 0 else 2 * tp / (float(np.sum(gold)) + float(np.sum(pred)))


def ece(probs, gold, bins=15):
    """Expected calibration error of the top label, equal-width confidence bins."""
    conf = probs.max(1)
    right = probs.argmax(1) == gold
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        b = (conf > lo) & (conf <= hi)
        if b.any():
            total += b.mean() * abs(conf[b].mean() - right[b].mean())
    return float(total)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def fit_temperature(logits, gold):
    """The temperature that minimises the negative log-likelihood (grid, then a finer grid)."""
    def nll(t):
        p = softmax(logits / t)
        return -float(np.mean(np.log(p[np.arange(len(gold)), gold] + 1e-12)))
    best = min(np.arange(0.3, 5.01, 0.05), key=nll)
    return round(float(min(np.arange(best - 0.05, best + 0.051, 0.005), key=nll)), 3)


def best_threshold(prob, gold):
    keep = gold >= 0
    prob, gold = prob[keep], gold[keep] == 1
    return round(float(max(np.arange(0.05, 0.951, 0.01), key=lambda t: (f1(gold, prob >= t), -abs(t - 0.5)))), 2)


def _gold(rows, task):
    return np.array([r["labels"].get(task, -1) for r in rows])


def inner_score(logits, rows):
    """Epoch selection: the mean of sentiment macro recall (mean over the sets),
    emotion macro F1 and the best-threshold F1 of each flag (pooled over its corpora)."""
    parts = {}
    sets = [c for c in SENTIMENT_SETS if c in logits]
    if sets:
        parts["sentiment"] = float(np.mean([macro_recall(_gold(rows[c], "sentiment"),
                                                         logits[c]["sentiment"].argmax(1), 3) for c in sets]))
    if "emotion" in logits:
        parts["emotion"] = macro_f1(_gold(rows["emotion"], "emotion"), logits["emotion"]["emotion"].argmax(1), 4)
    for t in BINARY:
        cs = [c for c in logits if SET_TASK.get(c) == t]
        if not cs:
            continue
        p = np.concatenate([1 / (1 + np.exp(-logits[c][t][:, 0])) for c in cs])
        g = np.concatenate([_gold(rows[c], t) for c in cs])
        th = best_threshold(p, g)
        parts[t] = f1(g == 1, p >= th)
    return float(np.mean(list(parts.values()))), parts


def dev_report(prob_fn, dev, thresholds):
    """prob_fn(token ids) -> {task: probabilities}; dev: {corpus: (rows, token ids)}."""
    figures, lines = {}, []
    pooled_p, pooled_g = [], []
    for c, (rows, x) in dev.items():
        p = prob_fn(x)
        if c in SENTIMENT_SETS:
            g = _gold(rows, "sentiment")
            figures[f"sentiment/{c}"] = {"macro_recall": macro_recall(g, p["sentiment"].argmax(1), 3),
                                         "ece": ece(p["sentiment"], g), "n": len(g)}
            pooled_p.append(p["sentiment"])
            pooled_g.append(g)
        elif c == "emotion":
            g = _gold(rows, "emotion")
            figures["emotion/tweeteval"] = {"macro_f1": macro_f1(g, p["emotion"].argmax(1), 4), "n": len(g)}
        if c in SET_TASK:
            t = SET_TASK[c]
            g = _gold(rows, t) == 1
            figures[f"{t}/{c}"] = {"f1": f1(g, p[t] >= thresholds[t]), "n": len(g), "positives": int(g.sum())}
    pp, pg = np.concatenate(pooled_p), np.concatenate(pooled_g)
    figures["sentiment/pooled"] = {"ece": ece(pp, pg), "n": len(pg)}
    for k, v in figures.items():
        lines.append(f"{k:24s} " + " ".join(f"{m} {x:.4f}" if isinstance(x, float) else f"{m} {x}"
                                            for m, x in v.items()))
    return {"figures": figures, "lines": lines}
