"""The stores a benchmark runs on: SQLite always, PostgreSQL too when BENCH_DATABASE_URL is set.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m benchmarks turns nudges
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test BENCH_QUICK=1 python -m benchmarks.nudges

(TEST_DATABASE_URL, the tests' server, serves when BENCH_DATABASE_URL is not set.)

Each measurement gets a new empty database (a SQLite file in a temporary folder, or a PostgreSQL database
created on that server and dropped afterwards), filled in bulk outside the store, so figures for the two
stores come from the same rows and the same code.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.store import Store, store_from_url
from bot.store.records import Mark, marks, numbered, qmark


class SQLiteTarget:
    name = "SQLite"
    mark: Mark = staticmethod(qmark)

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def create(self, label: str) -> str:
        return f"sqlite:///{self.folder / f'{label}.db'}"

    async def run(self, url: str, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.executemany(sql, rows)

    async def load(self, url: str, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        values = marks(self.mark, 1, len(columns))
        await self.run(url, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows)

    async def close(self) -> None:
        """The temporary folder goes with its owner."""


class PostgresTarget:
    name = "PostgreSQL"
    mark: Mark = staticmethod(numbered)

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    async def create(self, label: str) -> str:
        name = f"kg_bench_{int(time.time())}_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))

    async def run(self, url: str, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.executemany(sql, rows)
        finally:
            await conn.close()

    async def load(self, url: str, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
            await conn.execute(f"ANALYZE {table}")  # as autovacuum would soon after a bulk load
        finally:
            await conn.close()

    async def close(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.created.clear()


Target = SQLiteTarget | PostgresTarget


def postgres_url() -> str:
    """The PostgreSQL server to measure on: BENCH_DATABASE_URL, else the tests' TEST_DATABASE_URL."""
    return (os.environ.get("BENCH_DATABASE_URL", "") or os.environ.get("TEST_DATABASE_URL", "")).strip()


def targets(folder: Path) -> list[Target]:
    """SQLite, and PostgreSQL when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server (any
    database we may create databases from)."""
    url = postgres_url()
    return [SQLiteTarget(folder), *([PostgresTarget(url)] if url else [])]


async def empty_store(target: Target, label: str) -> tuple[str, Store]:
    """A new database with the schema in place (the store migrates it), and its URL; the store is closed."""
    url = await target.create(label)
    store = store_from_url(url)
    await store.open()
    await store.close()
    return url, store


def quick() -> bool:
    """BENCH_QUICK=1: the smaller sizes (as `python -m benchmarks` documents)."""
    return os.environ.get("BENCH_QUICK", "").strip() not in ("", "0")
