"""The statistical crisis layer: character and word n-grams, logistic regression, scored in plain Python.

The weights are trained by `python -m bot.safety.train` (`make classifier`) on the tuning tables
and shipped as JSON in `model/`; nothing heavier than `json`, `math` and `zlib` is imported at run
time. It reads the detector's canonical text (normalised, slang and typos rewritten), so "kms" and
"kil myself" look like what it was trained on. Each n-gram is hashed (CRC-32) into one of BUCKETS
weights, held in a float32 array: no n-gram strings are kept in memory (half a megabyte).
The detector consults it only when no pattern matched, to ask the check question.
"""

from __future__ import annotations

import json
import math
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

from bot.safety.normalise import MAX_WINDOWS, WINDOW_STEP, windows

WEIGHTS = Path(__file__).parent / "model" / "weights.json"

MIN_N = 4
MAX_N = 8
WORD_N = 2
"""Word n-grams up to this length join the character n-grams (prefixed, so the two never collide)."""
MIN_GRAMS = 100
"""Features are scaled by 1/sqrt(max(n-grams, MIN_GRAMS)), so short text is not over-weighted."""
MIN_WORDS = 5
"""Shorter messages ("text me") score 0: too little context; the patterns judge them alone."""
BUCKETS = 1 << 17
"""How many weights n-grams are hashed into (a power of two)."""


def bucket(gram: str, buckets: int = BUCKETS) -> int:
    """The weight an n-gram is hashed to: CRC-32 of its UTF-8 bytes, low bits."""
    return zlib.crc32(gram.encode("utf-8")) & (buckets - 1)


def ngrams(
    canonical_text: str,
    min_n: int = MIN_N,
    max_n: int = MAX_N,
    word_n: int = WORD_N,
) -> set[str]:
    """The distinct character n-grams of `" " + text + " "` and word n-grams of its words, each
    word n-gram prefixed with its length ("1|die", "2|want die")."""
    text = canonical_text
    padded = f" {text} "
    grams = {padded[i : i + n] for n in range(min_n, max_n + 1) for i in range(len(padded) - n + 1)}
    words = text.split()
    for n in range(1, word_n + 1):
        grams.update(f"{n}|{' '.join(words[i : i + n])}" for i in range(len(words) - n + 1))
    return grams


@dataclass(frozen=True)
class Classifier:
    """Logistic regression over hashed binary n-gram features, scaled by 1/sqrt(max(n-grams, MIN_GRAMS))."""

    weights: array  # float32, one per bucket
    bias: float
    threshold: float
    min_n: int = MIN_N
    max_n: int = MAX_N
    word_n: int = WORD_N
    head: int = WINDOW_STEP
    min_grams: int = MIN_GRAMS
    min_words: int = MIN_WORDS

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Classifier:
        """Read the shipped weights (raises FileNotFoundError while they are not built)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data["features"]
        buckets = int(features["buckets"])
        weights = array("f", bytes(4 * buckets))
        for index, weight in data["weights"].items():
            weights[int(index)] = weight
        return cls(
            weights=weights,
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            min_n=int(features["min_n"]),
            max_n=int(features["max_n"]),
            word_n=int(features["word_n"]),
            head=int(features["head"]),
            min_grams=int(features["min_grams"]),
            min_words=int(features["min_words"]),
        )

    def score(self, canonical_text: str) -> float:
        """Crisis probability, 0..1, of the detector's canonical text (0 below min_words); the
        highest window's when the text is long (the first MAX_WINDOWS windows)."""
        if len(canonical_text.split(maxsplit=self.min_words)) < self.min_words:
            return 0.0
        parts = windows(canonical_text, self.head)[:MAX_WINDOWS]
        return max(self.score_window(window) for window in parts)

    def score_window(self, text: str) -> float:
        """Crisis probability of one window of canonical text (no length rules)."""
        grams = ngrams(text, self.min_n, self.max_n, self.word_n)
        weights, mask, crc32 = self.weights, len(self.weights) - 1, zlib.crc32
        total = sum(weights[crc32(g.encode("utf-8")) & mask] for g in grams)
        z = self.bias + total / math.sqrt(max(len(grams), self.min_grams))
        if z < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))
