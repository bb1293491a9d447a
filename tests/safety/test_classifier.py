"""The statistical crisis layer: shipped weights match the tables, scores rank sensibly, and the
detector asks the check question when only the classifier sees a sign."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.safety import CrisisDetector, Risk, Signal, normalise
from bot.safety.classifier import WEIGHTS, Classifier
from bot.safety.detector import UNCLEAR
from bot.safety.normalise import WINDOW_STEP, windows
from bot.safety.train import tables_digest

TABLES = Path(__file__).parent / "tables"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def test_shipped_weights_match_the_training_tables() -> None:
    shipped = json.loads(WEIGHTS.read_text(encoding="utf-8"))["training"]["sha256"]
    assert shipped == tables_digest(TABLES), "the tuning tables changed: run `make classifier`"


def test_runtime_needs_no_numpy_or_sklearn() -> None:
    source = Path(sys.modules[Classifier.__module__].__file__ or "").read_text(encoding="utf-8")
    assert "numpy" not in source and "sklearn" not in source


@pytest.mark.parametrize("text", ["", "hi", "I want to die", "a" * 10_000, "💔" * 50, "die " * 2_500])
def test_score_is_a_probability(classifier: Classifier, text: str) -> None:
    assert 0.0 <= classifier.score(normalise(text)) <= 1.0


def test_threshold_is_a_probability(classifier: Classifier) -> None:
    assert 0.0 < classifier.threshold < 1.0


@pytest.mark.parametrize("text", ["I want to die", "no more messages please", "Don’t text me"])
def test_short_messages_are_left_to_the_patterns(classifier: Classifier, text: str) -> None:
    assert len(normalise(text).split()) < classifier.min_words
    assert classifier.score(normalise(text)) == 0.0


def test_long_text_is_read_in_overlapping_windows() -> None:
    text = "word " * 2_000
    parts = windows(text)
    assert all(len(part) <= 2 * WINDOW_STEP for part in parts)
    assert text.endswith(parts[-1])  # nothing at the end is left unread
    assert len(parts) >= len(text) // WINDOW_STEP - 1
    assert windows("short text") == ["short text"]


def test_a_sign_buried_in_a_long_story_is_scored(classifier: Classifier) -> None:
    story = "we went to the market and then we cooked dinner with my cousins. " * 12
    sign = "i have been saving up my pills and i am going to take them all this weekend. "
    buried = normalise(story + sign + story)
    assert classifier.score(buried) >= classifier.threshold > classifier.score(normalise(story * 2))


@pytest.mark.parametrize(
    ("crisis", "safe"),
    [
        ("I wish I could fall asleep and not wake up", "I could fall asleep on the sofa right now"),
        ("i just want to disappear and never come back", "i want to come back to this chat tomorrow"),
        ("honestly I just want to die tonight", "honestly I just want to dye my hair tonight"),
        ("ya no quiero vivir más así", "quiero vivir en Madrid el año que viene"),
    ],
)
def test_crisis_ranks_above_safe(classifier: Classifier, crisis: str, safe: str) -> None:
    assert classifier.score(normalise(crisis)) > classifier.score(normalise(safe))


def test_clear_examples_fall_on_the_right_side(classifier: Classifier) -> None:
    assert classifier.score(normalise("I wish I’d never been born")) >= classifier.threshold
    assert classifier.score(normalise("what a lovely sunny day")) < classifier.threshold


class _Fixed:
    """A fake scorer: every message gets the same score."""

    threshold = 0.5

    def __init__(self, value: float) -> None:
        self.value = value
        self.seen: list[str] = []

    def score(self, normalised_text: str) -> float:
        self.seen.append(normalised_text)
        return self.value


_NO_PATTERN = "everything feels grey and far away lately"


def test_classifier_alone_asks_the_check_question() -> None:
    fake = _Fixed(0.9)
    detector = CrisisDetector.load(classifier=fake)
    assert detector.detect(_NO_PATTERN) == Signal(UNCLEAR, Risk.POSSIBLE)
    assert fake.seen == [detector.canonical(_NO_PATTERN)]


def test_classifier_reads_slang_and_typos_rewritten() -> None:
    fake = _Fixed(0.0)
    CrisisDetector.load(classifier=fake).explain("honestly i think i might kms tonight ok")
    assert fake.seen and "kill myself" in fake.seen[0]


def test_low_score_gives_nothing() -> None:
    assert CrisisDetector.load(classifier=_Fixed(0.1)).detect(_NO_PATTERN) is None


def test_patterns_win_over_the_classifier() -> None:
    fake = _Fixed(0.9)
    assert CrisisDetector.load(classifier=fake).detect("I want to kill myself") == Signal("active_ideation")
    assert fake.seen == []
    assert CrisisDetector.load(classifier=_Fixed(0.0)).detect("I want to kill myself") is not None


def test_real_model_catches_what_no_pattern_does(classifier: Classifier) -> None:
    text = "i keep thinking about not waking up"
    assert CrisisDetector.load(classifier=False).detect(text) is None
    assert CrisisDetector.load(classifier=classifier).detect(text) == Signal(UNCLEAR, Risk.POSSIBLE)


def test_default_load_uses_the_shipped_model() -> None:
    assert CrisisDetector.load().has_classifier


def test_no_classifier() -> None:
    detector = CrisisDetector.load(classifier=False)
    assert not detector.has_classifier
    assert detector.explain(_NO_PATTERN).score is None
