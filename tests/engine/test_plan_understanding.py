"""Plain words in the reflection: answers, questions, stories, a suggested reason, routes in the plan."""

from __future__ import annotations

import json

import pytest

from bot.engine import Engine
from tests.chat import Chat, go_to


async def test_plain_reply_answers_a_reason_question(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send("yeah kind of")
    assert "2 of 6" in chat.text


async def test_question_is_answered_then_the_same_question_again(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:rapport")
    await chat.send("what is prolonged exposure?")
    assert "general information" in chat.text and "2 of 6" in chat.text


async def test_off_topic_question_gets_an_honest_dont_know(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:rapport")
    await chat.send("what is the capital of peru?")
    assert "I don't know that one" in chat.text and "2 of 6" in chat.text


async def test_ran_out_suggests_practical_and_one_tap_reaches_a_plan_with_uk_routes(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.press("United Kingdom")
    await chat.press("It ran out")
    assert "practical barriers" in chat.text
    await chat.press("Yes, that's the main thing")
    assert "NHS Talking Therapies" in chat.text


@pytest.mark.parametrize("said", ["the money ran out", "it just got too expensive honestly"])
async def test_the_suggested_reason_in_their_own_words_is_a_yes(engine: Engine, said: str) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.press("United Kingdom")
    await chat.press("It ran out")
    await chat.send(said)
    assert "NHS Talking Therapies" in chat.text


# ---- the same in Spanish ------------------------------------------------------------------------


async def _es_to_reason(chat: Chat, number: int) -> None:
    """A Spanish speaker in Spain, at reason question `number` (1-6), earlier ones answered "En parte"."""
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("España")
    await chat.press("Dejé de ir")
    for _ in range(number - 1):
        await chat.press("En parte")
    assert f"{number} de 6" in chat.text


async def _stored_answers(chat: Chat) -> dict[str, str]:
    """What the reflection kept, read back from the /mydata file."""
    await chat.send("/mydata")
    [file] = [m.attachment for m in chat.last if m.attachment is not None]
    return json.loads(file.content)["person"]["conversation"]["answers"]


@pytest.mark.parametrize(
    ("reply", "meaning"), [("sí, un poco", "partly"), ("más o menos", "partly"), ("no sé", "unsure")]
)
async def test_spanish_plain_reply_answers_a_reason_question(
    engine: Engine, reply: str, meaning: str
) -> None:
    chat = Chat(engine, locale="es")
    await _es_to_reason(chat, 1)
    await chat.send(reply)
    assert "2 de 6" in chat.text
    assert await _stored_answers(chat) == {"ready": meaning}


async def test_spanish_skip_moves_on_without_an_answer(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await _es_to_reason(chat, 2)
    await chat.send("saltar esto")
    assert "3 de 6" in chat.text
    assert await _stored_answers(chat) == {"ready": "partly"}


async def test_spanish_story_naming_a_reason_is_confirmed_with_one_question(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await _es_to_reason(chat, 2)
    await chat.send("ya no podía pagarlo")
    assert "obstáculos prácticos" in chat.text and "¿Lo anoto para tu plan?" in chat.text
    await chat.press("Sí, anótalo")
    assert "2 de 6" in chat.text  # back to the question they were at
    assert await _stored_answers(chat) == {"ready": "partly", "practical": "yes"}


async def test_spanish_question_mid_reflection_is_answered_then_asked_again(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await _es_to_reason(chat, 3)
    await chat.send("¿qué es EMDR?")
    assert "EMDR" in chat.text and "información general" in chat.text
    assert "3 de 6" in chat.text
    await chat.send("¿cuál es la capital de Perú?")
    assert "Eso no lo sé" in chat.text and "3 de 6" in chat.text


async def test_story_with_a_no_inside_is_heard_as_a_story(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send("I never clicked with her")  # "never" is not a No to being ready
    assert "not feeling a connection" in chat.text and "Shall I note that" in chat.text
    await chat.press("Yes")
    assert "1 of 6" in chat.text
    assert await _stored_answers(chat) == {"rapport": "yes"}


async def test_reply_opening_with_an_answer_is_that_answer(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send("no, I wasn't ready")
    assert "2 of 6" in chat.text
    assert await _stored_answers(chat) == {"ready": "no"}


async def test_story_at_the_ending_naming_only_a_reason_suggests_it(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send("we never really clicked")
    assert "not feeling a connection" in chat.text and "1 of 6" not in chat.text
    await chat.press("Yes, that's the main thing")
    assert "What you recognised: not feeling a connection" in chat.text
    assert await _stored_answers(chat) == {"rapport": "yes"}


async def test_a_confirmed_suggestion_is_not_asked_again_in_the_list(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.press("It ran out")
    await chat.press("Yes, and there's more")
    asked = [chat.text]
    for _ in range(5):
        await chat.press("Not really")
        asked.append(chat.text)
    assert "Here is your plan" in asked[-1]
    assert not any("Cost, time, travel" in text for text in asked)  # the practical question, already answered
    assert await _stored_answers(chat) == {
        "practical": "yes",
        **dict.fromkeys(("ready", "rapport", "specialist", "focus", "practice"), "no"),
    }


async def test_a_reason_told_after_the_plan_is_confirmed_and_added(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.press("United Kingdom")
    await chat.press("It ran out")
    await chat.send("yes")  # practical barriers are the main thing: the plan at once
    await chat.press("No thanks")  # no nudges
    await chat.send("the homework was a lot honestly")  # it used to get "I can only follow the options"
    assert "practice between sessions was part of it" in chat.text
    await chat.send("yes")
    assert "What you recognised: practice between sessions, practical barriers." in chat.text
    assert "short, kind message" not in chat.text  # the nudges were offered once, and declined
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.flow.answers == {"practical": "yes", "practice": "yes"}
    await chat.send("I never clicked with her")
    await chat.send("no")
    assert "/plan shows it" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and "rapport" not in person.flow.answers and person.flow.step == "done"
    await chat.send("the money was the main thing")  # already in the plan: nothing to confirm
    assert "Shall I note that" not in chat.text
