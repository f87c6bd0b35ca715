"""Text decoding, normalisation and tokenisation shared by training and export.

Everything here is mirrored *exactly* by the tokenizer.json that export writes
(a HF-tokenizers-format WordPiece tokenizer that transformers.js implements):
the normaliser and pre-tokeniser regexes below are written verbatim into
tokenizer.json, so the runtime gets the same tokens for the same text.
`verify_tokenizer_parity.mjs` checks that on every tweet of the data set.

Two layers:
  * decode_tsv_text(): undoes the escapes of the SemEval TSV files
    (\\uXXXX incl. surrogate pairs, \\" and HTML entities).  Only for the
    data files (training, eval); live posts are not escaped this way.
  * normalize(): applied to every post, in training and at run time
    (the tokenizer.json normaliser does the same steps, in this order).
"""

import html
import re
import unicodedata

# ---------------------------------------------------------------------------
# 1. Data-file decoding (TSV -> text)
# ---------------------------------------------------------------------------

_U_ESC = re.compile(r"\\u([0-9a-fA-F]{4})")


def _decode_u(text):
    def rep(m):
        return chr(int(m.group(1), 16))

    s = _U_ESC.sub(rep, text)
    # re-pair surrogates produced by \\uD83D\\uDE00-style escapes
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        s = s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return s


def decode_tsv_text(text):
    """Decode one text field of the SemEval TSV files."""
    s = _decode_u(text)
    s = s.replace('\\"', '"')
    # html.unescape twice: the collection has a few double-escaped entities
    # such as &amp;lt;
    s = html.unescape(html.unescape(s))
    return s


# ---------------------------------------------------------------------------
# 2. Normalisation (every post, training and run time)
# ---------------------------------------------------------------------------

# Whitespace: every run of these characters becomes one ASCII space.  Listed
# explicitly so Python's re, JavaScript's /u regexes and the tokenizer's
# oniguruma-to-JS rewrite all agree.
WS_CLASS = (
    "[\\t\\n\\u000b\\f\\r \\u001c-\\u001f\\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]+"
)
# Curly / typographic single quotes and backtick -> ASCII apostrophe
SQUOTE_CLASS = "[\\u2018\\u2019\\u201b\\u2032\\u0060\\u00b4]"
# Curly double quotes -> ASCII double quote
DQUOTE_CLASS = "[\\u201c\\u201d\\u201f\\u2033]"
# A whitespace-delimited token that starts with "@" (and has more after it)
# becomes "@user"; one that starts with "http" becomes "http"
# (the cardiffnlp twitter-roberta convention, applied after lowercasing).
MENTION_RE = "(?<![^ ])@[^ ]+"
LINK_RE = "(?<![^ ])http[^ ]*"

_ws = re.compile(WS_CLASS)
_sq = re.compile(SQUOTE_CLASS)
_dq = re.compile(DQUOTE_CLASS)
_mention = re.compile(MENTION_RE)
_link = re.compile(LINK_RE)


def _strip_marks(s):
    # == transformers.js StripAccents: remove \p{M} (categories Mn, Mc, Me)
    return "".join(c for c in s if not unicodedata.category(c).startswith("M"))


def normalize(text):
    s = _ws.sub(" ", text)  # 1. whitespace runs -> " "
    s = unicodedata.normalize("NFKD", s)  # 2. NFKD
    s = _strip_marks(s)  # 3. drop combining marks
    s = s.lower()  # 4. lowercase
    s = _sq.sub("'", s)  # 5. quotes
    s = _dq.sub('"', s)
    s = _mention.sub("@user", s)  # 6. mentions
    s = _link.sub("http", s)  # 7. links
    return s


# ---------------------------------------------------------------------------
# 3. Pre-tokenisation: split on " ", then isolate these pieces in each chunk
# ---------------------------------------------------------------------------

PRETOK_RE = (
    "@user"
    "|n't(?![a-z0-9])"  # negation clitic, as in GloVe / PTB: do n't
    "|[a-z0-9]+(?=n't(?![a-z0-9]))"
    "|'(?:s|m|d|ll|re|ve)(?![a-z0-9])"  # 's 'm 'd 'll 're 've
    "|[a-z0-9]+"
    "|!+|\\?+|\\.+"
    "|[:;=][-o']?[()\\[\\]dp/\\\\|*3]"  # ascii emoticons :) ;-) :d :p =/
    "|<3"
    "|."
)
_pretok = re.compile(PRETOK_RE)


def pre_tokenize(normalized):
    out = []
    for chunk in normalized.split(" "):
        if not chunk:
            continue
        # Split(behavior=Isolated): matches and the gaps between them
        prev = 0
        for m in _pretok.finditer(chunk):
            if m.start() > prev:
                out.append(chunk[prev:m.start()])
            if m.end() > m.start():
                out.append(m.group(0))
            prev = m.end()
        if prev < len(chunk):
            out.append(chunk[prev:])
    return out


def words(text):
    return pre_tokenize(normalize(text))


# ---------------------------------------------------------------------------
# 4. WordPiece (greedy longest-match-first, "##" continuation prefix)
# ---------------------------------------------------------------------------

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
MAX_CHARS_PER_WORD = 100
_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(t) for t in (PAD, UNK, CLS)) + ")")


class WordPiece:
    def __init__(self, vocab_list):
        self.vocab = list(vocab_list)
        self.tok2id = {t: i for i, t in enumerate(self.vocab)}
        self.unk_id = self.tok2id[UNK]
        self.cls_id = self.tok2id[CLS]
        self.pad_id = self.tok2id[PAD]
        self._cache = {}

    def word_ids(self, word):
        r = self._cache.get(word)
        if r is not None:
            return r
        chars = list(word)
        if len(chars) > MAX_CHARS_PER_WORD:
            r = [self.unk_id]
        else:
            r = []
            start = 0
            while start < len(chars):
                end = len(chars)
                cur = None
                while start < end:
                    sub = "".join(chars[start:end])
                    if start > 0:
                        sub = "##" + sub
                    if sub in self.tok2id:
                        cur = self.tok2id[sub]
                        break
                    end -= 1
                if cur is None:
                    r = [self.unk_id]
                    break
                r.append(cur)
                start = end
        self._cache[word] = r
        return r

    def encode(self, text, max_len=128):
        ids = [self.cls_id]
        # like HF tokenizers / transformers.js: literal special tokens in the
        # raw text are split out first and map to their ids
        for k, seg in enumerate(_SPECIAL_SPLIT.split(text)):
            if k % 2:
                ids.append(self.tok2id[seg])
            else:
                for w in words(seg):
                    ids.extend(self.word_ids(w))
        return ids[:max_len]
