"""Crash safety: a dispatcher SIGKILLed at random moments loses no nudge and doubles at most one per kill.

A separate process (tests/nudges/crash_worker.py) sends a few hundred due nudges from a SQLite file to a
fake HTTP platform served here; we kill it with SIGKILL at random moments and start it again until it
finishes, then compare what the platform received with the record.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.store import store_from_url
from bot.store.records import qmark
from tests.fakes.sink import FakePlatform
from tests.nudges.helpers import due_rows, insert_schedules

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 300
KILLS = 6


async def fill(db: Path, now: datetime) -> None:
    store = store_from_url(f"sqlite:///{db}")
    await store.open()  # migrate
    await store.close()
    with sqlite3.connect(db) as conn:
        conn.executemany(insert_schedules(qmark), due_rows(now, PEOPLE))


async def test_sigkilled_dispatcher_loses_nothing_and_doubles_at_most_one_per_kill(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    start = datetime.now(UTC)
    await fill(db, start)
    chance = random.Random(20260301)
    kills = 0
    async with FakePlatform(delay=0.03) as platform:  # slow enough that kills land mid-run
        for _ in range(KILLS * 4):
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.nudges.crash_worker", str(db), platform.url, cwd=ROOT
            )
            if kills < KILLS:
                try:
                    await asyncio.wait_for(worker.wait(), chance.uniform(0.6, 1.6))
                except TimeoutError:
                    worker.send_signal(signal.SIGKILL)
                    await worker.wait()
                    kills += 1
                    continue
            else:
                await asyncio.wait_for(worker.wait(), 120)
            if worker.returncode == 0:
                break
        else:
            raise AssertionError("the worker never finished")
        received = platform.count_by_chat()
    assert kills == KILLS
    assert set(received) == {f"p{i}" for i in range(PEOPLE)}  # every due slot delivered
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= kills, (
        duplicates
    )  # only a crash between the platform's OK and our commit can double one
    with sqlite3.connect(db) as conn:
        logged = conn.execute("SELECT outcome, COUNT(*) FROM nudge_log GROUP BY outcome").fetchall()
        pending = conn.execute("SELECT COUNT(*) FROM schedules WHERE next_due_at <= ?", (start.isoformat(),))
        assert pending.fetchone()[0] == 0
    assert logged == [("sent", PEOPLE)]  # one record per slot
