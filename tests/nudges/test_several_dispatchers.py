"""Several dispatcher processes on one PostgreSQL database share the nudges: each sent once, none lost.

Three `tests/nudges/crash_worker.py` processes send 1,000 due nudges to a fake HTTP platform; in the
second test one of them is SIGKILLed in the middle of a send, and the others finish its claims once its
(one-second) lease has run out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.store import store_from_url
from bot.store.records import numbered
from tests.fakes.sink import FakePlatform
from tests.nudges.crash_worker import owner_of
from tests.nudges.helpers import due_rows, insert_schedules
from tests.store.pg import fresh_postgres_url

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="set TEST_DATABASE_URL to a PostgreSQL server to run these",
)

ROOT = Path(__file__).resolve().parents[2]
NUDGES = 1_000
WORKERS = 3


@pytest.fixture
async def database() -> AsyncIterator[tuple[str, datetime]]:
    """A fresh database with NUDGES schedules due now; yields (url, when they were made due)."""
    url = await fresh_postgres_url()
    store = store_from_url(url)
    await store.open()  # migrate
    await store.close()
    start = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(insert_schedules(numbered), due_rows(start, NUDGES))
    finally:
        await conn.close()
    yield url, start


async def start_workers(url: str, platform: FakePlatform) -> list[asyncio.subprocess.Process]:
    """Start the workers, wait until each has its store open, then let them all go at once."""
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.nudges.crash_worker",
            url,
            platform.url,
            "--wait",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    return workers


async def finished(workers: list[asyncio.subprocess.Process]) -> list[int]:
    try:
        return list(await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 60))
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()


async def logged(url: str, start: datetime) -> tuple[list[tuple[str, int]], int]:
    """(outcome, count) rows of the nudge log, and how many slots up to `start` are still pending."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT outcome, COUNT(*) FROM nudge_log GROUP BY outcome")
        pending = await conn.fetchval(
            "SELECT COUNT(*) FROM schedules WHERE next_due_at <= $1", start.isoformat(timespec="microseconds")
        )
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows], int(pending)


async def test_three_dispatcher_processes_send_every_nudge_exactly_once(
    database: tuple[str, datetime],
) -> None:
    url, start = database
    async with FakePlatform() as platform:
        workers = await start_workers(url, platform)
        assert await finished(workers) == [0] * WORKERS
        received = platform.count_by_chat()
        senders = Counter(r.sender for r in platform.received)
    assert set(received) == {f"p{i}" for i in range(NUDGES)}
    assert set(received.values()) == {1}  # exactly once each
    assert set(senders) == {owner_of(w.pid) for w in workers}  # all three did part of the work
    assert await logged(url, start) == ([("sent", NUDGES)], 0)


async def test_a_killed_dispatchers_claims_are_finished_by_the_others(database: tuple[str, datetime]) -> None:
    url, start = database
    async with FakePlatform(delay=0.001) as platform:
        workers = await start_workers(url, platform)
        victim = workers[0]
        name = owner_of(victim.pid)
        while sum(r.sender == name for r in platform.received) < 20:  # well into its share
            await asyncio.sleep(0.01)
        platform.stall(name)  # its next nudge is delivered, but the OK never reaches it
        await asyncio.wait_for(platform.stalled_one.wait(), 10)
        conn = await asyncpg.connect(url)
        try:
            victim.send_signal(signal.SIGKILL)
            assert await victim.wait() == -signal.SIGKILL
            held = {r[0] for r in await conn.fetch("SELECT id FROM schedules WHERE lease_owner = $1", name)}
            assert held  # at least the nudge it was sending: these must be taken over
            codes = await finished(workers[1:])
            taken_over = await conn.fetchval(
                "SELECT COUNT(*) FROM nudge_log WHERE schedule_id = ANY($1::bigint[]) AND outcome = 'sent'",
                list(held),
            )
        finally:
            await conn.close()
        received = platform.count_by_chat()
        [stalled] = platform.stalled
    assert codes == [0] * (WORKERS - 1)
    assert taken_over == len(held)
    assert set(received) == {f"p{i}" for i in range(NUDGES)}  # nothing lost
    doubled = {chat: n for chat, n in received.items() if n > 1}
    assert doubled == {stalled.chat_id: 2}  # the one delivered before the kill, sent again: no other
    assert await logged(url, start) == ([("sent", NUDGES)], 0)
