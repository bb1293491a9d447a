"""The check question: a possible sign of risk gets one direct question, and "no" puts the person back
exactly where they were, in every state of every flow."""

from __future__ import annotations

import pytest

from bot.domain import Outgoing
from bot.engine import Engine
from bot.safety import CrisisDetector, Risk, Signal
from tests.chat import NUDGE_STEPS, Chat, go_to

POSSIBLE = "honestly I'm just a burden to everyone"
POSSIBLE_HARM = "he checks all my messages"
CLEAR = "I want to kill myself"
CHECK_Q = "are you having thoughts of ending your life?"
HARM_Q = "is someone hurting you, or are you afraid for your safety?"
CHECK_LABELS = ["Yes", "No, it's a hard day", "I'd rather not say"]
SAFE_Q = "Are you safe right now?"

STATES = [
    "not started",
    "welcome",
    "country",
    "ending",
    "ending_valid",
    *[f"reason:{r}" for r in ("ready", "rapport", "specialist", "focus", "practice", "practical")],
    "paused",
    "done",
    *[step for step, _ in NUDGE_STEPS],
    "nudges:confirm_zone",
]


def test_the_phrases_used_here_are_what_they_claim(detector: CrisisDetector) -> None:
    possible, clear = detector.detect(POSSIBLE), detector.detect(CLEAR)
    assert possible is not None and possible.level is Risk.POSSIBLE
    assert detector.detect(POSSIBLE_HARM) == Signal("abuse", Risk.POSSIBLE)
    assert clear is not None and clear.level is Risk.CLEAR


async def _stored(engine: Engine, chat: Chat) -> tuple[object, object]:
    data = await engine.store.load(chat.who.key)
    return (data.person.flow if data.person else None), data.schedule


def _shown(message: Outgoing) -> tuple[str, list[str]]:
    return message.text, [b.label for row in message.buttons for b in row]


async def _restated(chat: Chat) -> tuple[str, list[str]]:
    """What the bot asks again after something it did not expect (it changes nothing)."""
    await chat.send("/no_such_command")
    return _after(chat, "unknown_command")


def _after(chat: Chat, template: str) -> tuple[str, list[str]]:
    """The last message without its opening `template` line (a turn's replies arrive merged)."""
    text, labels = _shown(chat.last[-1])
    opening = chat.engine.notice(template, chat.who.platform, chat.locale).text
    assert text.startswith(opening + "\n\n"), text
    return text[len(opening) + 2 :], labels


@pytest.mark.parametrize(
    ("sign", "question"), [(POSSIBLE, CHECK_Q), (POSSIBLE_HARM, HARM_Q)], ids=["risk", "harm"]
)
@pytest.mark.parametrize("state", STATES)
async def test_no_puts_the_person_back_exactly_where_they_were(
    engine: Engine, state: str, sign: str, question: str
) -> None:
    chat = Chat(engine)
    await go_to(chat, state)
    before = await _stored(engine, chat)
    asked = await _restated(chat)

    replies = await chat.send(sign)
    assert len(replies) == 1 and question in chat.text
    assert chat.labels == CHECK_LABELS
    assert replies[0].urgent
    assert SAFE_Q not in chat.text  # a question, not the full crisis reply

    await chat.press("No, it's a hard day")
    assert len(chat.last) == 1
    assert _after(chat, "risk_check_no") == asked
    assert await _stored(engine, chat) == before


@pytest.mark.parametrize("sign", [POSSIBLE, POSSIBLE_HARM], ids=["risk", "harm"])
@pytest.mark.parametrize("answer", ["Yes", "I'd rather not say"])
@pytest.mark.parametrize("state", ["not started", "ending", "reason:specialist", "done", "nudges:time"])
async def test_yes_or_rather_not_say_gets_the_crisis_reply(
    engine: Engine, state: str, answer: str, sign: str
) -> None:
    chat = Chat(engine)
    await go_to(chat, state)
    await chat.send(sign)
    await chat.press(answer)
    assert SAFE_Q in chat.text and "Samaritans" in chat.text
    assert chat.labels == [
        "I'm safe right now",
        "I'm not safe",
        "Try a grounding exercise",
        "Make a safety plan",
        "You can check in on me tomorrow",
    ]
    assert chat.last[0].urgent


async def test_after_yes_and_safe_the_reflection_resumes_at_the_same_question(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send(POSSIBLE)
    await chat.press("Yes")
    await chat.press("I'm safe right now")
    await chat.press("Carry on where I was")
    assert "4 of 6" in chat.text
    await chat.press("Partly")
    assert "5 of 6" in chat.text


async def test_a_clear_sign_skips_the_question(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send(CLEAR)
    assert SAFE_Q in chat.text and CHECK_Q not in chat.text


async def test_a_clear_sign_while_the_question_waits_gets_the_crisis_reply(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:rapport")
    await chat.send(POSSIBLE)
    await chat.send(CLEAR)
    assert SAFE_Q in chat.text
    await chat.press("I'm safe right now")
    await chat.press("Carry on where I was")
    assert "2 of 6" in chat.text


async def test_a_possible_sign_during_a_crisis_gets_the_lines_again_not_a_question(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send(CLEAR)
    await chat.send(POSSIBLE)
    assert SAFE_Q in chat.text and CHECK_Q not in chat.text


async def test_other_text_while_the_question_waits_asks_it_again(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:practice")
    await chat.send(POSSIBLE)
    await chat.send("hmm")
    assert CHECK_Q in chat.last[-1].text and chat.labels == CHECK_LABELS
    old_flow_button = "1|reason:practice|yes"
    await chat.press_payload(old_flow_button)
    assert "earlier message" in chat.text and CHECK_Q in chat.last[-1].text


async def test_the_answer_buttons_work_from_an_old_message(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send(POSSIBLE)
    no = chat.button("No, it's a hard day").payload
    await chat.press("No, it's a hard day")
    await chat.press_payload(no)  # pressed again later: still kind, still where they are
    assert "Hard days are real" in chat.last[0].text and "1 of 6" in chat.last[-1].text


async def test_spanish_check_question(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await go_to_es(chat)
    await chat.send("siento que solo soy una carga para todos")
    assert "quitarte la vida" in chat.text
    await chat.press("No, es un día difícil")
    assert "días difíciles" in chat.last[0].text


async def test_harm_from_others_asks_whether_they_are_safe_not_about_their_life(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send(POSSIBLE_HARM)
    assert HARM_Q in chat.text and CHECK_Q not in chat.text
    await chat.send("hmm")  # asked again: the same question
    assert HARM_Q in chat.last[-1].text and CHECK_Q not in chat.last[-1].text
    await chat.send(POSSIBLE)  # a newer sign of another kind: its own question
    assert CHECK_Q in chat.last[-1].text
    await chat.press("No, it's a hard day")
    assert "1 of 6" in chat.last[-1].text


async def test_spanish_harm_check_question(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await go_to_es(chat)
    await chat.send("mi pareja me revisa el celular todo el tiempo")
    assert "tienes miedo por tu seguridad" in chat.text and "quitarte la vida" not in chat.text


async def go_to_es(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("Sí, empecemos")
