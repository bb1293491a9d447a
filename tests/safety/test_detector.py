"""Crisis detection, tested both ways: every crisis phrase caught, no idiom flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety import CATEGORIES, CrisisDetector, PatternError, Risk, Signal, normalise
from bot.safety.detector import UNCLEAR
from bot.safety.evaluate import Row, evaluate, format_report, load_table

TABLES = Path(__file__).parent / "tables"
TUNED = ("dev.tsv", "legacy.tsv")
"""Tables the patterns were written against: every crisis row must be caught."""
HELD_OUT = ("test.tsv", "fresh.tsv", "fresh2.tsv")
"""Tables nobody tuned on: their figures are printed and held to a floor, never fitted."""


def _rows(name: str) -> list[Row]:
    return load_table(TABLES / name)


TUNED_ROWS = [row for name in TUNED for row in _rows(name)]


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.load()


@pytest.mark.parametrize("name", [*TUNED, *HELD_OUT])
def test_tables_are_well_formed(name: str) -> None:
    rows = _rows(name)
    crisis = [r for r in rows if r.label == "crisis"]
    assert len(crisis) >= 100 and len(rows) - len(crisis) >= 100
    assert {r.category for r in crisis} == set(CATEGORIES)
    assert {r.locale for r in rows} == {"en", "es"}
    assert len({r.text for r in rows}) == len(rows), "duplicate phrases"


def _unseen(name: str) -> list[Row]:
    """A held-out table without the rows that also appear (normalised) in a tuning table."""
    tuned = {normalise(r.text) for r in TUNED_ROWS}
    return [r for r in _rows(name) if normalise(r.text) not in tuned]


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_tables_are_mostly_unseen(name: str) -> None:
    assert len(_unseen(name)) >= 0.9 * len(_rows(name))


@pytest.mark.parametrize("row", TUNED_ROWS, ids=[f"{r.label}:{r.text[:40]}" for r in TUNED_ROWS])
def test_tuned_rows(detector: CrisisDetector, row: Row) -> None:
    signal = detector.detect(row.text)
    if row.label == "crisis":
        assert signal is not None, detector.canonical(row.text)
    else:
        assert signal is None or signal.level is Risk.POSSIBLE, (signal, detector.canonical(row.text))


@pytest.mark.parametrize("name", TUNED)
def test_check_question_on_safe_tuned_rows_is_rare(detector: CrisisDetector, name: str) -> None:
    report = evaluate(detector, _rows(name))
    safe = report.safe_total
    assert safe.crisis == 0
    assert safe.check / safe.rows <= 0.09, format_report(report)  # the bound is 10 %


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_figures(detector: CrisisDetector, name: str, capsys: pytest.CaptureFixture) -> None:
    rows = _unseen(name)
    report = evaluate(detector, rows)
    crisis, safe = report.crisis_total, report.safe_total
    with capsys.disabled():
        print(
            f"\n{name} ({len(rows)} unseen rows): recall {crisis.caught}/{crisis.rows} "
            f"({crisis.crisis} crisis reply, "
            f"{crisis.check} check); safe rows: {safe.crisis} crisis reply, {safe.check} check "
            f"of {safe.rows}"
        )
    assert crisis.caught / crisis.rows >= HELD_OUT_RECALL
    assert safe.crisis / safe.rows <= 0.025
    assert safe.caught / safe.rows <= 0.12


HELD_OUT_RECALL = 0.86
"""A floor under the figures measured on the held-out tables (a regression guard, not a target)."""


MINOR_ROWS = [
    line.split("\t") for line in (TABLES / "minor.tsv").read_text(encoding="utf-8").splitlines()[1:]
]


@pytest.mark.parametrize(("label", "locale", "text"), MINOR_ROWS, ids=[r[2][:40] for r in MINOR_ROWS])
def test_minor_table(detector: CrisisDetector, label: str, locale: str, text: str) -> None:
    assert detector.states_minor(text) is (label == "minor")
    assert detector.detect(text) is None


# --- split across two messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "category"),
    [
        ("honestly some days I just want to", "die", "active_ideation"),
        ("everyone would be better off", "without me", "burden"),
        ("I've been giving my things", "away", "preparatory"),
        ("my partner", "hits me", "abuse"),
        ("no quiero", "vivir", "passive_wish"),
        ("I keep thinking about ending", "it all", "active_ideation"),
    ],
)
def test_split_across_two_messages(detector: CrisisDetector, first: str, second: str, category: str) -> None:
    for part in (first, second):  # alone, a part is at most a possible sign
        alone = detector.detect(part)
        assert alone is None or alone.level is Risk.POSSIBLE
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
    assert detector.detect("I want to die", previous="") == Signal("active_ideation")


def test_idiom_does_not_hide_a_crisis_in_the_same_message(detector: CrisisDetector) -> None:
    text = "I was dying laughing earlier but tonight I want to die"
    assert detector.detect(text) == Signal("active_ideation")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # saying it is no joke keeps the full crisis reply
        ("i want to kill myself and im not kidding", Risk.CLEAR),
        ("i want to kill myself, not joking", Risk.CLEAR),
        ("quiero matarme, no es broma", Risk.CLEAR),
        # a joke marker still softens it to the check question
        ("i want to kill myself lol", Risk.POSSIBLE),
        ("me quiero matar jaja", Risk.POSSIBLE),
    ],
)
def test_no_joke_is_not_a_joke_marker(detector: CrisisDetector, text: str, expected: Risk) -> None:
    signal = detector.detect(text)
    assert signal is not None and signal.level is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no way!", None),
        ("cost was the killer. 150 a session, no way", None),
        ("there is no way out for me", Risk.POSSIBLE),
        ("no escape from this", Risk.POSSIBLE),
    ],
)
def test_no_way_alone_is_not_being_trapped(
    detector: CrisisDetector, text: str, expected: Risk | None
) -> None:
    signal = detector.detect(text)
    assert (signal and signal.level) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # someone else's words never soften harm from others (the other person is the danger) ...
        ("my friend said he is outside with a knife", Risk.CLEAR),
        # ... a story plainly told as fiction does
        ("the plot of this show: he is outside with a knife", Risk.POSSIBLE),
        ("la novela de las nueve: él está afuera con un cuchillo", Risk.POSSIBLE),
        ("he is outside with a knife", Risk.CLEAR),
    ],
)
def test_fiction_softens_danger_from_others(detector: CrisisDetector, text: str, expected: Risk) -> None:
    signal = detector.detect(text)
    assert signal is not None and signal.category == "danger_from_others" and signal.level is expected


def test_most_urgent_category_wins(detector: CrisisDetector) -> None:
    text = "I want to die and I have the pills saved"
    assert detector.detect(text) == Signal("preparatory")
    assert CATEGORIES.index("preparatory") < CATEGORIES.index("active_ideation")


@pytest.mark.parametrize(
    "text",
    [
        "ten years ago I tried to end my life; today I'm doing well",
        "during my divorce I felt like everyone would be better off without me. that passed.",
        "I've been self harm free for two years and I'm proud of it",
        "hace cinco años intenté suicidarme, hoy estoy bien",
        "de adolescente me cortaba, ya lo superé con terapia",
    ],
)
def test_a_crisis_that_is_over_gets_no_check_question(detector: CrisisDetector, text: str) -> None:
    assert detector.detect(text) is None
    assert detector.explain(text).settled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # happening again: the past does not settle it
        ("years ago I tried to end my life; I was doing well but tonight I want to do it again", Risk.CLEAR),
        ("hace años intenté suicidarme, estaba bien pero otra vez quiero morirme", Risk.CLEAR),
        # safe now, with no past marker: the present wish counts
        ("I'm fine now but I want to kill myself", Risk.CLEAR),
        # a method, a plan or harm from others is never settled by the past (the past marker
        # still softens it to the check question)
        ("years ago I tried to kill myself. I'm ok now but I have the pills saved", Risk.POSSIBLE),
        ("my ex used to hit me, I left him five years ago and I'm safe now", Risk.POSSIBLE),
        # a parent asking about therapy for a child hurt in the past: asked, not the full crisis reply
        ("what therapy helps a child who was sexually abused?", Risk.POSSIBLE),
        ("my son was molested when he was 8, how do i find him a therapist", Risk.POSSIBLE),
        ("my son is being molested by his coach, what do i do", Risk.CLEAR),
    ],
)
def test_a_past_crisis_still_counts_when_it_is_not_over(
    detector: CrisisDetector, text: str, expected: Risk
) -> None:
    signal = detector.detect(text)
    assert signal is not None and signal.level is expected
    assert not detector.explain(text).settled


_FILLER = " ".join(
    ["We spent the weekend fixing the fence and painting the kitchen, and the dog chased a squirrel."] * 9
)


def test_a_long_story_told_as_over_in_one_part_does_not_settle_a_sign_in_another(
    detector: CrisisDetector,
) -> None:
    sign = "Lately I have been cutting myself every night and nobody knows."
    over = "Years ago therapy helped and I'm doing well now."
    assert detector.detect(f"{sign} {over}") is None  # one message-sized story: told as over
    signal = detector.detect(f"{sign} {_FILLER} {over}")
    assert signal is not None and signal.category == "self_harm"


def test_again_far_from_the_sign_does_not_undo_a_past_marker(detector: CrisisDetector) -> None:
    past = "When I was 15 I tried to kill myself."
    again = "We moved house again last spring."
    assert detector.detect(f"{past} {again}") == Signal("attempt", Risk.CLEAR)  # near: it counts
    assert detector.detect(f"{past} {_FILLER} {again}") == Signal("attempt", Risk.POSSIBLE)


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
        ("the 14th, at 2am, 500mg", "the 14th at 2am 500mg"),
        ("3nd my l1fe on the 3th", "end my life on the eth"),
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
    assert result is None or result.category in (*CATEGORIES, UNCLEAR)
    assert isinstance(detector.states_minor(text), bool)
    assert len(detector.tail(text).split()) <= 8


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_detect_handles_10000_characters(chunk: str) -> None:
    text = (chunk * (10_000 // len(chunk) + 1))[:10_000]
    result = _shared().detect(text, previous=text[-200:])
    assert result is None or result.category in (*CATEGORIES, UNCLEAR)


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


# --- anchors: the words a group needs before its regex is tried ------------------------------


@pytest.mark.parametrize(
    ("source", "anchor"),
    [
        ("i want to die", {"want"}),  # the longest mandatory word: likelier rare
        ("(im|i am) (so)? tired of living", {"living"}),
        ("kill* @me", {"kil*"}),
        ("(end it|take my life) tonight", {"tonight"}),
        ("(end it|take my life)", {"end", "take"}),  # one word of each choice
        ("(i|you)? .. $", None),
    ],
)
def test_a_phrase_anchor_is_a_word_every_match_needs(source: str, anchor: set[str] | None) -> None:
    from bot.safety.detector import _Parser

    parser = _Parser(source, {"me": "(myself|me)"})
    parser.compile()
    assert parser.anchor == (None if anchor is None else frozenset(anchor))


def test_anchors_never_skip_a_group_that_would_match(detector: CrisisDetector) -> None:
    """Skipping groups whose anchor words are absent changes no decision: wherever a group's regex
    matches a table row, the row holds one of the group's anchors."""
    from bot.safety.detector import _anchor_keys, _squeeze

    rules = detector._rules
    assert all(group.anchor for group in rules.groups)  # every group can be skipped
    for name in (*TUNED, *HELD_OUT):
        for row in _rows(name):
            padded = f" {_squeeze(detector.canonical(row.text))} "
            present = _anchor_keys(padded)
            for group in rules.groups:
                if group.regex.search(padded):
                    assert group.anchor is not None and not group.anchor.isdisjoint(present), row.text
