"""The scale-out store: PostgreSQL through an asyncpg pool, for several bot processes sharing one database.

Turns for one person are serialised across processes by a transaction-scoped advisory lock on a hash of
the person's key, taken before anything is read, so it works even for someone who has no row yet. A turn
also locks the person's schedule row (FOR UPDATE) as it reads it: at READ COMMITTED a dispatcher recording
a nudge meanwhile would otherwise have its sent_count, unanswered and recent_templates overwritten by the
turn's save. The dispatcher records with the row locked too, so one waits for the other and reads its work.

Nudges are claimed with `FOR UPDATE SKIP LOCKED` and a lease: several dispatchers (in several processes)
take disjoint batches, and a dead dispatcher's claims are taken over once its lease expires.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.domain import Schedule, TargetKind, UserData, UserKey
from bot.store.base import DueNudge, NudgeRecord, StoreBusy, StoreError, StoreUnavailable
from bot.store.migrations import TRACKING_TABLE, pending
from bot.store.records import (
    OWN_KINDS,
    PERSONAL_TABLES,
    channel_key,
    claimed,
    due_from,
    numbered,
    parse_time,
    person_from,
    person_row,
    plain_row,
    schedule_from,
    schedule_row,
    statements,
    utc,
)

logger = logging.getLogger(__name__)

SQL = statements(
    numbered,
    answers_of="(p.flow::json -> 'answers')::text",
    row_lock=" FOR UPDATE",
    skip_locked=" FOR UPDATE SKIP LOCKED",
)

# Any fixed 64-bit number no other application on the database is likely to use ("KGmigr" + 1).
MIGRATION_LOCK = 0x4B47_6D69_6772_0001

# Errors a database call can raise: the server's, the driver's, the network's, and command timeouts.
DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)

# SQLSTATEs that mean "try again shortly": lock or statement timeouts, conflicts, too many connections.
BUSY_STATES = {"55P03", "57014", "40001", "40P01", "53300"}
# SQLSTATE classes and codes that mean "this database cannot be used as configured": connection,
# authorisation, no such database; read-only transaction, permission denied, shutting down, disk full.
UNAVAILABLE_CLASSES = {"08", "28", "3D"}
UNAVAILABLE_STATES = {"25006", "42501", "57P01", "57P02", "57P03", "53100"}


def person_lock_key(key: UserKey) -> int:
    """A stable signed 64-bit advisory-lock key for a person; a rare collision only serialises two people."""
    digest = hashlib.blake2b(
        f"{key.platform}\x00{key.user_id}".encode(), digest_size=8, person=b"kg-person"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def translate(error: BaseException, *, opening: bool = False) -> StoreError:
    """The store error for a driver error, so callers never see asyncpg's own exceptions."""
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        if state in BUSY_STATES:
            return StoreBusy("the database is busy; try again shortly")
        if state[:2] in UNAVAILABLE_CLASSES or state in UNAVAILABLE_STATES:
            return StoreUnavailable(f"the database cannot be used (SQLSTATE {state})")
        return StoreError(f"the database refused the operation (SQLSTATE {state})")
    if isinstance(error, TimeoutError):
        if opening:
            return StoreUnavailable("the database did not answer in time")
        return StoreBusy("the database did not answer in time")
    if isinstance(error, OSError | asyncpg.InterfaceError):
        return StoreUnavailable("cannot reach the database")
    return StoreError("the database refused the operation")


@contextlib.contextmanager
def translated(*, opening: bool = False) -> Iterator[None]:
    """Re-raise database errors from the enclosed calls as store errors (and only those calls' errors)."""
    try:
        yield
    except DB_ERRORS as error:
        logger.warning("database error: %s: %s", type(error).__name__, error)
        raise translate(error, opening=opening) from None


@dataclass
class PostgresTurn:
    """A turn inside one transaction that holds the person's advisory lock."""

    conn: asyncpg.Connection
    key: UserKey
    duplicate: bool
    data: UserData

    async def save(self, data: UserData) -> None:
        """Write only what changed since the turn's reads (the rows are locked, so that is what is stored)."""
        with translated():
            if data.person is not None and data.person != self.data.person:
                await self.conn.execute(SQL.upsert_person, *person_row(data.person))
            for kind, new, old in (
                (TargetKind.PERSON, data.schedule, self.data.schedule),
                (TargetKind.FOLLOWUP, data.followup, self.data.followup),
            ):
                if new is not None and new != old:
                    await self.conn.execute(SQL.upsert_schedule, *schedule_row(new))
                elif new is None and old is not None:
                    await self.conn.execute(
                        SQL.delete_own_schedule, self.key.platform, kind.value, self.key.user_id
                    )
        self.data = data

    async def forget(self) -> None:
        with translated():
            await delete_person(self.conn, self.key)
        self.data = UserData()

    async def rows(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        with translated():
            for table, sql in SQL.personal_rows.items():
                rows = await self.conn.fetch(sql, self.key.platform, self.key.user_id)
                found[table] = [plain_row(r) for r in rows]
        return found


async def delete_person(conn: asyncpg.Connection, key: UserKey) -> None:
    """Erase every row about a person; their schedule and its log go with them."""
    for sql, params in SQL.forget(key):
        await conn.execute(sql, *params)


async def read_person(conn: asyncpg.Connection, key: UserKey, *, lock: bool = False) -> UserData:
    """A person's record, schedule and check-in; with `lock`, those rows stay locked until the turn ends."""
    person = await conn.fetchrow(SQL.select_person, key.platform, key.user_id)
    own = {}
    for kind in OWN_KINDS:
        row = await conn.fetchrow(
            SQL.select_own_schedule + (SQL.row_lock if lock else ""), key.platform, kind.value, key.user_id
        )
        own[kind] = schedule_from(row) if row else None
    return UserData(
        person=person_from(person) if person else None,
        schedule=own[TargetKind.PERSON],
        followup=own[TargetKind.FOLLOWUP],
    )


# A turn's reads in one round trip, once its lock is held: record the update key (a redelivery inserts
# nothing), the person, and their own schedules locked against a dispatcher's concurrent update.
TURN_READS = """
WITH handled AS (
    INSERT INTO processed_updates (platform, update_key, user_id, handled_at)
    SELECT $1::text, $3::text, $2::text, $4::text WHERE $3::text IS NOT NULL
    ON CONFLICT DO NOTHING RETURNING 1
), own AS (
    SELECT s FROM schedules s
    WHERE s.platform = $1 AND s.target_id = $2 AND s.target_kind = ANY($5::text[]) FOR UPDATE
)
SELECT (SELECT count(*) FROM handled) AS handled,
       (SELECT p FROM people p WHERE p.platform = $1 AND p.user_id = $2) AS person,
       ARRAY(SELECT s FROM own) AS own
"""


def turn_data(row: Any) -> UserData:
    """The person and their own schedules from one `TURN_READS` row."""
    own = {TargetKind(s["target_kind"]): schedule_from(s) for s in row["own"]}
    return UserData(
        person=person_from(row["person"]) if row["person"] is not None else None,
        schedule=own.get(TargetKind.PERSON),
        followup=own.get(TargetKind.FOLLOWUP),
    )


KINDS = [kind.value for kind in OWN_KINDS]


class PostgresStore:
    """The store for several processes: a connection pool, short transactions, per-person advisory locks."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        command_timeout: float = 10.0,
        lock_timeout_ms: int = 5000,
        connect_timeout: float = 10.0,
        turn_timeout: float = 60.0,
    ) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.command_timeout = command_timeout
        self.lock_timeout_ms = lock_timeout_ms
        self.connect_timeout = connect_timeout
        self.turn_timeout = turn_timeout
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable("the store is not open")
        return self._pool

    async def open(self) -> None:
        try:
            with translated(opening=True):
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=self.min_size,
                    max_size=self.max_size,
                    command_timeout=self.command_timeout,
                    timeout=self.connect_timeout,
                    server_settings={
                        "application_name": "keepgoing",
                        # A turn waiting this long for a person's lock gives up with StoreBusy.
                        "lock_timeout": str(self.lock_timeout_ms),
                        # A hung process's open turn is ended by the server, so it frees the person's lock.
                        "idle_in_transaction_session_timeout": str(int(self.turn_timeout * 1000)),
                    },
                )
                await self._migrate()
        except ValueError:  # a malformed URL or option; its text may quote the URL, password and all
            await self.close()
            raise StoreUnavailable("the database URL is not usable") from None
        except BaseException:
            await self.close()
            raise

    async def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL keeps no per-file log a reader could open; autovacuum reclaims
        erased rows."""

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(*DB_ERRORS):
                await pool.close()

    async def _migrate(self) -> None:
        """Apply pending migrations; the advisory lock makes processes that start together take turns."""
        async with self.pool.acquire() as conn, conn.transaction():
            # A slow migration in another process is worth waiting for, whatever the turn lock timeout.
            await conn.execute("SET LOCAL lock_timeout = 0")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(TRACKING_TABLE)
            done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, migration in pending("postgres", done):
                for statement in migration:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    version,
                    utc(datetime.now(UTC)),
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A short write transaction on a pooled connection; errors from the caller's body pass unchanged."""
        with translated():
            conn = await self.pool.acquire(timeout=self.command_timeout)
        try:
            tx = conn.transaction()
            with translated():
                await tx.start()
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(*DB_ERRORS):
                    await tx.rollback()
                raise
            with translated():
                await tx.commit()
        finally:
            with contextlib.suppress(*DB_ERRORS):
                await self.pool.release(conn)

    @asynccontextmanager
    async def turn(self, key: UserKey, update_key: str | None = None) -> AsyncIterator[PostgresTurn]:
        """BEGIN and the person's lock in one round trip, the reads in one, the changed writes, COMMIT."""
        with translated():
            conn = await self.pool.acquire(timeout=self.command_timeout)
        try:
            try:
                with translated():
                    # One simple-protocol round trip; the lock key is our own integer, never input.
                    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(person_lock_key(key))})")
                    now = utc(datetime.now(UTC))
                    row = await conn.fetchrow(TURN_READS, key.platform, key.user_id, update_key, now, KINDS)
                duplicate = update_key is not None and row["handled"] == 0
                yield PostgresTurn(conn, key, duplicate, UserData() if duplicate else turn_data(row))
            except BaseException:
                with contextlib.suppress(*DB_ERRORS):
                    await conn.execute("ROLLBACK")
                raise
            with translated():
                status = await conn.execute("COMMIT")
            if status != "COMMIT":  # the server rolled it back (a failed statement was swallowed)
                raise StoreError("the turn was rolled back")
        finally:
            with contextlib.suppress(*DB_ERRORS):
                await self.pool.release(conn)

    async def load(self, key: UserKey) -> UserData:
        with translated():
            async with (
                self.pool.acquire(timeout=self.command_timeout) as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                return await read_person(conn, key)

    async def expire_inactive(self, before: datetime) -> int:
        """Erase everyone last seen before `before`, one short locked transaction per person.

        Each person's lock is taken and their inactivity re-checked before erasing, so someone who comes
        back mid-sweep (in any process) keeps their record.
        """
        cutoff = utc(before)
        with translated():
            rows = await self.pool.fetch(
                "SELECT platform, user_id FROM people WHERE last_seen_at < $1 ORDER BY last_seen_at", cutoff
            )
        removed = 0
        for row in rows:
            key = UserKey(row["platform"], row["user_id"])
            async with self.transaction() as conn:
                with translated():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", person_lock_key(key))
                    still_stale = await conn.fetchval(
                        "SELECT 1 FROM people WHERE platform = $1 AND user_id = $2 AND last_seen_at < $3",
                        key.platform,
                        key.user_id,
                        cutoff,
                    )
                    if still_stale:
                        await delete_person(conn, key)
                        removed += 1
        with translated():
            await self.pool.execute("DELETE FROM processed_updates WHERE handled_at < $1", cutoff)
        return removed

    async def prune_updates(self, before: datetime) -> int:
        with translated():
            return _count(await self.pool.execute(SQL.prune_updates, utc(before)))

    async def count_people(self) -> int:
        with translated():
            return int(await self.pool.fetchval("SELECT COUNT(*) FROM people"))

    async def table_rows_for(self, key: UserKey) -> dict[str, int]:
        counts = ", ".join(
            f"(SELECT COUNT(*) FROM {table} WHERE {platform_col} = $1 AND {id_col} = $2) AS {table}"
            for table, (platform_col, id_col) in PERSONAL_TABLES.items()
        )
        with translated():
            row = await self.pool.fetchrow(f"SELECT {counts}", key.platform, key.user_id)
        return {table: int(row[table]) for table in PERSONAL_TABLES}

    # ---- nudges ---------------------------------------------------------------------------------
    async def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int, platforms: Sequence[str]
    ) -> list[DueNudge]:
        if not platforms:
            return []
        async with self.transaction() as conn:
            with translated():
                rows = await conn.fetch(
                    SQL.claim(len(platforms)), owner, utc(lease_until), utc(now), utc(now), *platforms, limit
                )
                ids = [row["id"] for row in rows]
                found = await conn.fetch(SQL.answers_for(len(ids)), *ids) if ids else []
        return claimed(rows, found)

    async def record_nudge(self, record: NudgeRecord) -> bool:
        (log, logged), (update, moved) = SQL.record_nudge(record)
        async with self.transaction() as conn:
            with translated():
                if _count(await conn.execute(log, *logged)) != 1:
                    return False
                await conn.execute(update, *moved)
        return True

    async def retry_nudge(self, schedule_id: int, owner: str, retry_at: datetime) -> bool:
        with translated():
            return _count(await self.pool.execute(SQL.retry_nudge, utc(retry_at), schedule_id, owner)) == 1

    async def release_nudges(self, owner: str) -> int:
        with translated():
            return _count(await self.pool.execute(SQL.release_nudges, owner))

    async def earliest_due(self, platforms: Sequence[str]) -> datetime | None:
        if not platforms:
            return None
        with translated():
            return parse_time(await self.pool.fetchval(SQL.earliest_due(len(platforms)), *platforms))

    async def schedules_due_before(
        self, end: datetime, *, after_id: int = 0, limit: int = 1000, platforms: Sequence[str] | None = None
    ) -> list[DueNudge]:
        sql = SQL.due_before(None if platforms is None else len(platforms))
        with translated():
            rows = await self.pool.fetch(sql, utc(end), after_id, *(platforms or ()), limit)
        return [due_from(row) for row in rows]

    async def upsert_channel_schedule(self, schedule: Schedule) -> Schedule:
        key = channel_key(schedule)
        async with self.transaction() as conn:
            with translated():
                await conn.execute(SQL.upsert_schedule, *schedule_row(schedule))
                row = await conn.fetchrow(SQL.select_own_schedule, *key)
        assert row is not None
        return schedule_from(row)

    async def delete_channel_schedule(self, platform: str, channel_id: str) -> bool:
        async with self.transaction() as conn:
            with translated():
                for sql in SQL.forget_by_target:
                    status = await conn.execute(sql, platform, TargetKind.CHANNEL.value, channel_id)
                return _count(status) > 0  # the last DELETE is the schedule's


def _count(status: str) -> int:
    """The row count in a command status such as "UPDATE 3" or "INSERT 0 1"."""
    return int(status.split()[-1])
