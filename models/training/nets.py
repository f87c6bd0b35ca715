"""Candidate architectures.  All take (input_ids, attention_mask), both int64
[batch, seq], and return logits [batch, 3].  Every one is padding-invariant:
a post's logits do not depend on how much right-padding its batch has (pad
embeddings are zeroed, pooling and attention are masked), so batched
inference in transformers.js gives the same numbers as one-by-one.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e4


class QuantEmbedding(nn.Module):
    """int8 embedding table with a float scale per row (export only)."""

    def __init__(self, weight):
        super().__init__()
        w = weight.detach().float()
        scale = w.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)

    def forward(self, ids):
        return self.q[ids].float() * self.scale[ids].unsqueeze(-1)


def quantize_embeddings(model):
    """Replace every nn.Embedding in the model by a QuantEmbedding."""
    for name, mod in list(model.named_children()):
        if isinstance(mod, nn.Embedding):
            setattr(model, name, QuantEmbedding(mod.weight))
        else:
            quantize_embeddings(mod)
    return model


def embed(emb, ids, mask, drop=None):
    x = emb(ids) * mask.unsqueeze(-1).to(torch.float32)
    if drop is not None:
        x = drop(x)
    return x


def masked_max_mean(h, mask):
    """h [B, T, C], mask [B, T] -> [B, 2C] (max over valid, mean over valid)."""
    m = mask.unsqueeze(-1).to(h.dtype)
    n = m.sum(dim=1)
    mx = (h * m + (1.0 - m) * NEG).max(dim=1).values * (n > 0).to(h.dtype)
    mean = (h * m).sum(dim=1) / n.clamp(min=1.0)
    return torch.cat([mx, mean], dim=-1)


class BoW(nn.Module):
    """fastText-style: word embeddings plus hashed word-bigram embeddings,
    pooled (mean + max), one hidden layer."""

    def __init__(self, emb_init, n_buckets=1 << 17, bigram_dim=32, hidden=128,
                 dropout=0.4, emb_dropout=0.1):
        super().__init__()
        V, D = emb_init.shape
        self.emb = nn.Embedding(V, D)
        self.emb.weight.data.copy_(emb_init)
        self.n_buckets = n_buckets
        self.big = nn.Embedding(n_buckets, bigram_dim)
        nn.init.normal_(self.big.weight, std=0.05)
        self.edrop = nn.Dropout(emb_dropout)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * (D + bigram_dim), hidden)
        self.out = nn.Linear(hidden, 3)

    def forward(self, input_ids, attention_mask):
        x = embed(self.emb, input_ids, attention_mask, self.edrop)
        a, b = input_ids[:, :-1], input_ids[:, 1:]
        h = torch.remainder(a * 1000003 + b * 7919, self.n_buckets)
        bm = attention_mask[:, 1:]
        # keep the bigram sequence as long as the token sequence
        h = torch.cat([h, torch.zeros_like(input_ids[:, :1])], dim=1)
        bm = torch.cat([bm, torch.zeros_like(attention_mask[:, :1])], dim=1)
        bx = embed(self.big, h, bm)
        mask = attention_mask
        pooled = torch.cat([masked_max_mean(x, mask),
                            masked_max_mean(bx, bm)], -1)
        z = self.drop(F.relu(self.fc(self.drop(pooled))))
        return self.out(z)


class CNN(nn.Module):
    """Kim-style CNN: convolutions of several widths over the token
    embeddings, masked max + mean pooling."""

    def __init__(self, emb_init, widths=(1, 2, 3, 4, 5), filters=128,
                 dropout=0.5, emb_dropout=0.2):
        super().__init__()
        V, D = emb_init.shape
        self.emb = nn.Embedding(V, D)
        self.emb.weight.data.copy_(emb_init)
        self.widths = widths
        self.convs = nn.ModuleList(nn.Conv1d(D, filters, k) for k in widths)
        self.edrop = nn.Dropout(emb_dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * filters * len(widths), 3)

    def forward(self, input_ids, attention_mask):
        x = embed(self.emb, input_ids, attention_mask, self.edrop)
        x = x.transpose(1, 2)  # B, D, T
        feats = []
        for k, conv in zip(self.widths, self.convs):
            xp = F.pad(x, ((k - 1) // 2, k // 2))
            h = F.relu(conv(xp)).transpose(1, 2)  # B, T, F
            feats.append(masked_max_mean(h, attention_mask))
        return self.out(self.drop(torch.cat(feats, dim=-1)))


def reverse_valid(x, mask):
    """Reverse each sequence within its valid length (right padding stays)."""
    B, T = mask.shape
    lengths = mask.sum(dim=1, keepdim=True)  # B,1
    t = torch.arange(T, device=mask.device).unsqueeze(0).expand(B, T)
    idx = torch.where(t < lengths, lengths - 1 - t, t)
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class BiGRU(nn.Module):
    """Bidirectional GRU (the backward pass runs on each sequence reversed
    within its own length, so padding cannot leak in), max + mean pooling."""

    def __init__(self, emb_init, hidden=96, dropout=0.5, emb_dropout=0.2):
        super().__init__()
        V, D = emb_init.shape
        self.emb = nn.Embedding(V, D)
        self.emb.weight.data.copy_(emb_init)
        self.fwd = nn.GRU(D, hidden, batch_first=True)
        self.bwd = nn.GRU(D, hidden, batch_first=True)
        self.edrop = nn.Dropout(emb_dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(4 * hidden, 3)

    def forward(self, input_ids, attention_mask):
        x = embed(self.emb, input_ids, attention_mask, self.edrop)
        hf, _ = self.fwd(x)
        hb, _ = self.bwd(reverse_valid(x, attention_mask))
        hb = reverse_valid(hb, attention_mask)
        h = torch.cat([hf, hb], dim=-1)
        return self.out(self.drop(masked_max_mean(h, attention_mask)))


class Block(nn.Module):
    def __init__(self, d, heads, ff, dropout):
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, key_bias):
        B, T, D = x.shape
        hd = D // self.h
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(B, T, self.h, hd).transpose(1, 2)
        k = k.reshape(B, T, self.h, hd).transpose(1, 2)
        v = v.reshape(B, T, self.h, hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) * (hd ** -0.5) + key_bias
        att = self.drop(att.softmax(dim=-1))
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.drop(self.o(y))
        x = x + self.drop(self.ff2(F.gelu(self.ff1(self.ln2(x)))))
        return x


class TinyTransformer(nn.Module):
    """Pre-LN transformer encoder trained from scratch (GloVe-initialised
    token embeddings projected to d_model), masked max + mean pooling."""

    def __init__(self, emb_init, d=128, layers=2, heads=4, ff=256, max_len=128,
                 dropout=0.2, emb_dropout=0.2):
        super().__init__()
        V, D = emb_init.shape
        self.emb = nn.Embedding(V, D)
        self.emb.weight.data.copy_(emb_init)
        self.proj = nn.Linear(D, d)
        self.pos = nn.Embedding(max_len, d)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(d, heads, ff, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.edrop = nn.Dropout(emb_dropout)
        self.drop = nn.Dropout(0.4)
        self.out = nn.Linear(2 * d, 3)

    def forward(self, input_ids, attention_mask):
        B, T = input_ids.shape
        x = embed(self.emb, input_ids, attention_mask, self.edrop)
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        x = self.proj(x) + self.pos(pos)
        key_bias = ((1 - attention_mask).to(torch.float32) * NEG)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, key_bias)
        x = self.ln(x)
        return self.out(self.drop(masked_max_mean(x, attention_mask)))


class Ensemble(nn.Module):
    """Average of the members' probabilities; returns log(mean prob) as
    logits, so softmax(logits) is exactly the averaged distribution."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, input_ids, attention_mask):
        p = None
        for m in self.members:
            q = m(input_ids, attention_mask).softmax(dim=-1)
            p = q if p is None else p + q
        return torch.log(p / len(self.members))


ARCHS = {"bow": BoW, "cnn": CNN, "bigru": BiGRU, "transformer": TinyTransformer}


class SubwordEmbedding(nn.Module):
    """fastText-style token vectors: a per-token vector (GloVe-initialised)
    plus the mean of hashed character 3-5-gram vectors of the token.  Only
    used in training: fold_subwords() turns it into a plain table for every
    vocabulary entry, so the shipped graph is an ordinary embedding lookup."""

    def __init__(self, base_weight, ngram_ids, ngram_mask, n_buckets, freeze_base=False):
        super().__init__()
        V, D = base_weight.shape
        self.base = nn.Embedding(V, D)
        self.base.weight.data.copy_(base_weight)
        self.base.weight.requires_grad_(not freeze_base)
        self.ng = nn.Embedding(n_buckets, D)
        nn.init.normal_(self.ng.weight, std=0.02)
        self.register_buffer("ngram_ids", ngram_ids)
        self.register_buffer("ngram_mask", ngram_mask)
        self.register_buffer("ngram_cnt", ngram_mask.sum(1, keepdim=True).clamp(min=1.0))

    def forward(self, ids):
        g = self.ng(self.ngram_ids[ids]) * self.ngram_mask[ids].unsqueeze(-1)
        return self.base(ids) + g.sum(-2) / self.ngram_cnt[ids]

    @torch.no_grad()
    def folded(self):
        V, D = self.base.weight.shape
        e = nn.Embedding(V, D)
        for i in range(0, V, 4096):
            ids = torch.arange(i, min(V, i + 4096))
            e.weight.data[i:i + len(ids)] = self.forward(ids)
        e.weight.data[0] = 0.0
        return e


def fold_subwords(model):
    for name, mod in list(model.named_children()):
        if isinstance(mod, SubwordEmbedding):
            setattr(model, name, mod.folded())
        else:
            fold_subwords(mod)
    return model


def char_ngram_table(vocab, n_buckets, nmin=3, nmax=5, kmax=24):
    """[V, kmax] hashed n-gram ids and mask.  Words are wrapped as <word>;
    WordPiece continuations (##xyz) get no start marker; special tokens none."""
    import zlib
    V = len(vocab)
    ids = torch.zeros(V, kmax, dtype=torch.long)
    mask = torch.zeros(V, kmax)
    for i, t in enumerate(vocab):
        if t.startswith("[") and t.endswith("]") and len(t) > 2:
            continue
        w = (t[2:] + ">") if t.startswith("##") and len(t) > 2 else ("<" + t + ">")
        grams = []
        for n in range(nmin, nmax + 1):
            grams += [w[j:j + n] for j in range(0, len(w) - n + 1)]
        if not grams:
            grams = [w]
        grams = grams[:kmax]
        for k, g in enumerate(grams):
            ids[i, k] = zlib.crc32(g.encode("utf-8")) % n_buckets
            mask[i, k] = 1.0
    return ids, mask
