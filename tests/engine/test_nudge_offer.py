"""The nudge offer after the plan is a step of its own: plain words answer it, a question asked there
gets its answer and then the offer again, and its buttons (also old ones) keep working."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import UserKey
from bot.engine import Engine
from bot.engine.nudging import OFFER
from tests.chat import Chat, reach_plan

OFFER_STEP = str(OFFER)  # the nudge offer as stored

OFFER_EN = "short, kind message"
OFFER_ES = "mensaje breve y amable"
RHYTHM_EN = "How often would you like a message?"
DECLINED_EN = "/nudges sets them up any time"
COLD_EN = "I can only follow the options here"


async def _es_plan(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("España")
    await chat.press("Dejé de ir")
    for _ in range(6):
        await chat.press("No mucho")
    assert OFFER_ES in chat.text


async def _step(engine: Engine, chat: Chat) -> str:
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None
    return person.flow.step


async def test_the_offer_is_the_pending_step_after_the_plan(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    assert OFFER_EN in chat.text
    assert await _step(engine, chat) == OFFER_STEP


async def test_a_question_at_the_offer_is_answered_then_the_offer_again(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send("is there anything cheaper?")
    assert "general information" in chat.text  # the knowledge base's answer
    assert OFFER_EN in chat.text and chat.labels == ["Yes, set them up", "No thanks"]
    assert "Your plan is ready" not in chat.text


@pytest.mark.parametrize("reply", ["yeah kind of", "yes please", "sure", "ok"])
async def test_a_plain_yes_at_the_offer_starts_the_set_up(engine: Engine, reply: str) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send(reply)
    assert RHYTHM_EN in chat.text and COLD_EN not in chat.text


@pytest.mark.parametrize("reply", ["nah", "no thanks", "not really"])
async def test_a_plain_no_at_the_offer_declines_and_stores_nothing(engine: Engine, reply: str) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send(reply)
    assert DECLINED_EN in chat.text and COLD_EN not in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None
    assert await _step(engine, chat) == "done"  # back where they were: nothing pending
    await chat.send("what's next?")
    assert "Your plan is ready" in chat.text or "I don't know that one" in chat.text


async def test_the_offer_buttons_work_and_an_old_one_still_does(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    yes = chat.button("Yes, set them up").payload
    await chat.press("No thanks")
    assert DECLINED_EN in chat.text
    await chat.press_payload(yes)  # the offer's button, pressed after they had said no
    assert RHYTHM_EN in chat.text
    await chat.press("Never mind")  # cancelling goes back to the finished plan, not to the offer
    assert await _step(engine, chat) == "done"


async def test_a_stored_row_from_before_the_offer_step_still_loads(engine: Engine) -> None:
    """A person saved at "done" with the offer on screen (the old format): the buttons still work."""
    chat = Chat(engine)
    await reach_plan(chat)
    yes = chat.button("Yes, set them up").payload
    key = UserKey("console", "u1")
    data = await engine.store.load(key)
    assert data.person is not None
    old = replace(data.person, flow=replace(data.person.flow, step="done"))
    async with engine.store.turn(key) as turn:
        await turn.save(replace(data, person=old))
    await chat.send("hello")
    assert "Your plan is ready" in chat.text
    await chat.press_payload(yes)
    assert RHYTHM_EN in chat.text


async def test_nudges_command_with_nothing_set_up_asks_the_offer_as_a_step(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("No thanks")
    await chat.send("/nudges")
    assert OFFER_EN in chat.text
    await chat.send("yes")
    assert RHYTHM_EN in chat.text


# ---- the same in Spanish ------------------------------------------------------------------------


async def test_spanish_question_at_the_offer_is_answered_then_the_offer_again(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await _es_plan(chat)
    await chat.send("¿hay algo más barato?")
    assert "información general" in chat.text
    assert OFFER_ES in chat.text and chat.labels == ["Sí, actívalos", "No, gracias"]


@pytest.mark.parametrize("reply", ["sí", "sí, por favor", "vale"])
async def test_spanish_plain_yes_at_the_offer_starts_the_set_up(engine: Engine, reply: str) -> None:
    chat = Chat(engine, locale="es")
    await _es_plan(chat)
    await chat.send(reply)
    assert "¿Cada cuánto" in chat.text


@pytest.mark.parametrize("reply", ["no gracias", "nah", "no"])
async def test_spanish_plain_no_at_the_offer_declines(engine: Engine, reply: str) -> None:
    chat = Chat(engine, locale="es")
    await _es_plan(chat)
    await chat.send(reply)
    assert "/nudges" in chat.text and "solo puedo seguir las opciones" not in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None
    assert await _step(engine, chat) == "done"


async def test_stop_typed_at_the_offer_declines_it(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send("stop")
    assert DECLINED_EN in chat.text and COLD_EN not in chat.text
    assert await _step(engine, chat) == "done"


@pytest.mark.parametrize("reply", ["nah", "no thanks", "never"])
async def test_a_plain_no_at_how_often_is_never_mind(engine: Engine, reply: str) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    assert RHYTHM_EN in chat.text
    await chat.send(reply)
    assert RHYTHM_EN not in chat.text and "didn't catch" not in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None
    assert await _step(engine, chat) == "done"


@pytest.mark.parametrize(
    ("reply", "rhythm"),
    [
        ("a few times a week", "f"),
        ("every day please", "d"),
        ("once a week is plenty", "w"),
        ("daily at first", "t"),
        ("weekdays", "f"),  # Mon, Wed and Fri: weekdays only (no five-day rhythm), and the summary says so
    ],
)
async def test_how_often_in_plain_words(engine: Engine, reply: str, rhythm: str) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    await chat.send(reply)
    assert "What time of day suits you?" in chat.text
    assert await _step(engine, chat) == f"n:time:{rhythm}"


@pytest.mark.parametrize("reply", ["un par de veces por semana", "entre semana"])
async def test_how_often_in_plain_spanish(engine: Engine, reply: str) -> None:
    chat = Chat(engine, locale="es")
    await _es_plan(chat)
    await chat.press("Sí, actívalos")
    await chat.send(reply)
    assert await _step(engine, chat) == "n:time:f"
