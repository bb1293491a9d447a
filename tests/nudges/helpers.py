"""Shared steps for nudge tests: opting in through the engine as a person would, and rows of due nudges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.domain import Rhythm, Schedule, TargetKind
from bot.engine import Engine
from bot.store.records import SCHEDULE_COLUMNS, Mark, marks, schedule_row
from tests.chat import Chat, reach_plan


def due_rows(now: datetime, count: int, platform: str = "fake") -> list[tuple[Any, ...]]:
    """`count` daily schedules for chats p0, p1, …, all due a little before `now`, never in quiet hours."""
    return [
        schedule_row(
            Schedule(
                platform=platform,
                target_kind=TargetKind.PERSON,
                target_id=f"p{i}",
                chat_id=f"p{i}",
                rhythm=Rhythm.DAILY,
                local_time=now.strftime("%H:%M"),
                timezone="UTC",
                next_due_at=now - timedelta(minutes=1, seconds=i),
                quiet_start="00:00",
                quiet_end="00:00",  # no quiet hours, so the tests pass at any hour
                created_at=now - timedelta(days=1),
            )
        )
        for i in range(count)
    ]


def insert_schedules(mark: Mark) -> str:
    """The INSERT for `due_rows` in a dialect (`?` or `$n` marks)."""
    values = marks(mark, 1, len(SCHEDULE_COLUMNS))
    return f"INSERT INTO schedules ({', '.join(SCHEDULE_COLUMNS)}) VALUES ({values})"


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
