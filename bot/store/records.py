"""Converting domain records to and from database rows, shared by every store."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import Flow, Person, Rhythm, SafetyPlan, Schedule, TargetKind, UserKey
from bot.store.base import DueNudge, NudgeOutcome, NudgeRecord


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
    "safety_plan",
)

# The schedules rows a person owns: their nudges and their check-in after a crisis reply.
OWN_KINDS = (TargetKind.PERSON, TargetKind.FOLLOWUP)


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
        json.dumps(person.safety_plan.to_json(), ensure_ascii=False) if person.safety_plan else None,
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
        safety_plan=SafetyPlan.from_json(json.loads(row["safety_plan"])) if row["safety_plan"] else None,
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


def due_from(row: Any, answers: dict[str, str] | None = None) -> DueNudge:
    """A due schedule row as a DueNudge; its answers from `answers`, else from the row's JSON column."""
    schedule = schedule_from(row)
    assert schedule.next_due_at is not None
    if answers is None:
        answers = json.loads(row["answers"]) if row["answers"] else {}
    return DueNudge(schedule, schedule.next_due_at, answers)


def claimed(rows: Sequence[Any], answer_rows: Sequence[Any]) -> list[DueNudge]:
    """Claimed schedule rows with the (id, answers JSON) rows read for them, earliest slot first."""
    answers = {row[0]: json.loads(row[1]) for row in answer_rows if row[1]}
    due = [due_from(row, answers.get(row["id"], {})) for row in rows]
    return sorted(due, key=lambda d: (d.slot_at, d.schedule.id or 0))


# The SQL both stores share. Only the parameter marks differ between dialects (`?` in SQLite, `$1` in
# PostgreSQL), so each store builds these once with its own mark and no statement is written twice.

Mark = Callable[[int], str]


def qmark(_: int) -> str:
    """SQLite's parameter mark."""
    return "?"


def numbered(n: int) -> str:
    """PostgreSQL's parameter mark."""
    return f"${n}"


# Tables that hold rows about a person, and the columns that name them. /mydata exports every row of
# each (schedules and nudge_log: the person's own kinds only, not a channel's) and /forget erases them.
PERSONAL_TABLES = {
    "people": ("platform", "user_id"),
    "processed_updates": ("platform", "user_id"),
    "schedules": ("platform", "target_id"),
    "nudge_log": ("platform", "target_id"),
}
# Columns that name a person; a table with one of these holds rows about someone (the privacy test's rule).
PERSON_KEY_COLUMNS = ("user_id", "target_id")

# Update ids (processed_updates) exist only so a redelivered platform update is not handled twice.
# Platforms redeliver within about a day, so ids older than this are pruned, for everyone, consented or not.
UPDATE_ID_RETENTION = timedelta(hours=48)


def rows_select(table: str, mark: Mark) -> str:
    """Every row `table` holds about a person: (platform, user_id), oldest first where rows have a time."""
    platform_col, id_col = PERSONAL_TABLES[table]
    where = f"{platform_col} = {mark(1)} AND {id_col} = {mark(2)}"
    if id_col == "target_id":
        kinds = ", ".join(f"'{kind.value}'" for kind in OWN_KINDS)
        where += f" AND target_kind IN ({kinds})"
    return f"SELECT * FROM {table} WHERE {where}"


def plain_row(row: Any) -> dict[str, Any]:
    """A database row as a plain dict of JSON-ready values (column name -> value)."""
    names = row.keys()  # sqlite3.Row and asyncpg.Record iterate over values, so ask for the names
    return {name: row[name] for name in names}


def _upsert(table: str, columns: tuple[str, ...], conflict: str, keep: int, mark: Mark) -> str:
    marks = ", ".join(mark(i) for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[keep:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


def channel_key(schedule: Schedule) -> tuple[str, str, str]:
    """(platform, "channel", channel id): where a community channel's schedule is kept."""
    if schedule.target_kind is not TargetKind.CHANNEL:
        raise ValueError("a channel schedule needs target_kind CHANNEL")
    return (schedule.platform, TargetKind.CHANNEL.value, schedule.target_id)


def marks(mark: Mark, first: int, count: int) -> str:
    """`count` parameter marks numbered from `first`, comma separated (for an IN list)."""
    return ", ".join(mark(i) for i in range(first, first + count))


@dataclass(frozen=True)
class Statements:
    """One dialect's text of the statements every store runs the same way."""

    mark: Mark
    answers_of: str  # SQL for the JSON text of `p.flow`'s answers (the dialects spell JSON differently)
    row_lock: str  # " FOR UPDATE" where rows lock (PostgreSQL); "" where the transaction locks (SQLite)
    skip_locked: str  # " FOR UPDATE SKIP LOCKED" where claims must pass over rows others are claiming
    platform_filter: str  # the column a claim filters on; SQLite's "+platform" keeps it off the index
    upsert_person: str  # parameters: person_row(person)
    upsert_schedule: str  # schedule_row(schedule); updating by target keeps any dispatcher lease
    select_person: str  # (platform, user_id)
    select_own_schedule: str  # (platform, "person", user_id)
    delete_own_schedule: str  # (platform, "person", user_id)
    insert_update: str  # (platform, update_key, user_id, handled_at); does nothing for a redelivery
    forget_by_target: tuple[str, ...]  # each (platform, target_kind, target_id); children before parents
    forget_by_user: tuple[str, ...]  # each (platform, user_id)
    log_nudge: str  # (slot_at, outcome, template, recorded_at, schedule_id, owner): only while leased
    retry_nudge: str  # (retry_at, schedule_id, owner)
    release_nudges: str  # (owner,)
    prune_updates: str  # (handled_before,): update ids older than de-duplication needs
    personal_rows: dict[str, str]  # table -> SELECT of every row about (platform, user_id)

    def forget(self, key: UserKey) -> list[tuple[str, tuple[str, ...]]]:
        """Every DELETE that erases a person, with its parameters, in a safe order."""
        by_target = [(key.platform, kind.value, key.user_id) for kind in OWN_KINDS]
        return [(sql, params) for params in by_target for sql in self.forget_by_target] + [
            (sql, (key.platform, key.user_id)) for sql in self.forget_by_user
        ]

    def claim(self, platforms: int) -> str:
        """Lease the earliest due rows: (owner, lease_until, now, now, *platforms, limit)."""
        m = self.mark
        return (
            f"UPDATE schedules SET lease_owner = {m(1)}, lease_until = {m(2)} WHERE id IN ("
            f"SELECT id FROM schedules WHERE next_due_at IS NOT NULL AND next_due_at <= {m(3)} "
            f"AND (lease_until IS NULL OR lease_until <= {m(4)}) "
            f"AND {self.platform_filter} IN ({marks(m, 5, platforms)}) "
            f"ORDER BY next_due_at LIMIT {m(5 + platforms)}{self.skip_locked}) "
            f"RETURNING {', '.join(('id', *SCHEDULE_COLUMNS))}"
        )

    def answers_for(self, ids: int) -> str:
        """(schedule id, answers JSON) of the people behind `ids` schedules: (*ids)."""
        return (
            f"SELECT s.id, {self.answers_of} FROM schedules s JOIN people p "
            "ON p.platform = s.platform AND p.user_id = s.target_id "
            f"WHERE s.target_kind = 'person' AND s.id IN ({marks(self.mark, 1, ids)})"
        )

    def record_nudge(
        self, record: NudgeRecord
    ) -> tuple[tuple[str, tuple[Any, ...]], tuple[str, tuple[Any, ...]]]:
        """The two statements that record a slot, with their parameters: the log row (run the second only
        if it inserted one), then the schedule moved on and released.

        SENT adds one to sent_count and unanswered; UNREACHABLE switches the schedule off; otherwise the
        new next_due_at is taken only if the person left the slot as it was.
        """
        r = record
        m, slot, sent = self.mark, utc(r.slot_at), int(r.outcome is NudgeOutcome.SENT)
        recent = json.dumps(list(r.recent_templates)) if r.recent_templates is not None else None
        log = (slot, r.outcome.value, r.template, utc(r.recorded_at), r.schedule_id, r.owner)
        next_args: tuple[Any, ...]
        if r.outcome is NudgeOutcome.UNREACHABLE:
            next_sql, next_args = "NULL", ()
        else:
            next_sql = f"CASE WHEN next_due_at = {m(1)} THEN {m(2)} ELSE next_due_at END"
            next_args = (slot, utc(r.next_due_at))
        n = len(next_args) + 1
        update = (
            f"UPDATE schedules SET next_due_at = {next_sql}, sent_count = sent_count + {m(n)}, "
            f"unanswered = unanswered + {m(n + 1)}, "
            f"recent_templates = COALESCE({m(n + 2)}, recent_templates), "
            f"lease_owner = NULL, lease_until = NULL WHERE id = {m(n + 3)} AND lease_owner = {m(n + 4)}"
        )
        return (self.log_nudge, log), (update, (*next_args, sent, sent, recent, r.schedule_id, r.owner))

    def earliest_due(self, platforms: int) -> str:
        """(*platforms)"""
        return (
            "SELECT MIN(next_due_at) FROM schedules WHERE next_due_at IS NOT NULL "
            f"AND platform IN ({marks(self.mark, 1, platforms)})"
        )

    def due_before(self, platforms: int | None) -> str:
        """Keyset pages of due schedules with answers: (end, after_id, *platforms, limit)."""
        m = self.mark
        where, n = "", 0
        if platforms is not None:
            where, n = f"AND s.platform IN ({marks(m, 3, platforms)}) ", platforms
        answers = (
            f"(SELECT {self.answers_of} FROM people p WHERE s.target_kind = 'person' "
            "AND p.platform = s.platform AND p.user_id = s.target_id) AS answers"
        )
        return (
            f"SELECT s.*, {answers} FROM schedules s WHERE s.next_due_at IS NOT NULL "
            f"AND s.next_due_at < {m(1)} AND s.id > {m(2)} {where}ORDER BY s.id LIMIT {m(3 + n)}"
        )


def statements(
    mark: Mark,
    *,
    answers_of: str,
    row_lock: str = "",
    skip_locked: str = "",
    platform_filter: str = "platform",
) -> Statements:
    """The shared statements in one dialect: its parameter mark, JSON access and row locking."""
    m1, m2, m3, m4 = (mark(i) for i in range(1, 5))
    by_target = f"platform = {m1} AND target_kind = {m2} AND target_id = {m3}"
    by_user = f"platform = {m1} AND user_id = {m2}"
    return Statements(
        mark=mark,
        answers_of=answers_of,
        row_lock=row_lock,
        skip_locked=skip_locked,
        platform_filter=platform_filter,
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
        # The slot's one log row, copied from the schedule only while `owner` holds its lease (and, where
        # rows lock, with the schedule row locked, so a claim cannot take it over between log and update).
        log_nudge=(
            "INSERT INTO nudge_log "
            "(schedule_id, platform, target_kind, target_id, slot_at, outcome, template, recorded_at) "
            f"SELECT id, platform, target_kind, target_id, {m1}, {m2}, {m3}, {m4} FROM schedules "
            f"WHERE id = {mark(5)} AND lease_owner = {mark(6)}{row_lock} ON CONFLICT DO NOTHING"
        ),
        retry_nudge=(
            f"UPDATE schedules SET lease_owner = NULL, lease_until = {m1} "
            f"WHERE id = {m2} AND lease_owner = {m3}"
        ),
        release_nudges=(
            f"UPDATE schedules SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = {m1}"
        ),
        prune_updates=f"DELETE FROM processed_updates WHERE handled_at < {m1}",
        personal_rows={table: rows_select(table, mark) for table in PERSONAL_TABLES},
    )
