"""The embedded store: one SQLite file through aiosqlite, WAL, short `BEGIN IMMEDIATE` transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

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
    qmark,
    schedule_from,
    schedule_row,
    statements,
    utc,
)

logger = logging.getLogger(__name__)

# `+platform` in claims: walk the due index in time order rather than the platform's whole unique index.
SQL = statements(qmark, answers_of="json_extract(p.flow, '$.answers')", platform_filter="+platform")


def _translate(error: sqlite3.Error) -> StoreError:
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return StoreBusy("the database is locked by another process")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreUnavailable("the database file cannot be written")
    return StoreError("the database refused the operation")


@dataclass
class SQLiteTurn:
    """A turn inside one `BEGIN IMMEDIATE` transaction."""

    db: aiosqlite.Connection
    key: UserKey
    duplicate: bool
    data: UserData

    async def save(self, data: UserData) -> None:
        if data.person is not None and data.person != self.data.person:
            await self.db.execute(SQL.upsert_person, person_row(data.person))
        for kind, new, old in (
            (TargetKind.PERSON, data.schedule, self.data.schedule),
            (TargetKind.FOLLOWUP, data.followup, self.data.followup),
        ):
            if new is not None and new != old:
                await self.db.execute(SQL.upsert_schedule, schedule_row(new))
            elif new is None and old is not None:
                await self.db.execute(
                    SQL.delete_own_schedule, (self.key.platform, kind.value, self.key.user_id)
                )
        self.data = data

    async def forget(self) -> None:
        await delete_person(self.db, self.key)
        self.data = UserData()


async def delete_person(db: aiosqlite.Connection, key: UserKey) -> None:
    """Erase every row about a person; their schedule and its log go with them."""
    for sql, params in SQL.forget(key):
        await db.execute(sql, params)


class SQLiteStore:
    """The default store. One connection; an asyncio lock keeps its transactions from interleaving."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreUnavailable("the store is not open")
        return self._db

    async def open(self) -> None:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise StoreUnavailable(f"the folder {parent} does not exist")
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            self._db.row_factory = aiosqlite.Row
            await self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = FULL")
            await self._db.execute("PRAGMA secure_delete = ON")
            await self._db.execute("PRAGMA foreign_keys = ON")
            await self._migrate()
        except sqlite3.Error as error:
            await self.close()
            raise _translate(error) from None
        except BaseException:
            await self.close()  # aiosqlite's thread would otherwise keep the process alive
            raise

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def _migrate(self) -> None:
        async with self.transaction() as db:
            await db.execute(TRACKING_TABLE)
            async with db.execute("SELECT version FROM schema_migrations") as cursor:
                done = {row[0] for row in await cursor.fetchall()}
            for version, statements in pending("sqlite", done):
                for statement in statements:
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, utc(datetime.now(UTC))),
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction; the connection lock keeps concurrent turns from interleaving."""
        async with self._lock:
            db = self.db
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise _translate(error) from None
            try:
                yield db
            except BaseException:
                await db.rollback()
                raise
            try:
                await db.commit()
            except sqlite3.Error as error:
                await db.rollback()
                raise _translate(error) from None

    @asynccontextmanager
    async def turn(self, key: UserKey, update_key: str | None = None) -> AsyncIterator[SQLiteTurn]:
        try:
            async with self.transaction() as db:
                duplicate = False
                if update_key is not None:
                    cursor = await db.execute(
                        SQL.insert_update, (key.platform, update_key, key.user_id, utc(datetime.now(UTC)))
                    )
                    duplicate = cursor.rowcount == 0
                data = UserData() if duplicate else await self._read(db, key)
                yield SQLiteTurn(db, key, duplicate, data)
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def _read(self, db: aiosqlite.Connection, key: UserKey) -> UserData:
        people = await db.execute_fetchall(SQL.select_person, (key.platform, key.user_id))
        own = {}
        for kind in OWN_KINDS:
            rows = await db.execute_fetchall(SQL.select_own_schedule, (key.platform, kind.value, key.user_id))
            own[kind] = next((schedule_from(row) for row in rows), None)
        return UserData(
            person=next((person_from(row) for row in people), None),
            schedule=own[TargetKind.PERSON],
            followup=own[TargetKind.FOLLOWUP],
        )

    async def load(self, key: UserKey) -> UserData:
        try:
            async with self._lock:
                return await self._read(self.db, key)
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def expire_inactive(self, before: datetime) -> int:
        async with self.transaction() as db:
            async with db.execute(
                "SELECT platform, user_id FROM people WHERE last_seen_at < ?", (utc(before),)
            ) as cursor:
                stale = [UserKey(row[0], row[1]) for row in await cursor.fetchall()]
            for key in stale:
                await delete_person(db, key)
            await db.execute("DELETE FROM processed_updates WHERE handled_at < ?", (utc(before),))
        if stale:
            await self.checkpoint()
        return len(stale)

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file so erased rows do not linger in the log."""
        try:
            async with self._lock:
                await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def count_people(self) -> int:
        async with self._lock, self.db.execute("SELECT COUNT(*) FROM people") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def table_rows_for(self, key: UserKey) -> dict[str, int]:
        counts: dict[str, int] = {}
        async with self._lock:
            for table, (platform_col, id_col) in PERSONAL_TABLES.items():
                async with self.db.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE {platform_col} = ? AND {id_col} = ?",
                    (key.platform, key.user_id),
                ) as cursor:
                    row = await cursor.fetchone()
                counts[table] = int(row[0]) if row else 0
        return counts

    # ---- nudges ---------------------------------------------------------------------------------
    async def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int, platforms: Sequence[str]
    ) -> list[DueNudge]:
        if not platforms:
            return []
        async with self.transaction() as db:
            cursor = await db.execute(
                SQL.claim(len(platforms)), (owner, utc(lease_until), utc(now), utc(now), *platforms, limit)
            )
            rows = await cursor.fetchall()
            await cursor.close()
            ids = [row["id"] for row in rows]
            found: list[Any] = []
            if ids:
                # A separate read: SQLite plans a subquery inside RETURNING as a full scan of people.
                async with db.execute(SQL.answers_for(len(ids)), ids) as cursor:
                    found = list(await cursor.fetchall())
        return claimed(rows, found)

    async def record_nudge(self, record: NudgeRecord) -> bool:
        (log, logged), (update, moved) = SQL.record_nudge(record)
        async with self.transaction() as db:
            cursor = await db.execute(log, logged)
            if cursor.rowcount != 1:
                return False
            await db.execute(update, moved)
        return True

    async def retry_nudge(self, schedule_id: int, owner: str, retry_at: datetime) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(SQL.retry_nudge, (utc(retry_at), schedule_id, owner))
            return cursor.rowcount == 1

    async def release_nudges(self, owner: str) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(SQL.release_nudges, (owner,))
            return cursor.rowcount

    async def earliest_due(self, platforms: Sequence[str]) -> datetime | None:
        if not platforms:
            return None
        async with self._lock, self.db.execute(SQL.earliest_due(len(platforms)), tuple(platforms)) as cursor:
            row = await cursor.fetchone()
        return parse_time(row[0]) if row and row[0] else None

    async def schedules_due_before(
        self, end: datetime, *, after_id: int = 0, limit: int = 1000, platforms: Sequence[str] | None = None
    ) -> list[DueNudge]:
        sql = SQL.due_before(None if platforms is None else len(platforms))
        args = (utc(end), after_id, *(platforms or ()), limit)
        async with self._lock, self.db.execute(sql, args) as cursor:
            rows = await cursor.fetchall()
        return [due_from(row) for row in rows]

    async def upsert_channel_schedule(self, schedule: Schedule) -> Schedule:
        key = channel_key(schedule)
        async with self.transaction() as db:
            await db.execute(SQL.upsert_schedule, schedule_row(schedule))
            async with db.execute(SQL.select_own_schedule, key) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return schedule_from(row)

    async def delete_channel_schedule(self, platform: str, channel_id: str) -> bool:
        async with self.transaction() as db:
            for sql in SQL.forget_by_target:
                cursor = await db.execute(sql, (platform, TargetKind.CHANNEL.value, channel_id))
            return cursor.rowcount > 0  # the last DELETE is the schedule's
