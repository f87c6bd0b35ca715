"""WordPiece vocabulary: whole words + BPE-learned subword pieces, and the
HF-tokenizers-format tokenizer.json that transformers.js loads."""

import json
from collections import Counter, defaultdict

from textnorm import (CLS, DQUOTE_CLASS, LINK_RE, MAX_CHARS_PER_WORD,
                      MENTION_RE, PAD, PRETOK_RE, SQUOTE_CLASS, UNK, WS_CLASS,
                      pre_tokenize)


def learn_pieces(word_counts, n_merges, min_pair=3):
    """BPE over word types (the HF WordPiece trainer's recipe): symbols after
    the first carry the '##' prefix.  Returns the pieces created by merges."""
    words = []
    counts = []
    for w, c in word_counts.items():
        chars = list(w)
        if len(chars) < 2 or len(chars) > 30:
            continue
        words.append([chars[0]] + ["##" + ch for ch in chars[1:]])
        counts.append(c)
    pair_counts = Counter()
    where = defaultdict(set)
    for i, sym in enumerate(words):
        for a, b in zip(sym, sym[1:]):
            pair_counts[(a, b)] += counts[i]
            where[(a, b)].add(i)
    pieces = []
    for _ in range(n_merges):
        if not pair_counts:
            break
        (a, b), c = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))
        if c < min_pair:
            break
        new = a + b[2:]
        pieces.append(new)
        for i in list(where[(a, b)]):
            sym = words[i]
            # remove old pair stats of this word
            for p in zip(sym, sym[1:]):
                pair_counts[p] -= counts[i]
                if pair_counts[p] <= 0:
                    del pair_counts[p]
                where[p].discard(i)
            j, out = 0, []
            while j < len(sym):
                if j + 1 < len(sym) and sym[j] == a and sym[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(sym[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += counts[i]
                where[p].add(i)
        where.pop((a, b), None)
    return pieces


def build_vocab(train_texts, glove_words=(), min_count=2, glove_top=0,
                n_merges=3000, char_min=2):
    """train_texts: training-split texts only (never the dev split)."""
    wc = Counter()
    for t in train_texts:
        wc.update(pre_tokenize_text(t))
    vocab = [PAD, UNK, CLS]
    seen = set(vocab)

    def add(tok):
        if tok not in seen and len(tok) <= MAX_CHARS_PER_WORD:
            seen.add(tok)
            vocab.append(tok)

    # single characters, word-initial and continuation
    cc = Counter()
    for w, c in wc.items():
        for i, ch in enumerate(w):
            cc[ch if i == 0 else "##" + ch] += c
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        add(ch)
        add("##" + ch)
    for ch, c in sorted(cc.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= char_min:
            add(ch)
    # whole words seen in training
    for w, c in sorted(wc.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= min_count:
            add(w)
    # frequent GloVe words (pre-tokenise to themselves) for unseen words
    n = 0
    for w in glove_words:
        if n >= glove_top:
            break
        if pre_tokenize(w) == [w]:
            add(w)
            n += 1
    # subword pieces
    for p in learn_pieces(wc, n_merges):
        add(p)
    return vocab, wc


def pre_tokenize_text(t):
    from textnorm import normalize
    return pre_tokenize(normalize(t))


def tokenizer_json(vocab, max_len):
    def regex_replace(pattern, content):
        return {"type": "Replace", "pattern": {"Regex": pattern},
                "content": content}

    specials = [(vocab.index(t), t) for t in (PAD, UNK, CLS)]
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": max_len,
                       "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True}
            for i, t in specials
        ],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                regex_replace(WS_CLASS, " "),
                {"type": "NFKD"},
                {"type": "StripAccents"},
                {"type": "Lowercase"},
                regex_replace(SQUOTE_CLASS, "'"),
                regex_replace(DQUOTE_CLASS, '"'),
                regex_replace(MENTION_RE, "@user"),
                regex_replace(LINK_RE, "http"),
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "WhitespaceSplit"},
                {"type": "Split", "pattern": {"Regex": PRETOK_RE},
                 "behavior": "Isolated", "invert": False},
            ],
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": CLS, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": CLS, "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {CLS: {"id": CLS, "ids": [vocab.index(CLS)],
                                     "tokens": [CLS]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": UNK,
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": MAX_CHARS_PER_WORD,
            "vocab": {t: i for i, t in enumerate(vocab)},
        },
    }


def tokenizer_config(max_len):
    return {
        "tokenizer_class": "DistilBertTokenizer",
        "model_max_length": max_len,
        "do_lower_case": False,
        "pad_token": PAD,
        "unk_token": UNK,
        "cls_token": CLS,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": True,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def write_tokenizer(folder, vocab, max_len):
    import os
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, max_len), f, ensure_ascii=False,
                  separators=(",", ":"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(max_len), f, indent=2)
