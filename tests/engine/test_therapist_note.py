"""/plan offers a note for a new therapist: a Markdown file built from the stored plan."""

from __future__ import annotations

import re

from bot.engine import Engine
from tests.chat import Chat, reach_plan

BLAMING = re.compile(r"\b(fail\w*|fault|blame\w*|should have|wrong with me|gave up|lazy)\b", re.IGNORECASE)


async def _note(chat: Chat) -> str:
    await chat.send("/plan")
    await chat.press("A note for a new therapist")
    files = [m.attachment for m in chat.last if m.attachment is not None]
    assert len(files) == 1, chat.text
    assert files[0].filename.endswith(".md")
    return files[0].content.decode()


async def test_note_holds_their_reasons_what_they_want_and_questions(engine: Engine) -> None:
    chat = Chat(engine)
    answers = {"ending": "The therapist", "rapport": "Yes", "specialist": "Partly", "practical": "Yes"}
    await reach_plan(chat, answers)
    note = await _note(chat)
    assert note.startswith("# A note for a new therapist")
    for heading in ("## What I tried", "## What didn't fit", "## What I'd like this time", "## Questions"):
        assert heading in note
    assert "How it ended: The therapist or service ended it" in note
    assert "I didn't feel a connection" in note
    assert "more specialist training (partly)" in note
    assert "practical things got in the way" in note
    assert "CPT, PE or EMDR" in note  # what they'd like, from the specialist reason
    assert "How will we know if it's helping?" in note
    assert "not ready" not in note.lower()  # a reason they did not choose stays out
    assert not BLAMING.search(note)
    assert "It's yours" in chat.text


async def test_note_keeps_their_own_note_and_has_no_chat_escaping(engine: Engine) -> None:
    chat = Chat(engine, platform="telegram")
    await reach_plan(chat, {"focus": "Yes"})
    await chat.send("/note I want to work on sleep & my mornings")
    assert "saved" in chat.text.lower(), chat.text
    note = await _note(chat)
    assert "In my own words: I want to work on sleep & my mornings" in note  # no HTML escaping in a file
    assert "agree early on what we're working on" in note


async def test_note_in_spanish_and_without_reasons(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("España")
    await chat.press("Dejé de ir")
    for _ in range(6):
        await chat.press("No mucho")
    await chat.send("/plan")
    await chat.press("Una nota para tu nuevo/a terapeuta")
    note = next(m.attachment for m in chat.last if m.attachment is not None).content.decode()
    assert note.startswith("# Una nota para mi nuevo/a terapeuta")
    assert "Nada destaca con claridad" in note and "¿Cómo sabremos si está ayudando?" in note
    assert not BLAMING.search(note)


async def test_note_before_any_plan_says_there_is_none_yet(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send("/restart")
    await chat.press_payload("1|*|tnote")
    assert all(m.attachment is None for m in chat.last)
    assert "plan" in chat.text.lower()
