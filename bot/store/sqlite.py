"""The embedded store: one SQLite file through aiosqlite, WAL, short `BEGIN IMMEDIATE` transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.domain import TargetKind, UserData, UserKey
from bot.store.base import StoreBusy, StoreError, StoreUnavailable
from bot.store.migrations import migrations_for
from bot.store.records import (
    PERSON_COLUMNS,
    SCHEDULE_COLUMNS,
    person_from,
    person_row,
    schedule_from,
    schedule_row,
    utc,
)

logger = logging.getLogger(__name__)

# Tables that hold rows about a person, and the columns that name them.
PERSONAL_TABLES = {
    "people": ("platform", "user_id"),
    "processed_updates": ("platform", "user_id"),
    "schedules": ("platform", "target_id"),
    "nudge_log": ("platform", "target_id"),
}


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
        if data.person is not None:
            cols = ", ".join(PERSON_COLUMNS)
            marks = ", ".join("?" for _ in PERSON_COLUMNS)
            updates = ", ".join(f"{c} = excluded.{c}" for c in PERSON_COLUMNS[2:])
            await self.db.execute(
                f"INSERT INTO people ({cols}) VALUES ({marks}) "
                f"ON CONFLICT (platform, user_id) DO UPDATE SET {updates}",
                person_row(data.person),
            )
        if data.schedule is None:
            await self.db.execute(
                "DELETE FROM schedules WHERE platform = ? AND target_kind = ? AND target_id = ?",
                (self.key.platform, TargetKind.PERSON.value, self.key.user_id),
            )
        else:
            await upsert_schedule(self.db, data.schedule)
        self.data = data

    async def forget(self) -> None:
        await delete_person(self.db, self.key)
        self.data = UserData()


async def upsert_schedule(db: aiosqlite.Connection, schedule: object) -> None:
    """Insert or update a schedule by its target, keeping any lease a dispatcher holds."""
    cols = ", ".join(SCHEDULE_COLUMNS)
    marks = ", ".join("?" for _ in SCHEDULE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in SCHEDULE_COLUMNS[3:])
    await db.execute(
        f"INSERT INTO schedules ({cols}) VALUES ({marks}) "
        f"ON CONFLICT (platform, target_kind, target_id) DO UPDATE SET {updates}",
        schedule_row(schedule),  # type: ignore[arg-type]
    )


async def delete_person(db: aiosqlite.Connection, key: UserKey) -> None:
    """Erase every row about a person; their schedule and its log go with them."""
    await db.execute(
        "DELETE FROM nudge_log WHERE platform = ? AND target_kind = ? AND target_id = ?",
        (key.platform, TargetKind.PERSON.value, key.user_id),
    )
    await db.execute(
        "DELETE FROM schedules WHERE platform = ? AND target_kind = ? AND target_id = ?",
        (key.platform, TargetKind.PERSON.value, key.user_id),
    )
    await db.execute(
        "DELETE FROM processed_updates WHERE platform = ? AND user_id = ?",
        (key.platform, key.user_id),
    )
    await db.execute("DELETE FROM people WHERE platform = ? AND user_id = ?", (key.platform, key.user_id))


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
            await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            async with db.execute("SELECT version FROM schema_migrations") as cursor:
                done = {row[0] for row in await cursor.fetchall()}
            for version, statements in migrations_for("sqlite"):
                if version in done:
                    continue
                logger.info("applying migration %04d", version)
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
                        "INSERT INTO processed_updates (platform, update_key, user_id, handled_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (key.platform, update_key, key.user_id, utc(datetime.now(UTC))),
                    )
                    duplicate = cursor.rowcount == 0
                data = UserData() if duplicate else await self._read(db, key)
                yield SQLiteTurn(db, key, duplicate, data)
        except sqlite3.Error as error:
            raise _translate(error) from None

    async def _read(self, db: aiosqlite.Connection, key: UserKey) -> UserData:
        async with db.execute(
            "SELECT * FROM people WHERE platform = ? AND user_id = ?", (key.platform, key.user_id)
        ) as cursor:
            person_row_ = await cursor.fetchone()
        async with db.execute(
            "SELECT * FROM schedules WHERE platform = ? AND target_kind = ? AND target_id = ?",
            (key.platform, TargetKind.PERSON.value, key.user_id),
        ) as cursor:
            schedule_row_ = await cursor.fetchone()
        return UserData(
            person=person_from(person_row_) if person_row_ else None,
            schedule=schedule_from(schedule_row_) if schedule_row_ else None,
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
        async with self._lock:
            await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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
