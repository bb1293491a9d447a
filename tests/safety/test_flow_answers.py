"""Ordinary answers to the reflection are not crisis signs: the stories, plain replies and questions
of tests/knowledge (written for the plan's understanding, not for safety) raise no crisis reply and
no check question, whether typed at the question they answer or read by the detector alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Engine
from bot.safety import CrisisDetector
from tests.chat import Chat

KNOWLEDGE = Path(__file__).parents[1] / "knowledge"
CHECK_Q = {"en": "thoughts of ending your life", "es": "quitarte la vida"}
CRISIS = {"en": "Are you safe right now?", "es": "¿Estás a salvo ahora mismo?"}
LABELS = {
    "en": {"begin": "Yes, let's begin", "country": "Ireland", "stopped": "I stopped going",
           "better": "I felt better", "partly": "Partly"},
    "es": {"begin": "Sí, empecemos", "country": "España", "stopped": "Dejé de ir",
           "better": "Me sentía mejor", "partly": "En parte"},
}  # fmt: skip
REASONS = ("ready", "rapport", "specialist", "focus", "practice", "practical")


def _rows(name: str) -> list[tuple[str, str, str]]:
    """(locale, the kind of question it answers, text) of a tests/knowledge table."""
    rows = []
    for line in (KNOWLEDGE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            cells = line.split("\t")
            rows.append((cells[0], cells[1], cells[-1]))
    return rows


def _point(kind: str, locale: str) -> str:
    """Where in the reflection a row's text would be typed."""
    if kind in ("ending", "valid"):
        return "ending_valid" if kind == "valid" else "ending"
    return "reason:rapport"


FLOW_ROWS = [
    (locale, _point(kind, locale), text)
    for locale, kind, text in _rows("stories.tsv")[1:] + _rows("replies.tsv")[1:]
] + [(locale, "reason:focus", text) for locale, _, text in _rows("questions.tsv")[1:]]


async def _go_to(chat: Chat, point: str) -> None:
    words = LABELS[chat.locale]
    await chat.send("/start")
    await chat.press(words["begin"])
    await chat.press(words["country"])
    if point == "ending":
        return
    await chat.press(words["better"] if point == "ending_valid" else words["stopped"])
    if point.startswith("reason:"):
        for _ in range(REASONS.index(point.split(":")[1])):
            await chat.press(words["partly"])


def test_the_tables_are_large_and_in_both_locales() -> None:
    assert len(FLOW_ROWS) >= 400
    assert {locale for locale, _, _ in FLOW_ROWS} == {"en", "es"}


def test_no_crisis_pattern_matches_an_ordinary_answer() -> None:
    patterns = CrisisDetector.load(classifier=False)
    matched = [text for _, _, text in FLOW_ROWS if patterns.detect(text) is not None]
    assert matched == []


def test_the_classifier_alone_rarely_flags_an_ordinary_answer(detector: CrisisDetector) -> None:
    flagged = [text for _, _, text in FLOW_ROWS if detector.detect(text) is not None]
    assert len(flagged) <= 0.02 * len(FLOW_ROWS), flagged


@pytest.mark.parametrize(("locale", "point", "text"), FLOW_ROWS)
async def test_an_answer_typed_at_its_question_gets_no_check_question(
    engine: Engine, locale: str, point: str, text: str
) -> None:
    chat = Chat(engine, locale=locale)
    await _go_to(chat, point)
    await chat.send(text)
    assert CHECK_Q[locale] not in chat.text
    assert CRISIS[locale] not in chat.text


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_a_clear_sign_inside_an_answer_still_gets_the_crisis_reply(engine: Engine, locale: str) -> None:
    text = {
        "en": "it got too expensive and honestly I want to kill myself",
        "es": "se volvió muy caro y la verdad me quiero matar",
    }[locale]
    chat = Chat(engine, locale=locale)
    await _go_to(chat, "reason:practical")
    await chat.send(text)
    assert CRISIS[locale] in chat.text


@pytest.mark.parametrize(
    ("locale", "ending", "text"),
    [
        ("en", "It ran out", "it just got too expensive honestly"),
        ("es", "Se acabó", "la verdad es que se volvió demasiado caro"),
    ],
)
async def test_a_story_at_the_suggested_reason_gets_no_check_question(
    engine: Engine, locale: str, ending: str, text: str
) -> None:
    """Found by hand: "It ran out", then the cost in their own words at "is that the main thing?"."""
    chat = Chat(engine, locale=locale)
    words = LABELS[locale]
    await chat.send("/start")
    await chat.press(words["begin"])
    await chat.press(words["country"])
    await chat.press(ending)
    await chat.send(text)
    assert CHECK_Q[locale] not in chat.text
    assert CRISIS[locale] not in chat.text
