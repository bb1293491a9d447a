"""Converting domain records to and from database rows, shared by every store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.domain import Flow, Person, Rhythm, Schedule, TargetKind, UserKey


def utc(value: datetime | None) -> str | None:
    """A timestamp as fixed-width ISO text in UTC, so text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


PERSON_COLUMNS = (
    "platform",
    "user_id",
    "chat_id",
    "locale",
    "country",
    "youth",
    "consented_at",
    "plan_at",
    "note",
    "flow",
    "created_at",
    "last_seen_at",
)


def person_row(person: Person) -> tuple[Any, ...]:
    return (
        person.key.platform,
        person.key.user_id,
        person.chat_id,
        person.locale,
        person.country,
        int(person.youth),
        utc(person.consented_at),
        utc(person.plan_at),
        person.note,
        json.dumps(person.flow.to_json(), ensure_ascii=False),
        utc(person.created_at),
        utc(person.last_seen_at),
    )


def person_from(row: Any) -> Person:
    return Person(
        key=UserKey(row["platform"], row["user_id"]),
        chat_id=row["chat_id"],
        locale=row["locale"],
        country=row["country"],
        youth=bool(row["youth"]),
        consented_at=parse_time(row["consented_at"]),
        plan_at=parse_time(row["plan_at"]),
        note=row["note"],
        flow=Flow.from_json(json.loads(row["flow"])),
        created_at=parse_time(row["created_at"]),  # type: ignore[arg-type]
        last_seen_at=parse_time(row["last_seen_at"]),  # type: ignore[arg-type]
    )


SCHEDULE_COLUMNS = (
    "platform",
    "target_kind",
    "target_id",
    "chat_id",
    "rhythm",
    "local_time",
    "timezone",
    "quiet_start",
    "quiet_end",
    "locale",
    "next_due_at",
    "paused_until",
    "unanswered",
    "sent_count",
    "recent_templates",
    "milestone",
    "created_at",
)


def schedule_row(s: Schedule) -> tuple[Any, ...]:
    return (
        s.platform,
        s.target_kind.value,
        s.target_id,
        s.chat_id,
        s.rhythm.value,
        s.local_time,
        s.timezone,
        s.quiet_start,
        s.quiet_end,
        s.locale,
        utc(s.next_due_at),
        utc(s.paused_until),
        s.unanswered,
        s.sent_count,
        json.dumps(list(s.recent_templates)),
        s.milestone,
        utc(s.created_at),
    )


def schedule_from(row: Any) -> Schedule:
    return Schedule(
        id=row["id"],
        platform=row["platform"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        chat_id=row["chat_id"],
        rhythm=Rhythm(row["rhythm"]),
        local_time=row["local_time"],
        timezone=row["timezone"],
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        locale=row["locale"],
        next_due_at=parse_time(row["next_due_at"]),
        paused_until=parse_time(row["paused_until"]),
        unanswered=row["unanswered"],
        sent_count=row["sent_count"],
        recent_templates=tuple(json.loads(row["recent_templates"] or "[]")),
        milestone=row["milestone"],
        created_at=parse_time(row["created_at"]),
    )
