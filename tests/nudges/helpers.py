"""Shared steps for nudge tests: opting in through the engine as a person would."""

from __future__ import annotations

from bot.domain import Schedule
from bot.engine import Engine
from tests.chat import Chat, reach_plan


async def opt_in(
    chat: Chat,
    *,
    rhythm: str = "Every day",
    at: str = "09:30",
    zone: str = "Berlin",
    answers: dict[str, str] | None = None,
) -> Schedule:
    """Walk the reflection, accept the offer after the plan, and choose rhythm, time and zone."""
    await reach_plan(chat, answers)
    await chat.press("Yes, set them up")
    await chat.press(rhythm)
    if any(b.label == at for b in chat.buttons):
        await chat.press(at)
    else:
        await chat.send(at)
    await chat.send(zone)
    assert "I'll be in touch" in chat.text, chat.text
    return await schedule_of(chat.engine, chat)


async def schedule_of(engine: Engine, chat: Chat) -> Schedule:
    schedule = (await engine.store.load(chat.who.key)).schedule
    assert schedule is not None
    return schedule
