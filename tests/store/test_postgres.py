"""PostgreSQL specifics: several processes (here, several pools) sharing one database, and its failures."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.domain import UserData, UserKey
from bot.store import StoreBusy, StoreUnavailable
from bot.store.migrations import migrations_for
from bot.store.postgres import PostgresStore, person_lock_key
from bot.store.sqlite import SQLiteStore
from tests.store.pg import fresh_postgres_url
from tests.store.test_contract import person, save, schedule

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="set TEST_DATABASE_URL to a PostgreSQL server to run these",
)

KEY = UserKey("telegram", "42")


@pytest.fixture
async def url() -> str:
    return await fresh_postgres_url()


@pytest.fixture
async def two_stores(url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database, each with its own pool: as two bot processes would be."""
    a, b = PostgresStore(url, max_size=4), PostgresStore(url, max_size=4)
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_turns_for_one_person_are_serialised_across_processes(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two_stores
    await save(a, UserData(person(note="0")))

    async def increment(store: PostgresStore) -> None:
        async with store.turn(KEY) as turn:
            current = turn.data.person
            assert current is not None
            await asyncio.sleep(0.001)  # widen the window another process would slip into
            await turn.save(UserData(replace(current, note=str(int(current.note or 0) + 1))))

    await asyncio.gather(*(increment(a if i % 2 else b) for i in range(40)))
    loaded = await b.load(KEY)
    assert loaded.person is not None and loaded.person.note == "40"


async def test_someone_without_a_row_yet_is_serialised_too(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """Two first messages at once: the second turn waits, then sees the record the first created."""
    a, b = two_stores
    seen: list[UserData] = []

    async def first_contact(store: PostgresStore) -> None:
        async with store.turn(KEY) as turn:
            seen.append(turn.data)
            await asyncio.sleep(0.05)
            await turn.save(UserData(person()))

    await asyncio.gather(first_contact(a), first_contact(b))
    assert seen[0] == UserData()
    assert seen[1].person == person()


async def test_a_redelivered_update_is_handled_by_one_process_only(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two_stores

    async def handle(store: PostgresStore) -> bool:
        async with store.turn(KEY, "update-1") as turn:
            if not turn.duplicate:
                await turn.save(UserData(person()))
            return turn.duplicate

    duplicates = await asyncio.gather(handle(a), handle(b), handle(a), handle(b))
    assert sorted(duplicates) == [False, True, True, True]


async def test_forget_in_one_process_is_seen_by_another(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two_stores
    await save(a, UserData(person(), schedule()), update_key="u-1")
    async with b.turn(KEY) as turn:
        await turn.forget()
    assert set((await a.table_rows_for(KEY)).values()) == {0}
    assert await a.load(KEY) == UserData()


async def test_stores_opening_together_apply_migrations_once(url: str) -> None:
    stores = [PostgresStore(url, max_size=2) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        rows = await stores[0].pool.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [v for v, _ in migrations_for("postgres")]
    finally:
        for s in stores:
            await s.close()
    again = PostgresStore(url)
    await again.open()  # applying migrations twice is harmless
    await again.close()


async def test_schema_matches_sqlite(url: str, tmp_path: Path) -> None:
    """Both dialects keep the same tables and columns, so the shared row converters fit both."""
    pg = PostgresStore(url)
    lite = SQLiteStore(tmp_path / "kg.db")
    await pg.open()
    await lite.open()
    try:
        rows = await pg.pool.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        )
        pg_columns = {(r["table_name"], r["column_name"]) for r in rows}
        lite_columns = set()
        async with lite.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = [row[0] for row in await cursor.fetchall() if not row[0].startswith("sqlite_")]
        for table in tables:
            async with lite.db.execute(f"PRAGMA table_info({table})") as cursor:
                lite_columns |= {(table, row[1]) for row in await cursor.fetchall()}
        assert pg_columns == lite_columns
    finally:
        await pg.close()
        await lite.close()


async def test_a_misspelt_timestamp_is_refused(url: str) -> None:
    """The utc_time domain keeps every stored time in the one format whose text order is time order."""
    store = PostgresStore(url)
    await store.open()
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await store.pool.execute(
                "INSERT INTO processed_updates VALUES ('telegram', 'u', '1', '2026-03-01 12:00:00+01')"
            )
    finally:
        await store.close()


async def test_a_held_person_lock_times_out_as_busy(url: str) -> None:
    store = PostgresStore(url, lock_timeout_ms=100)
    await store.open()
    other = await asyncpg.connect(url)  # another process, stuck mid-turn for this person
    try:
        await other.execute("SELECT pg_advisory_lock($1)", person_lock_key(KEY))
        with pytest.raises(StoreBusy):
            async with store.turn(KEY, "u-1"):
                pass
        async with store.turn(UserKey("telegram", "someone else")) as turn:  # others are not held up
            assert not turn.duplicate
        await other.execute("SELECT pg_advisory_unlock($1)", person_lock_key(KEY))
        async with store.turn(KEY, "u-1") as turn:  # the failed turn left no trace
            assert not turn.duplicate
    finally:
        await other.close()
        await store.close()


async def test_read_only_database_is_reported(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    database = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        await store.pool.expire_connections()  # as after a failover to a read-only replica
        with pytest.raises(StoreUnavailable):
            async with store.turn(KEY, "u-1") as turn:
                await turn.save(UserData(person()))
        with pytest.raises(StoreUnavailable):
            await PostgresStore(url).open()  # and a process starting now cannot migrate it
    finally:
        await admin.close()
        await store.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_part(url: str, **parts: str) -> str:
    return urlunsplit(urlsplit(url)._replace(**parts))


@pytest.mark.parametrize("problem", ["closed port", "no such database", "no such role"])
async def test_unreachable_database_is_reported_at_open(problem: str) -> None:
    base = os.environ["TEST_DATABASE_URL"]
    host = urlsplit(base).hostname or "127.0.0.1"
    port = urlsplit(base).port or 5432
    url = {
        "closed port": with_part(base, netloc=f"postgres@127.0.0.1:{closed_port()}"),
        "no such database": with_part(base, path="/kg_no_such_database"),
        "no such role": with_part(base, netloc=f"kg_no_such_role@{host}:{port}"),
    }[problem]
    store = PostgresStore(url, connect_timeout=5)
    with pytest.raises(StoreUnavailable):
        await store.open()
    with pytest.raises(StoreUnavailable):  # and it stays cleanly closed
        await store.load(KEY)
