"""Features and inference of a learned token classifier for the recall-first mode: a
logistic regression over cheap token features (the word, its shape, its vocabulary class,
its neighbours and the punctuation around it), trained by ``bench/phi_token_model.py``.

Evaluated leave one set out and NOT adopted (see docs/deidentification.md): it stays in
bench/ with its trainer. Inference is a sum of weights looked up in a dict (no
scikit-learn at run time), so it could ship as a small weight table if a later model
earns it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from medmine.privacy.phi_text import _vocab

#: Tokens: runs of letters and digits (the scoring unit of the evaluation).
TOKEN = re.compile(r"[^\W_]+")
_SHAPE_MAP = str.maketrans(
    {**{c: "X" for c in map(chr, range(65, 91))}, **{c: "x" for c in map(chr, range(97, 123))}}
    | {c: "d" for c in "0123456789"}
)
_COLLAPSE = re.compile(r"(.)\1+")


def shape(w: str) -> str:
    """Character classes with runs collapsed: "Garcia" -> "Xx", "RK" -> "X", "A4" -> "Xd"."""
    s = w.translate(_SHAPE_MAP)
    s = "".join("o" if c not in "Xxd" else c for c in s)
    return _COLLAPSE.sub(r"\1", s)


def _len_bucket(n: int) -> str:
    return str(n) if n <= 3 else ("4-6" if n <= 6 else "7+")


@functools.lru_cache(maxsize=200_000)
def word_kind(low: str) -> str:
    """The vocabulary class of a lower-case token."""
    if low.isdigit():
        return "num"
    if not low.isalpha():
        return "alnum"
    if low in _vocab.clinical():
        return "clin"
    only, ambiguous = _vocab.name_words()
    if low in only:
        return "name"
    if low in ambiguous:
        return "namew"
    if low in _vocab.english():
        return "eng"
    if low in _vocab.lexicon():
        return "lex"
    return "unk"


@functools.lru_cache(maxsize=200_000)
def own_features(w: str) -> tuple[str, ...]:
    """Features of a token that do not depend on its context."""
    low = w.lower()
    k = word_kind(low)
    sh = shape(w)
    z = int(_vocab.zipf(low)) if k not in ("num", "alnum") else -1
    return (
        "w=" + low,
        "s=" + sh,
        "k=" + k,
        "z=" + str(z),
        "len=" + _len_bucket(len(w)),
        "sk=" + sh + k,
        "suf=" + low[-3:],
    )


def _edge(text: str, i: int, step: int) -> str:
    """The non-space character next to offset `i` on the same line ('' at a line end)."""
    n = len(text)
    j = i
    while 0 <= j < n and text[j] in " \t":
        j += step
    if not 0 <= j < n:
        return "^"
    c = text[j]
    if c == "\n":
        return "^"
    return "a" if c.isalnum() else c


@dataclass(frozen=True)
class Token:
    """A token and its features."""

    start: int
    end: int
    features: tuple[str, ...]


def tokens(text: str) -> Iterator[Token]:
    """Every token of `text` with its features (own and context)."""
    ms = list(TOKEN.finditer(text))
    words = [m.group() for m in ms]
    lows = [w.lower() for w in words]
    kinds = [word_kind(lw) for lw in lows]
    shapes = [shape(w) for w in words]
    lower_note = sum(w[0].isupper() for w in words if w[0].isalpha()) < 0.03 * max(1, len(words))
    n = len(ms)
    for i, m in enumerate(ms):
        s, e = m.start(), m.end()
        before = _edge(text, s - 1, -1)
        after = _edge(text, e, 1)
        pl = lows[i - 1] if i else "<s>"
        nl = lows[i + 1] if i + 1 < n else "</s>"
        pk = kinds[i - 1] if i else "<s>"
        nk = kinds[i + 1] if i + 1 < n else "</s>"
        ps = shapes[i - 1] if i else "<s>"
        ns = shapes[i + 1] if i + 1 < n else "</s>"
        p2 = lows[i - 2] if i > 1 else "<s>"
        k, sh = kinds[i], shapes[i]
        feats = own_features(words[i]) + (
            "p=" + pl,
            "n=" + nl,
            "p2=" + p2,
            "pk=" + pk,
            "nk=" + nk,
            "ps=" + ps,
            "ns=" + ns,
            "b=" + before,
            "a=" + after,
            "kb=" + k + before,
            "ka=" + k + after,
            "kpk=" + k + pk,
            "knk=" + k + nk,
            "skps=" + sh + k + ps,
            "skns=" + sh + k + ns,
            "pw=" + pl + "|" + k,
            "lc=" + str(lower_note) + k,
        )
        yield Token(s, e, feats)


#: Word kinds the model never flags: the allow-list keeps clinical words whatever the model
#: says (``own_features`` puts the kind third).
VETO = frozenset({"k=clin", "k=lex"})


@dataclass(frozen=True)
class TokenModel:
    """Weights of the logistic regression and the decision threshold (a probability)."""

    weights: dict[str, float]
    bias: float
    threshold: float

    @property
    def margin(self) -> float:
        """The threshold as a log-odds margin."""
        p = min(max(self.threshold, 1e-9), 1 - 1e-9)
        return math.log(p / (1 - p))

    def score(self, feats: tuple[str, ...]) -> float:
        """Log-odds that the token is PHI."""
        w = self.weights
        return self.bias + sum(w.get(f, 0.0) for f in feats)

    def flagged(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the tokens scored at or above the threshold, clinical words
        (`VETO` kinds: the shipped clinical vocabulary and medical lexicon) never.
        """
        cut = self.margin
        return [
            (t.start, t.end)
            for t in tokens(text)
            if t.features[2] not in VETO and self.score(t.features) >= cut
        ]

    def to_json(self) -> str:
        """The model as JSON (weights rounded to 4 decimals, sorted)."""
        return json.dumps(
            {
                "bias": round(self.bias, 4),
                "threshold": self.threshold,
                "weights": {k: round(v, 4) for k, v in sorted(self.weights.items())},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> TokenModel:
        """A model written by `to_json`."""
        d = json.loads(raw)
        return cls(dict(d["weights"]), float(d["bias"]), float(d["threshold"]))
