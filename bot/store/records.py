"""Converting domain records to and from database rows, shared by every store."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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


# The SQL both stores share. Only the parameter marks differ between dialects (`?` in SQLite, `$1` in
# PostgreSQL), so each store builds these once with its own mark and no statement is written twice.

Mark = Callable[[int], str]


def qmark(_: int) -> str:
    """SQLite's parameter mark."""
    return "?"


def numbered(n: int) -> str:
    """PostgreSQL's parameter mark."""
    return f"${n}"


# Tables that hold rows about a person, and the columns that name them.
PERSONAL_TABLES = {
    "people": ("platform", "user_id"),
    "processed_updates": ("platform", "user_id"),
    "schedules": ("platform", "target_id"),
    "nudge_log": ("platform", "target_id"),
}


def _upsert(table: str, columns: tuple[str, ...], conflict: str, keep: int, mark: Mark) -> str:
    marks = ", ".join(mark(i) for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[keep:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


@dataclass(frozen=True)
class Statements:
    """One dialect's text of the statements every store runs the same way."""

    upsert_person: str  # parameters: person_row(person)
    upsert_schedule: str  # schedule_row(schedule); updating by target keeps any dispatcher lease
    select_person: str  # (platform, user_id)
    select_own_schedule: str  # (platform, "person", user_id)
    delete_own_schedule: str  # (platform, "person", user_id)
    insert_update: str  # (platform, update_key, user_id, handled_at); does nothing for a redelivery
    forget_by_target: tuple[str, ...]  # each (platform, "person", user_id); children before parents
    forget_by_user: tuple[str, ...]  # each (platform, user_id)

    def forget(self, key: UserKey) -> list[tuple[str, tuple[str, ...]]]:
        """Every DELETE that erases a person, with its parameters, in a safe order."""
        by_target = (key.platform, TargetKind.PERSON.value, key.user_id)
        return [(sql, by_target) for sql in self.forget_by_target] + [
            (sql, (key.platform, key.user_id)) for sql in self.forget_by_user
        ]


def statements(mark: Mark) -> Statements:
    """The shared statements with `mark` as the parameter placeholder."""
    m1, m2, m3, m4 = (mark(i) for i in range(1, 5))
    by_target = f"platform = {m1} AND target_kind = {m2} AND target_id = {m3}"
    by_user = f"platform = {m1} AND user_id = {m2}"
    return Statements(
        upsert_person=_upsert("people", PERSON_COLUMNS, "platform, user_id", 2, mark),
        upsert_schedule=_upsert("schedules", SCHEDULE_COLUMNS, "platform, target_kind, target_id", 3, mark),
        select_person=f"SELECT * FROM people WHERE {by_user}",
        select_own_schedule=f"SELECT * FROM schedules WHERE {by_target}",
        delete_own_schedule=f"DELETE FROM schedules WHERE {by_target}",
        insert_update=(
            "INSERT INTO processed_updates (platform, update_key, user_id, handled_at) "
            f"VALUES ({m1}, {m2}, {m3}, {m4}) ON CONFLICT DO NOTHING"
        ),
        forget_by_target=tuple(f"DELETE FROM {t} WHERE {by_target}" for t in ("nudge_log", "schedules")),
        forget_by_user=tuple(f"DELETE FROM {t} WHERE {by_user}" for t in ("processed_updates", "people")),
    )
