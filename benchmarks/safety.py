"""Crisis detection speed and memory, with the classifier on (targets: < 1 ms median, < 5 MB).

Latency: every row of the dev and test phrase tables through `CrisisDetector.detect()`, each timed
alone (a few rounds), reported as median and p99 per message. Memory: tracemalloc's growth from
before `CrisisDetector.load()` to after 10,000 detections (the detector kept alive; the `re` cache is
emptied first, so the compiled patterns are counted every time). BENCH_QUICK=1
runs one round and 2,000 detections. The classifier's share is the growth with it minus without.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
import tracemalloc
from pathlib import Path

from benchmarks._stores import quick
from bot.safety.detector import CrisisDetector
from bot.safety.evaluate import load_table

TABLES = Path(__file__).resolve().parents[1] / "tests" / "safety" / "tables"
ROUNDS, QUICK_ROUNDS = 5, 1
DETECTIONS, QUICK_DETECTIONS = 10_000, 2_000
TARGET_MS, TARGET_MB = 1.0, 5.0


def _texts() -> list[str]:
    return [row.text for name in ("dev.tsv", "test.tsv") for row in load_table(TABLES / name)]


def latencies(detector: CrisisDetector, texts: list[str], rounds: int) -> list[float]:
    """Seconds per detect() call, one entry per message per round."""
    out: list[float] = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            detector.detect(text)
            out.append(time.perf_counter() - started)
    return out


def memory_growth(texts: list[str], detections: int, *, classifier: bool = True) -> float:
    """MB allocated and still held after loading a detector and running `detections` messages."""
    re.purge()  # compiled patterns cached by an earlier load would otherwise not be counted
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    detector = CrisisDetector.load(classifier=classifier)
    for i in range(detections):
        detector.detect(texts[i % len(texts)])
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del detector
    return grown / 1e6


def table_rows() -> list[tuple[str, str, str]]:
    texts = _texts()
    detector = CrisisDetector.load()
    assert detector.has_classifier, "no classifier weights: run `make classifier`"
    times = sorted(latencies(detector, texts, QUICK_ROUNDS if quick() else ROUNDS))
    median = statistics.median(times) * 1e3
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))] * 1e3
    detections = QUICK_DETECTIONS if quick() else DETECTIONS
    grown = memory_growth(texts, detections)
    patterns_only = memory_growth(texts, detections, classifier=False)
    n = len(texts)
    return [
        (f"detect() median, {n} dev+test rows", f"{median:.3f} ms", f"< {TARGET_MS:g} ms"),
        (f"detect() p99, {n} dev+test rows", f"{p99:.3f} ms", "(reported)"),
        (f"memory: load + {detections} detections", f"{grown:.1f} MB", f"< {TARGET_MB:g} MB"),
        ("memory: of which the classifier", f"{grown - patterns_only:.1f} MB", "(reported)"),
    ]


def main() -> None:
    for measure, result, target in table_rows():
        print(f"{measure}: {result} (target {target})")


if __name__ == "__main__":
    main()
