"""Crisis detection, tested both ways: every crisis phrase caught, no idiom flagged."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety import CATEGORIES, CrisisDetector, PatternError, Signal, normalise

TABLE = Path(__file__).parent / "phrases.tsv"


@dataclass(frozen=True)
class Row:
    expected: str
    category: str
    locale: str
    phrase: str


def _rows() -> list[Row]:
    with TABLE.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Row(r["expected"], r["category"], r["locale"], r["phrase"]) for r in reader]


ROWS = _rows()


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.load()


def test_table_is_well_formed() -> None:
    assert len(ROWS) >= 170
    crisis = [r for r in ROWS if r.expected == "crisis"]
    none = [r for r in ROWS if r.expected == "none"]
    assert len(crisis) >= 110
    assert len(none) >= 50
    for row in ROWS:
        assert row.expected in {"crisis", "minor", "none"}, row
        assert row.locale in {"en", "es"}, row
        assert row.phrase.strip(), row
        if row.expected == "crisis":
            assert row.category in CATEGORIES, row
        if row.expected == "none":
            assert row.category in {"idiom", "neutral"}, row
    assert {r.category for r in crisis} == set(CATEGORIES)
    assert len({r.phrase for r in ROWS}) == len(ROWS), "duplicate phrases"


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.expected}:{r.phrase[:40]}" for r in ROWS])
def test_phrase_table(detector: CrisisDetector, row: Row) -> None:
    signal = detector.detect(row.phrase)
    if row.expected == "crisis":
        assert signal == Signal(row.category), detector.canonical(row.phrase)
    elif row.expected == "minor":
        assert detector.states_minor(row.phrase)
        assert signal is None
    else:
        assert signal is None, detector.canonical(row.phrase)
        assert not detector.states_minor(row.phrase)


def test_recall_and_false_alarms(detector: CrisisDetector, capsys: pytest.CaptureFixture) -> None:
    crisis = [r for r in ROWS if r.expected == "crisis"]
    idioms = [r for r in ROWS if r.category == "idiom"]
    neutral = [r for r in ROWS if r.category == "neutral"]
    caught = [r for r in crisis if detector.detect(r.phrase) is not None]
    right = [r for r in crisis if detector.detect(r.phrase) == Signal(r.category)]
    idiom_alarms = [r for r in idioms if detector.detect(r.phrase) is not None]
    neutral_alarms = [r for r in neutral if detector.detect(r.phrase) is not None]
    with capsys.disabled():
        print(
            f"\ncrisis recall {len(caught)}/{len(crisis)} "
            f"(right category {len(right)}/{len(crisis)}); "
            f"idiom false alarms {len(idiom_alarms)}/{len(idioms)}; "
            f"neutral false alarms {len(neutral_alarms)}/{len(neutral)}"
        )
    assert len(caught) == len(crisis), [r.phrase for r in crisis if r not in caught]
    assert not idiom_alarms, [r.phrase for r in idiom_alarms]
    assert not neutral_alarms, [r.phrase for r in neutral_alarms]


# --- split across two messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "category"),
    [
        ("honestly some days I just want to", "die", "suicidal_ideation"),
        ("everyone would be better off", "without me", "suicidal_ideation"),
        ("I've been giving my things", "away", "plan_or_means"),
        ("my partner", "hits me", "abuse"),
        ("no quiero", "vivir", "suicidal_ideation"),
        ("I keep thinking about ending", "it all", "suicidal_ideation"),
    ],
)
def test_split_across_two_messages(detector: CrisisDetector, first: str, second: str, category: str) -> None:
    assert detector.detect(first) is None
    assert detector.detect(second) is None
    assert detector.detect(second, previous=detector.tail(first)) == Signal(category)


def test_tail_keeps_only_the_last_words(detector: CrisisDetector) -> None:
    text = "One two three four five six seven eight nine ten, I can’t go"
    tail = detector.tail(text)
    assert tail == "six seven eight nine ten i cant go"
    assert len(tail.split()) == 8
    assert detector.tail("") == ""
    assert detector.tail("🙂🙂") == ""


def test_previous_alone_does_not_fire_again(detector: CrisisDetector) -> None:
    previous = detector.tail("I want to die")
    assert detector.detect("ok, thank you", previous=previous) is None
    assert detector.detect("I want to die", previous="") == Signal("suicidal_ideation")


def test_idiom_does_not_hide_a_crisis_in_the_same_message(detector: CrisisDetector) -> None:
    text = "I was dying laughing earlier but tonight I want to die"
    assert detector.detect(text) == Signal("suicidal_ideation")


def test_most_urgent_category_wins(detector: CrisisDetector) -> None:
    text = "I want to die and I have the pills saved"
    assert detector.detect(text) == Signal("plan_or_means")


# --- normalise --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I WANT TO DIE", "i want to die"),
        ("I don’t want to", "i dont want to"),
        ("“quoted”  words", "quoted words"),
        ("soooo tired, diiiie", "soo tired diie"),
        ("k1ll mys3lf", "kill myself"),
        ("h@te $elf", "hate self"),
        ("I'm 15 and it's 3 am", "im 15 and its 3 am"),
        ("dañarme", "danarme"),
        ("danarme", "danarme"),
        ("No quiero vivir más", "no quiero vivir mas"),
        ("ＦＵＬＬＷＩＤＴＨ", "fullwidth"),
        ("emoji 😭💀 gone!!!", "emoji gone"),
        ("line\nbreaks\tand\x00control", "line breaks and control"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_is_idempotent() -> None:
    for raw in ("I c@n’t g0 on!!!", "Ya no quiero vivir más 😔", "KMS lol"):
        once = normalise(raw)
        assert normalise(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("kms", "kill myself"),
        ("gonna unalive myself", "going to kill myself"),
        ("thinking about sewerslide", "thinking about suicide"),
        ("i wanna ctb", "i want to kill myself"),
        ("they said kys", "they said kill yourself"),
        ("wnat to", "want to"),
        ("myslef", "myself"),
        ("cuttin", "cutting"),
        ("q ya no kiero", "que ya no quiero"),
        ("quiero atarme los zapatos", "quiero atarme los zapatos"),
    ],
)
def test_canonical_words(detector: CrisisDetector, raw: str, expected: str) -> None:
    assert detector.canonical(raw) == expected


# --- states_minor -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I'm 15",
        "i am 16 years old",
        "I'm under 18",
        "tengo 15 años",
        "soy menor de edad",
        "I’M 14!!",
        "im only 12 and scared",
    ],
)
def test_states_minor(detector: CrisisDetector, text: str) -> None:
    assert detector.states_minor(text)


@pytest.mark.parametrize(
    "text",
    [
        "I was 15 when it happened",
        "I'm 25",
        "I'm 15 minutes late",
        "i am 150% done with this",
        "my daughter is 16",
        "soy menor que mi hermano",
        "tengo 15 euros",
        "I'm 18",
    ],
)
def test_does_not_state_minor(detector: CrisisDetector, text: str) -> None:
    assert not detector.states_minor(text)


# --- robustness ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(max_size=200))
def test_detect_never_raises(text: str, previous: str) -> None:
    detector = _shared()
    result = detector.detect(text, previous=previous)
    assert result is None or result.category in CATEGORIES
    assert isinstance(detector.states_minor(text), bool)
    assert len(detector.tail(text).split()) <= 8


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_detect_handles_10000_characters(chunk: str) -> None:
    text = (chunk * (10_000 // len(chunk) + 1))[:10_000]
    result = _shared().detect(text, previous=text[-200:])
    assert result is None or result.category in CATEGORIES


@pytest.mark.parametrize(
    "text",
    [
        "\u202eeid ot tnaw i\u202c",
        "أريد أن أموت",
        "אני רוצה למות",
        "\x00\x01\x02\x1b[31m",
        "\ud7ff\ufeff\u200b\u200d",
        "a" * 10_000,
        "die " * 2_500,
        "i want to " * 1_000 + "die",
    ],
)
def test_detect_odd_inputs(detector: CrisisDetector, text: str) -> None:
    detector.detect(text, previous=text[-100:])
    detector.states_minor(text)
    detector.tail(text)


def test_bad_pattern_file_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "xx.toml").write_text('[self_harm]\nphrases = ["(unclosed"]\n', encoding="utf-8")
    with pytest.raises(PatternError):
        CrisisDetector.load(tmp_path)


def test_unknown_macro_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "xx.toml").write_text('[abuse]\nphrases = ["@nobody hits me"]\n', encoding="utf-8")
    with pytest.raises(PatternError):
        CrisisDetector.load(tmp_path)


_DETECTOR: list[CrisisDetector] = []


def _shared() -> CrisisDetector:
    """Hypothesis tests cannot take function-scoped fixtures; load once here instead."""
    if not _DETECTOR:
        _DETECTOR.append(CrisisDetector.load())
    return _DETECTOR[0]
