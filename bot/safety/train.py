"""Train the statistical crisis layer: `python -m bot.safety.train` (or `make classifier`).

Only the tuning tables are used (tests/safety/tables/dev.tsv and legacy.tsv, plus minor.tsv's
messages as safe rows: saying one's age is no sign of crisis); the held-out
tables (test.tsv, fresh.tsv) are never read here. The threshold is chosen on development rows
scored out of fold: the lowest one at which the classifier alone raises at most MAX_ALARMS false
alarms on safe dev rows, and patterns plus classifier together at most MAX_COMBINED. Fixed seeds,
so the same tables give the same weights. Needs scikit-learn (a dev dependency).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bot.safety.classifier import (
    BUCKETS,
    MAX_N,
    MIN_GRAMS,
    MIN_N,
    MIN_WORDS,
    WEIGHTS,
    WORD_N,
    Classifier,
    bucket,
    ngrams,
)
from bot.safety.detector import CrisisDetector
from bot.safety.evaluate import Row, load_table
from bot.safety.normalise import MAX_WINDOWS, WINDOW_STEP, windows

TABLES_DIR = Path(__file__).resolve().parents[2] / "tests" / "safety" / "tables"
TRAINING_TABLES = ("dev.tsv", "legacy.tsv", "minor.tsv")
# The bound is 10 % on unseen safe rows. Out-of-fold dev figures run low there: the patterns were
# tuned on these safe rows, and on blind round 8 the classifier alone raised 1.5x its out-of-fold
# false alarms (6.3 against 4.2 %) while the patterns alone raised 7.1 %. Hence 3 %, and 7 % combined.
MAX_ALARMS = 0.03
MAX_COMBINED = 0.07
C = 30.0
PRUNE = 0.02
FOLDS = 5
SEED = 0


def tables_digest(directory: Path = TABLES_DIR) -> str:
    """SHA-256 over the training tables' bytes, in order (the staleness test compares it)."""
    digest = hashlib.sha256()
    for name in TRAINING_TABLES:
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()


def _analyse(text: str) -> list[str]:
    """A training example's n-grams: what `Classifier.score` reads for one window of text."""
    return sorted(ngrams(text, MIN_N, MAX_N, WORD_N))


def _features(texts: Sequence[str]) -> sparse.csr_matrix:
    """Hashed n-gram counts per text, scaled as `Classifier.score` scales them."""
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for row, text in enumerate(texts):
        grams = _analyse(text)
        scale = 1.0 / math.sqrt(max(MIN_GRAMS, len(grams)))
        for gram in grams:
            rows.append(row)
            cols.append(bucket(gram))
            values.append(scale)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), BUCKETS))  # duplicates add up


def _fit_examples(texts: Sequence[str], labels: np.ndarray) -> tuple[dict[str, float], float]:
    """Weights per bucket (pruned, keyed by the bucket number) and bias for these examples."""
    model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=SEED)
    model.fit(_features(texts), labels)
    coef = model.coef_[0]
    weights = {str(i): round(float(coef[i]), 4) for i in range(BUCKETS) if abs(coef[i]) >= PRUNE}
    return weights, round(float(model.intercept_[0]), 4)


def _fit(texts: Sequence[str], labels: np.ndarray) -> tuple[dict[str, float], float]:
    """Train on canonical texts read the way the scorer reads them: a long text is its windows.

    Every window of a long safe text is a safe example (the scorer takes the highest window, so
    each must stay low). A long crisis text holds its sign in some window only: it contributes its
    highest-scoring window under a first model trained without long crisis texts.
    """
    examples: list[str] = []
    targets: list[int] = []
    long_crisis: list[list[str]] = []
    for text, label in zip(texts, labels, strict=True):
        parts = windows(text)[:MAX_WINDOWS]
        if len(parts) > 1 and label == 1:
            long_crisis.append(parts)
        else:
            examples += parts
            targets += [int(label)] * len(parts)
    if not long_crisis:
        return _fit_examples(examples, np.array(targets))
    first = _model(*_fit_examples(examples, np.array(targets)))
    examples += [max(parts, key=first.score_window) for parts in long_crisis]
    targets += [1] * len(long_crisis)
    return _fit_examples(examples, np.array(targets))


def _model(weights: dict[str, float], bias: float) -> Classifier:
    """The run-time scorer for these weights (the layout `Classifier.load` builds)."""
    values = array("f", bytes(4 * BUCKETS))
    for index, weight in weights.items():
        values[int(index)] = weight
    return Classifier(values, bias, threshold=1.0)


def _out_of_fold(dev: list[str], y_dev: np.ndarray, extra: list[str], y_extra: np.ndarray) -> np.ndarray:
    """Scores of each dev row from a model trained without its fold (legacy rows always in)."""
    scores = np.zeros(len(dev))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for train, held in folds.split(dev, y_dev):
        texts = [dev[i] for i in train] + extra
        weights, bias = _fit(texts, np.concatenate([y_dev[train], y_extra]))
        model = _model(weights, bias)
        for i in held:
            scores[i] = model.score(dev[i])
    return scores


def choose_threshold(scores: np.ndarray, labels: np.ndarray, pattern_alarm: np.ndarray) -> float:
    """The lowest threshold within both false-alarm budgets on safe rows (out-of-fold scores)."""
    safe = labels == 0
    for t in sorted({round(float(s), 4) for s in scores} | {0.5}):
        alone = float(np.mean(scores[safe] >= t))
        combined = float(np.mean((scores[safe] >= t) | pattern_alarm[safe]))
        if alone <= MAX_ALARMS and combined <= MAX_COMBINED:
            return t
    return 1.0


def _texts(rows: Sequence[Row], detector: CrisisDetector) -> tuple[list[str], np.ndarray]:
    texts = [detector.canonical(r.text) for r in rows]
    return texts, np.array([r.label == "crisis" for r in rows], dtype=int)


def _minor_texts(detector: CrisisDetector) -> list[str]:
    """The messages of minor.tsv (label, locale, text), in canonical form: all safe for this layer."""
    lines = (TABLES_DIR / "minor.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [detector.canonical(line.split("\t")[2]) for line in lines if line.strip()]


def main(argv: Sequence[str] = ()) -> int:
    """Train, pick the threshold, write model/weights.json and print the out-of-fold figures."""
    patterns = CrisisDetector.load(classifier=False)
    dev_rows = load_table(TABLES_DIR / "dev.tsv")
    legacy_rows = load_table(TABLES_DIR / "legacy.tsv")
    dev, y_dev = _texts(dev_rows, patterns)
    legacy, y_legacy = _texts(legacy_rows, patterns)
    ages = _minor_texts(patterns)
    legacy, y_legacy = legacy + ages, np.concatenate([y_legacy, np.zeros(len(ages), dtype=int)])

    pattern_alarm = np.array([patterns.detect(r.text) is not None for r in dev_rows])
    oof = _out_of_fold(dev, y_dev, legacy, y_legacy)
    threshold = choose_threshold(oof, y_dev, pattern_alarm)

    crisis, safe = y_dev == 1, y_dev == 0
    flagged = oof >= threshold
    print(f"threshold {threshold:.4f} (out of fold on {len(dev)} dev rows, {FOLDS} folds)")
    print(f"  classifier alone: recall {flagged[crisis].mean():.1%}, false alarms {flagged[safe].mean():.1%}")
    both = flagged | pattern_alarm
    print(
        f"  with patterns:    recall {both[crisis].mean():.1%}, check/crisis on safe {both[safe].mean():.1%}"
    )

    weights, bias = _fit(dev + legacy, np.concatenate([y_dev, y_legacy]))
    model = {
        "features": {
            "kind": (
                "char n-grams of ' ' + canonical text + ' ' and 'n|'-prefixed word n-grams, "
                "hashed: crc32(utf-8) & (buckets - 1)"
            ),
            "buckets": BUCKETS,
            "min_n": MIN_N,
            "max_n": MAX_N,
            "word_n": WORD_N,
            "head": WINDOW_STEP,
            "min_grams": MIN_GRAMS,
            "min_words": MIN_WORDS,
        },
        "training": {
            "tables": list(TRAINING_TABLES),
            "sha256": tables_digest(),
            "C": C,
            "prune": PRUNE,
            "folds": FOLDS,
            "seed": SEED,
            "max_alarms": MAX_ALARMS,
            "max_combined": MAX_COMBINED,
        },
        "threshold": threshold,
        "bias": bias,
        "weights": weights,
    }
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    WEIGHTS.write_text(
        json.dumps(model, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {WEIGHTS} ({len(weights)} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
