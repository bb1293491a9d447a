"""Words that answer nothing, at a step only buttons answer: a kind word for that step, then its question
again (never the general "I can only follow the options here")."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from tests.chat import Chat, go_to, reach_plan

CRISIS = "I don't want to be alive anymore"
POSSIBLE = "honestly I'm just a burden to everyone"
UNCLEAR = "purple elephants on tuesday"
COLD = {"en": "I can only follow the options here", "es": "solo puedo seguir las opciones"}


def _template(chat: Chat, name: str) -> str:
    return chat.engine.notice(name, chat.who.platform, chat.locale, long=False).text


async def _at(chat: Chat, state: str) -> None:
    if state == "crisis":
        await go_to(chat, "reason:focus")
        await chat.send(CRISIS)
    elif state == "risk_check":
        await go_to(chat, "reason:focus")
        await chat.send(POSSIBLE)
    elif state == "offer":
        await reach_plan(chat)
    elif state == "grounding":
        await go_to(chat, "done")
        await chat.send(CRISIS)
        await chat.press("Try a grounding exercise")
    else:
        await go_to(chat, state)


QUESTION = {  # what each state asks again, in English
    "crisis": "are you safe right now?",
    "risk_check": "are you having thoughts of ending your life?",
    "offer": "short, kind message",
    "nudges:often": "How often would you like a message?",
    "reason:focus": "4 of 6",
    "ending_valid": "",
}
TEMPLATE = {
    "crisis": "unclear/crisis",
    "risk_check": "unclear/risk_check",
    "offer": "unclear/nudge_offer",
    "nudges:often": "unclear/nudge",
    "reason:focus": "unclear/question",
    "ending_valid": "unclear/question",
}


@pytest.mark.parametrize("state", list(TEMPLATE))
async def test_unclear_words_get_a_kind_word_for_the_step_and_its_question_again(
    engine: Engine, state: str
) -> None:
    chat = Chat(engine)
    await _at(chat, state)
    before = chat.labels
    await chat.send(UNCLEAR)
    text = chat.text
    assert text.startswith(_template(chat, TEMPLATE[state]))
    assert QUESTION[state] in text and COLD["en"] not in text
    assert chat.labels == before  # the same buttons: nothing changed


async def test_grounding_asks_for_no_words(engine: Engine) -> None:
    chat = Chat(engine)
    await _at(chat, "grounding")
    before = chat.labels
    await chat.send(UNCLEAR)
    assert chat.text.startswith(_template(chat, "unclear/grounding")) and COLD["en"] not in chat.text
    assert chat.labels == before


async def test_where_nothing_is_pending_the_general_note_stays(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("No thanks")
    await chat.send(UNCLEAR)
    assert COLD["en"] in chat.text and "Your plan is ready" in chat.text


@pytest.mark.parametrize(
    ("state", "template", "question"),
    [
        ("crisis", "unclear/crisis", "¿estás a salvo ahora mismo?"),
        ("risk_check", "unclear/risk_check", "¿estás pensando en quitarte la vida?"),
    ],
)
async def test_spanish_crisis_steps_get_a_kind_word_too(
    engine: Engine, state: str, template: str, question: str
) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.send(
        "no quiero seguir viviendo" if state == "crisis" else "siento que soy una carga para todos"
    )
    await chat.send("elefantes morados el martes")
    assert chat.text.startswith(_template(chat, template)), chat.text
    assert question in chat.text.lower() and COLD["es"] not in chat.text


async def test_spanish_offer_gets_a_kind_word_and_the_offer_again(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("España")
    await chat.press("Dejé de ir")
    for _ in range(6):
        await chat.press("No mucho")
    await chat.send("elefantes morados el martes")
    assert chat.text.startswith(_template(chat, "unclear/nudge_offer"))
    assert "mensaje breve y amable" in chat.text and COLD["es"] not in chat.text
