"""Throwaway PostgreSQL databases for tests: one fresh database per store, dropped again afterwards.

Names carry their creation time (`kg_test_<unix seconds>_<hex>`), so a run can sweep up what a crashed
earlier run left behind without touching the databases of a run that is still going.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import secrets
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg

PREFIX = "kg_test_"
NAME = re.compile(rf"^{PREFIX}(\d+)_[0-9a-f]+$")
STALE_AFTER_SECONDS = 3600  # older than any test run; a younger database may belong to a run in progress

_created: list[str] = []
_swept = False


def admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        raise RuntimeError("TEST_DATABASE_URL is not set")
    return url


def url_for(database: str) -> str:
    """TEST_DATABASE_URL with its database swapped for `database` (host, user and options kept)."""
    parts = urlsplit(admin_url())
    return urlunsplit(parts._replace(path=f"/{database}"))


async def fresh_postgres_url() -> str:
    """Create an empty, uniquely named database and return its URL."""
    global _swept
    name = f"{PREFIX}{int(time.time())}_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin_url())
    try:
        if not _swept:
            _swept = True
            await _drop_stale(conn)
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    if not _created:
        atexit.register(_drop_created)
    _created.append(name)
    return url_for(name)


async def _drop_stale(conn: asyncpg.Connection) -> None:
    """Drop test databases an earlier run left behind (a run killed before its exit hook ran)."""
    cutoff = time.time() - STALE_AFTER_SECONDS
    names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", f"{PREFIX}%")
    for row in names:
        match = NAME.match(row["datname"])
        if match and int(match.group(1)) < cutoff:
            with contextlib.suppress(asyncpg.PostgresError):  # still in use: leave it
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}"')


async def _drop(names: list[str]) -> None:
    conn = await asyncpg.connect(admin_url(), timeout=5)
    try:
        for name in names:
            # FORCE ends connections a failed test left open; these databases are ours alone.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _drop_created() -> None:
    """At interpreter exit, drop the databases this run created."""
    names, _created[:] = list(_created), []
    with contextlib.suppress(Exception):  # the server may be gone; the next run sweeps what is left
        asyncio.run(_drop(names))
