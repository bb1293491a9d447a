"""Plain words in the reflection: answers, questions, stories, a suggested reason, routes in the plan."""

from __future__ import annotations

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
