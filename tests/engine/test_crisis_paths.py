"""The ways forward from a crisis reply, through the engine: grounding (every step, then safe), "I'm not
safe" (emergency number first, one step, the person's own plan), and what a crisis does mid-way."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.engine import grounding as g
from tests.chat import Chat, go_to
from tests.conftest import Clock

CRISIS = "I don't want to be alive anymore"
SAFE_Q = "Are you safe right now?"
CRISIS_LABELS = [
    "I'm safe right now",
    "I'm not safe",
    "Try a grounding exercise",
    "Make a safety plan",
    "You can check in on me tomorrow",
]
STEP_OPENINGS = [
    "Let's slow down together",
    "Now four things you can feel",
    "Three things you can hear",
    "Two things you can smell",
    "One thing you can taste",
    "Now your breath",
    "And out, even more slowly",
]


async def _stored_step(engine: Engine, chat: Chat) -> str | None:
    person = (await engine.store.load(chat.who.key)).person
    return person.flow.step if person else None


@pytest.mark.parametrize("state", ["not started", "reason:focus"])
async def test_grounding_every_step_then_safe(engine: Engine, state: str) -> None:
    chat = Chat(engine)
    await go_to(chat, state)
    await chat.send(CRISIS)
    assert chat.labels == CRISIS_LABELS
    await chat.press("Try a grounding exercise")
    for number, opening in enumerate(STEP_OPENINGS, start=1):
        assert len(chat.last) == 1 and chat.text.startswith(opening), chat.text
        assert chat.labels == ["Next", "Stop"]
        assert all(len(p.encode()) <= 64 for p in chat.last[0].payloads)
        if state != "not started":
            assert await _stored_step(engine, chat) == f"g:{number}"  # kept in the flow, for a restart
        await chat.press("Next")
    assert "Thank you for staying with it" in chat.text and "How are you now?" in chat.text
    assert chat.labels == ["I'm safe right now", "I'm not safe"]
    await chat.press("I'm safe right now")
    assert "Thank you for letting me know" in chat.text
    if state == "reason:focus":
        assert "carry on where we were" in chat.text  # the reflection is still there to resume
        await chat.press("Carry on where I was")
        assert "4 of 6" in chat.text
    else:
        assert await engine.store.count_people() == 0  # nothing stored for someone who never agreed


async def test_grounding_stop_asks_gently_and_typed_text_restates_the_step(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send(CRISIS)
    await chat.press("Try a grounding exercise")
    await chat.press("Next")
    await chat.send("ok")  # not a button: the same step again, not a dead end
    assert chat.text.startswith(engine.notice("unclear/grounding", "console", "en", long=False).text)
    assert chat.last[-1].text.endswith(engine.notice("grounding/step_2", "console", "en").text)
    await chat.send("next")  # a label typed works like the button
    assert chat.text.startswith("Three things you can hear")
    await chat.press("Stop")
    assert "we can stop here" in chat.text and "How are you now?" in chat.text
    assert await _stored_step(engine, chat) == "crisis"  # back at the crisis step it was started from


async def test_grounding_button_works_after_a_restart_without_state(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.press_payload(f"1|*|g.{g.STEPS}")  # an old button, nothing stored about this person
    assert chat.text.startswith("And out, even more slowly")
    await chat.press("Next")
    assert "How are you now?" in chat.text


async def test_not_safe_gives_the_emergency_number_first_then_one_step(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "country")
    await chat.press("United Kingdom")
    await chat.send(CRISIS)
    await chat.press("I'm not safe")
    [reply] = chat.last
    assert reply.urgent
    assert reply.text.startswith("Please get help now. In an emergency: Call 999 or 112.")
    assert reply.text.count("One thing for right now:") == 1
    assert "move away from anything you could hurt yourself with" in reply.text
    assert "From your safety plan" not in reply.text  # they have none
    assert "Samaritans" in reply.text
    assert chat.labels == ["I'm safe right now", "Try a grounding exercise"]


async def test_not_safe_shows_the_people_and_services_from_their_plan(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    for _ in range(3):
        await chat.press("Skip")
    await chat.send("my sister Ana 555-0101")
    await chat.send("Dr Byrne at the clinic")
    await chat.press("Skip")
    await chat.send(CRISIS)
    assert "See my safety plan" in chat.labels
    await chat.press("I'm not safe")
    text = chat.text
    emergency, step, plan = (
        text.index("In an emergency"),
        text.index("One thing"),
        text.index("From your safety plan"),
    )
    assert emergency < step < plan
    assert "People you can ask: my sister Ana 555-0101" in text
    assert "Professionals and services: Dr Byrne at the clinic" in text


async def test_a_crisis_during_grounding_returns_to_where_they_were(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:rapport")
    await chat.send(CRISIS)
    await chat.press("Try a grounding exercise")
    await chat.send(CRISIS)  # the safety check runs first, inside the exercise too
    assert SAFE_Q in chat.text
    await chat.press("I'm safe right now")
    await chat.press("Carry on where I was")
    assert "2 of 6" in chat.text  # the reflection question, not a stranded exercise step


async def test_spanish_crisis_buttons_and_grounding(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("quiero matarme")
    assert chat.labels[2:] == [
        "Probar un ejercicio para calmarme",
        "Hacer un plan de seguridad",
        "Puedes escribirme mañana para ver cómo estoy",
    ]
    await chat.press("Probar un ejercicio")
    assert chat.text.startswith("Vamos a bajar el ritmo") and chat.labels == ["Siguiente", "Parar"]
    await chat.press("Parar")
    assert "¿Cómo estás ahora?" in chat.text
    await chat.press("No estoy a salvo")
    assert chat.text.startswith("Por favor, busca ayuda ahora. En una emergencia:")


@pytest.mark.parametrize(
    ("locale", "reply", "expected"),
    [
        ("en", "yes", "Thank you for letting me know"),
        ("en", "yeah", "Thank you for letting me know"),
        ("en", "no", "Please get help now"),
        ("en", "nope", "Please get help now"),
        ("es", "sí", "Gracias por decírmelo"),
        ("es", "no", "Por favor, busca ayuda ahora"),
    ],
)
async def test_a_plain_yes_or_no_answers_are_you_safe(
    engine: Engine, locale: str, reply: str, expected: str
) -> None:
    chat = Chat(engine, locale=locale)
    await chat.send("/start")
    await chat.press("Yes, let's begin" if locale == "en" else "Sí, empecemos")
    await chat.send(CRISIS if locale == "en" else "quiero matarme")
    await chat.send(reply)
    assert chat.text.startswith(expected), chat.text


async def test_an_unclear_reply_to_are_you_safe_asks_again(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "country")
    await chat.send(CRISIS)
    await chat.send("kind of")
    assert "I can't answer that in my own words" in chat.text and "are you safe right now?" in chat.text
    assert chat.labels == CRISIS_LABELS


async def test_before_start_the_safe_answers_typed_still_work(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send(CRISIS)  # nothing is stored before consent, so "no" alone cannot be read as "not safe"
    await chat.send("i'm not safe")
    assert chat.text.startswith("Please get help now")
    assert await engine.store.count_people() == 0


@pytest.mark.parametrize(("typed", "resumed"), [("yes", True), ("carry on where I was", True), ("no", False)])
async def test_a_typed_answer_after_im_safe_carries_on_or_pauses(
    engine: Engine, typed: str, resumed: bool
) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send(CRISIS)
    await chat.press("I'm safe right now")
    assert "carry on where we were" in chat.text
    await chat.send(typed)  # it used to read "yes" as "I'm safe" again and repeat the same reply
    if resumed:
        assert "4 of 6" in chat.text
        assert await _stored_step(engine, chat) == "reason:focus"
    else:
        assert chat.text == engine.notice("paused", "console", "en").text
        assert await _stored_step(engine, chat) == "paused"
        await chat.send("/start")
        await chat.press("Carry on where I was")
        assert "4 of 6" in chat.text  # the question they had reached is still there


@pytest.mark.parametrize(("typed", "deleted"), [("yes", True), ("yes please", True), ("no", False)])
async def test_a_typed_answer_to_forget_at_a_crisis_reply(engine: Engine, typed: str, deleted: bool) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send(CRISIS)
    await chat.send("/forget")
    await chat.send(typed)  # "yes" used to be read as "I'm safe", and nothing was deleted
    assert await engine.store.count_people() == (0 if deleted else 1)
    if deleted:
        assert chat.text.startswith("Done. Everything I kept about you is deleted")
    else:
        assert chat.text.startswith("Okay, nothing was deleted") and "are you safe right now?" in chat.text


async def test_a_typed_yes_to_the_safety_plan_offer_at_a_crisis_reply_begins_it(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send(CRISIS)
    await chat.press("Make a safety plan")
    await chat.send("yeah")
    assert "What tells you a hard time might be starting?" in chat.text


async def test_a_typed_yes_answers_only_the_question_just_asked(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send("/forget")
    await chat.send("/help")  # another reply in between: the delete question is no longer the one asked
    await chat.send("yes")
    assert await engine.store.count_people() == 1


@pytest.mark.parametrize(
    ("locale", "typed", "safe"),
    [
        ("en", "I'm fine now, thanks", True),
        ("en", "i'm safe", True),
        ("en", "no, I'm not ok", False),
        ("en", "i dont feel safe", False),
        ("es", "estoy bien por ahora", True),
        ("es", "estoy a salvo", True),
        ("es", "no estoy bien", False),
    ],
)
async def test_safe_or_not_in_plain_words_at_a_crisis_reply(
    engine: Engine, locale: str, typed: str, safe: bool
) -> None:
    chat = Chat(engine, locale=locale)
    await chat.send("/start")
    await chat.press(chat.labels[0])  # consent
    await chat.send(CRISIS if locale == "en" else "ya no quiero estar vivo")
    await chat.send(typed)  # "estoy bien por ahora" used to get the same question again
    safe_reply = engine.notice("crisis_safe", "console", locale, resumable=False).text
    assert chat.text.startswith(safe_reply.split(".")[0]) is safe
    if not safe:  # the emergency number first
        first = "Please get help now" if locale == "en" else "Por favor, busca ayuda ahora"
        assert chat.text.startswith(first)


@pytest.mark.parametrize(
    ("typed", "opening"), [("yes", "Thank you for letting me know"), ("no", "Please get help now")]
)
async def test_before_start_a_typed_yes_or_no_answers_the_crisis_reply(
    engine: Engine, typed: str, opening: str
) -> None:
    chat = Chat(engine)
    await chat.send(CRISIS)
    await chat.send(typed)  # "yes" used to be read as consent to begin the reflection
    assert chat.text.startswith(opening)
    assert await engine.store.count_people() == 0  # still nothing stored


async def test_before_start_a_typed_yes_answers_the_check_question(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("honestly I'm just a burden to everyone")
    assert "are you having thoughts of ending your life?" in chat.text
    await chat.send("yes")  # it used to begin the reflection
    assert SAFE_Q in chat.text and "116 123" in chat.text  # the crisis reply, with the lines
    assert await engine.store.count_people() == 0


async def test_before_start_a_typed_yes_to_the_safety_plan_offer_begins_it(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send(CRISIS)
    await chat.press("Make a safety plan")
    assert "agreeing to what /privacy describes" in chat.text
    await chat.send("yes")
    assert "What tells you a hard time might be starting?" in chat.text


async def test_before_start_the_question_is_remembered_only_for_minutes(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await chat.send(CRISIS)
    clock.advance(minutes=11)
    await chat.send("no")  # long after, nothing links "no" to that question
    assert not chat.text.startswith("Please get help now")
