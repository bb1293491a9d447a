"""SQLite specifics: pragmas, migrations, and what happens when the file is locked or read-only."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.domain import UserKey
from bot.store import StoreBusy, StoreUnavailable, store_from_url
from bot.store.sqlite import SQLiteStore


async def test_pragmas_and_migrations(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SQLiteStore(path)
    await store.open()
    async with store.db.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    async with store.db.execute("PRAGMA secure_delete") as cur:
        assert (await cur.fetchone())[0] == 1
    await store.close()
    store = SQLiteStore(path)
    await store.open()  # applying migrations twice is harmless
    async with store.db.execute("SELECT COUNT(*) FROM schema_migrations") as cur:
        assert (await cur.fetchone())[0] >= 1
    await store.close()


async def test_locked_database_raises_busy(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SQLiteStore(path, busy_timeout_ms=100)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy):
            async with store.turn(UserKey("console", "a")):
                pass
    finally:
        other.rollback()
        other.close()
    async with store.turn(UserKey("console", "a")) as turn:  # usable again once released
        assert not turn.duplicate
    await store.close()


async def test_a_turn_alone_reads_without_a_hop_and_keeps_the_busy_timeout(tmp_path: Path) -> None:
    """With the connection thread idle, a turn's reads run on the event loop (no hop to the thread);
    BEGIN there must not wait, so it runs with no busy timeout and the configured one comes back."""
    store = SQLiteStore(tmp_path / "kg.db", busy_timeout_ms=1234)
    await store.open()
    try:
        assert store.db.idle
        posted: list[object] = []
        post = store.db.post
        store.db.post = lambda fn, *args, then: (posted.append(fn), post(fn, *args, then=then))  # type: ignore[method-assign]
        async with store.turn(UserKey("console", "a"), "update-1") as turn:
            assert not turn.duplicate
            assert posted == []  # BEGIN, the update key and the reads ran here
            assert store.db.here(lambda db: db.in_transaction)
        assert len(posted) == 1  # the writes and the COMMIT went to the thread
        assert (await (await store.db.execute("PRAGMA busy_timeout")).fetchone())[0] == 1234
    finally:
        await store.close()


async def test_a_turn_behind_another_writer_waits_on_the_thread_not_the_event_loop(tmp_path: Path) -> None:
    """Another process holds the write lock: the turn's BEGIN waits on the connection thread (up to the
    busy timeout) while the event loop keeps running, then the turn goes through once the lock is gone."""
    path = tmp_path / "kg.db"
    store = SQLiteStore(path, busy_timeout_ms=5000)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, other.rollback).start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        async with store.turn(UserKey("console", "a"), "update-1") as turn:
            assert not turn.duplicate
        assert ticks >= 10  # the loop ran while the turn waited for the lock
        assert (await (await store.db.execute("PRAGMA busy_timeout")).fetchone())[0] == 5000
    finally:
        ticker.cancel()
        other.close()
        await store.close()


async def test_unwritable_database_is_reported(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "kg.db")
    await store.open()
    await store.db.execute("PRAGMA query_only = ON")  # as a read-only file would behave, even for root
    with pytest.raises(StoreUnavailable):
        async with store.turn(UserKey("console", "a"), "u1"):
            pass
    await store.close()


async def test_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        await store_from_url(f"sqlite:///{tmp_path / 'nope' / 'kg.db'}").open()


def test_unknown_url_scheme_is_refused() -> None:
    with pytest.raises(StoreUnavailable):
        store_from_url("mysql://localhost/db")
