"""The embedded store: one SQLite file, WAL, short `BEGIN IMMEDIATE` transactions.

Everything runs on one connection thread of our own (`ConnectionThread`, plain `sqlite3`), each store
call as one function on that thread. A turn is two hops: the first begins the transaction, records the
update key and reads the person; the second runs the turn's writes and commits.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.domain import Schedule, TargetKind, UserData, UserKey
from bot.store.base import DueNudge, NudgeRecord, StoreBusy, StoreError, StoreUnavailable
from bot.store.migrations import TRACKING_TABLE, pending
from bot.store.records import (
    OWN_KINDS,
    PERSONAL_TABLES,
    channel_key,
    claimed,
    due_from,
    parse_time,
    person_from,
    person_row,
    plain_row,
    qmark,
    schedule_from,
    schedule_row,
    statements,
    utc,
)
from bot.store.sqlite_thread import ConnectionThread, GroupCommit

logger = logging.getLogger(__name__)

T = TypeVar("T")
Writes = list[tuple[str, tuple[Any, ...]]]

# A turn that ends without committing takes back its own update key (and only its own: the time is part).
_UNDO_UPDATE = "DELETE FROM processed_updates WHERE platform = ? AND update_key = ? AND handled_at = ?"

# `+platform` in claims: walk the due index in time order rather than the platform's whole unique index.
SQL = statements(qmark, answers_of="json_extract(p.flow, '$.answers')", platform_filter="+platform")


def _translate(error: sqlite3.Error) -> StoreError:
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return StoreBusy("the database is locked by another process")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreUnavailable("the database file cannot be written")
    return StoreError("the database refused the operation")


# ---- functions run on the connection thread ----------------------------------------------------
def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _in_transaction(db: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(db, *args)` inside BEGIN IMMEDIATE … COMMIT, rolled back if anything fails."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = fn(db, *args)
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise
    return result


def _read(db: sqlite3.Connection, key: UserKey) -> UserData:
    """A person's row and their own schedules (nudges, check-in): two statements."""
    params = (key.platform, key.user_id)
    person = db.execute(SQL.select_person, params).fetchone()
    own = {row["target_kind"]: row for row in db.execute(SQL.personal_rows["schedules"], params)}
    schedules = {kind: schedule_from(own[kind.value]) if kind.value in own else None for kind in OWN_KINDS}
    return UserData(
        person=person_from(person) if person else None,
        schedule=schedules[TargetKind.PERSON],
        followup=schedules[TargetKind.FOLLOWUP],
    )


def _begin_turn(db: sqlite3.Connection, key: UserKey, handled: tuple[Any, ...] | None) -> tuple[Any, Writes]:
    """Hop one, inside the open transaction: record the update key (a redelivery is a duplicate), read.

    Returns ((duplicate, data), the writes made), so the turn can be redone alone if its group is lost.
    """
    done: Writes = []
    duplicate = handled is not None and db.execute(SQL.insert_update, handled).rowcount == 0
    if handled is not None and not duplicate:
        done.append((SQL.insert_update, handled))
    return (duplicate, UserData() if duplicate else _read(db, key)), done


def _migrate(db: sqlite3.Connection) -> None:
    db.execute(TRACKING_TABLE)
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    for version, migration in pending("sqlite", done):
        for statement in migration:
            db.execute(statement)
        db.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            (version, utc(datetime.now(UTC))),
        )


def _forget(db: sqlite3.Connection, key: UserKey) -> None:
    for sql, params in SQL.forget(key):
        db.execute(sql, params)


def _personal_rows(db: sqlite3.Connection, key: UserKey) -> dict[str, list[dict[str, Any]]]:
    """Every row about a person in every personal table (the /mydata export's source)."""
    params = (key.platform, key.user_id)
    found = SQL.personal_rows.items()
    return {table: [plain_row(r) for r in db.execute(sql, params)] for table, sql in found}


@dataclass
class SQLiteTurn:
    """A turn inside one `BEGIN IMMEDIATE` transaction; its writes are queued and run at commit."""

    key: UserKey
    duplicate: bool
    data: UserData
    writes: Writes = field(default_factory=list)
    db: ConnectionThread | None = None  # for reads inside the open transaction (/mydata)

    async def save(self, data: UserData) -> None:
        if data.person is not None and data.person != self.data.person:
            self.writes.append((SQL.upsert_person, person_row(data.person)))
        for kind, new, old in (
            (TargetKind.PERSON, data.schedule, self.data.schedule),
            (TargetKind.FOLLOWUP, data.followup, self.data.followup),
        ):
            if new is not None and new != old:
                self.writes.append((SQL.upsert_schedule, schedule_row(new)))
            elif new is None and old is not None:
                self.writes.append(
                    (SQL.delete_own_schedule, (self.key.platform, kind.value, self.key.user_id))
                )
        self.data = data

    async def forget(self) -> None:
        self.writes.extend(SQL.forget(self.key))
        self.data = UserData()

    async def rows(self) -> dict[str, list[dict[str, Any]]]:
        assert self.db is not None
        try:
            return await self.db.call(_personal_rows, self.key)
        except sqlite3.Error as error:
            raise _translate(error) from None


class SQLiteStore:
    """The default store. One connection thread; `GroupCommit` runs jobs one by one, grouping turns."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, group_commit: bool = True) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.group_commit = group_commit  # turns arriving together share one COMMIT (SQLITE_GROUP_COMMIT)
        self._db: ConnectionThread | None = None
        self._groups: GroupCommit | None = None

    @property
    def db(self) -> ConnectionThread:
        """The connection thread (`await store.db.execute(sql)` for diagnostics and tests)."""
        if self._db is None:
            raise StoreUnavailable("the store is not open")
        return self._db

    async def open(self) -> None:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise StoreUnavailable(f"the folder {parent} does not exist")
        try:
            self._db = ConnectionThread(self.path, busy_timeout_ms=self.busy_timeout_ms)
            self._groups = GroupCommit(self._db, enabled=self.group_commit)
            await self._db.open()
            await self._db.call(self._configure)
            await self._write(_migrate)
        except sqlite3.Error as error:
            await self.close()
            raise _translate(error) from None
        except BaseException:
            await self.close()  # the connection thread would otherwise keep running
            raise

    def _configure(self, db: sqlite3.Connection) -> None:
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA foreign_keys = ON")

    async def close(self) -> None:
        if self._groups is not None:
            groups, self._db, self._groups = self._groups, None, None
            await groups.close()

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on the connection thread, alone, with its errors as store errors."""
        try:
            return await self.groups.run(fn, *args)
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def _batched(self, fn: Callable[..., T], *args: Any) -> T:
        """A short write that may share its transaction and COMMIT with others arriving together."""
        try:
            return await self.groups.write(fn, *args)
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` in one short write transaction on the connection thread."""
        return await self._call(_in_transaction, fn, *args)

    @property
    def groups(self) -> GroupCommit:
        """The connection's scheduler: turns of different people share a COMMIT, anything else runs alone."""
        if self._groups is None:
            raise StoreUnavailable("the store is not open")
        return self._groups

    @asynccontextmanager
    async def turn(self, key: UserKey, update_key: str | None = None) -> AsyncIterator[SQLiteTurn]:
        handled = (
            None if update_key is None else (key.platform, update_key, key.user_id, utc(datetime.now(UTC)))
        )
        undo = [] if handled is None else [(_UNDO_UPDATE, (handled[0], handled[1], handled[3]))]
        try:
            async with self.groups.turn(key, _begin_turn, (key, handled), undo) as (
                (duplicate, data),
                writes,
            ):
                yield SQLiteTurn(key, duplicate, data, writes, db=self.db)
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def load(self, key: UserKey) -> UserData:
        return await self._call(_read, key)

    async def expire_inactive(self, before: datetime) -> int:
        def expire(db: sqlite3.Connection) -> int:
            rows = db.execute("SELECT platform, user_id FROM people WHERE last_seen_at < ?", (utc(before),))
            stale = [UserKey(row[0], row[1]) for row in rows.fetchall()]
            for key in stale:
                _forget(db, key)
            db.execute("DELETE FROM processed_updates WHERE handled_at < ?", (utc(before),))
            return len(stale)

        removed = await self._write(expire)
        if removed:
            await self.checkpoint()
        return removed

    async def prune_updates(self, before: datetime) -> int:
        return await self._write(lambda db: db.execute(SQL.prune_updates, (utc(before),)).rowcount)

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file so erased rows do not linger in the log."""
        await self._call(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())

    async def count_people(self) -> int:
        row = await self._call(lambda db: db.execute("SELECT COUNT(*) FROM people").fetchone())
        return int(row[0]) if row else 0

    async def table_rows_for(self, key: UserKey) -> dict[str, int]:
        def count(db: sqlite3.Connection) -> dict[str, int]:
            return {
                table: int(
                    db.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE {platform_col} = ? AND {id_col} = ?",
                        (key.platform, key.user_id),
                    ).fetchone()[0]
                )
                for table, (platform_col, id_col) in PERSONAL_TABLES.items()
            }

        return await self._call(count)

    # ---- nudges ---------------------------------------------------------------------------------
    async def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int, platforms: Sequence[str]
    ) -> list[DueNudge]:
        if not platforms:
            return []

        def claim(db: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            args = (owner, utc(lease_until), utc(now), utc(now), *platforms, limit)
            rows = db.execute(SQL.claim(len(platforms)), args).fetchall()
            ids = [row["id"] for row in rows]
            # A separate read: SQLite plans a subquery inside RETURNING as a full scan of people.
            found = db.execute(SQL.answers_for(len(ids)), ids).fetchall() if ids else []
            return rows, found

        rows, found = await self._write(claim)
        return claimed(rows, found)

    async def record_nudge(self, record: NudgeRecord) -> bool:
        (log, logged), (update, moved) = SQL.record_nudge(record)

        def write(db: sqlite3.Connection) -> bool:
            if db.execute(log, logged).rowcount != 1:
                return False
            db.execute(update, moved)
            return True

        return await self._batched(write)

    async def retry_nudge(self, schedule_id: int, owner: str, retry_at: datetime) -> bool:
        args = (utc(retry_at), schedule_id, owner)
        return await self._batched(lambda db: db.execute(SQL.retry_nudge, args).rowcount == 1)

    async def release_nudges(self, owner: str) -> int:
        return await self._write(lambda db: db.execute(SQL.release_nudges, (owner,)).rowcount)

    async def earliest_due(self, platforms: Sequence[str]) -> datetime | None:
        if not platforms:
            return None
        sql, args = SQL.earliest_due(len(platforms)), tuple(platforms)
        row = await self._call(lambda db: db.execute(sql, args).fetchone())
        return parse_time(row[0]) if row and row[0] else None

    async def schedules_due_before(
        self, end: datetime, *, after_id: int = 0, limit: int = 1000, platforms: Sequence[str] | None = None
    ) -> list[DueNudge]:
        sql = SQL.due_before(None if platforms is None else len(platforms))
        args = (utc(end), after_id, *(platforms or ()), limit)
        rows = await self._call(lambda db: db.execute(sql, args).fetchall())
        return [due_from(row) for row in rows]

    async def upsert_channel_schedule(self, schedule: Schedule) -> Schedule:
        key = channel_key(schedule)

        def upsert(db: sqlite3.Connection) -> Any:
            db.execute(SQL.upsert_schedule, schedule_row(schedule))
            return db.execute(SQL.select_own_schedule, key).fetchone()

        row = await self._write(upsert)
        assert row is not None
        return schedule_from(row)

    async def delete_channel_schedule(self, platform: str, channel_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            count = 0
            for sql in SQL.forget_by_target:
                count = db.execute(sql, (platform, TargetKind.CHANNEL.value, channel_id)).rowcount
            return count > 0  # the last DELETE is the schedule's

        return await self._write(delete)
