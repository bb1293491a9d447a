"""SQLite specifics: pragmas, migrations, and what happens when the file is locked or read-only."""

from __future__ import annotations

import sqlite3
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
