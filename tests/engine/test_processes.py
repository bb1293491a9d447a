"""Two bot processes on one PostgreSQL database take turns with one person's conversation.

Each message of a whole reflection goes to one process and, redelivered with the same update key, to
the other: the conversation must come out exactly as one process alone would have had it, every update
handled once, and the stored flow complete. Nothing about a conversation may live in a process's memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchmarks.turns import script
from bot.domain import UserKey
from bot.engine import Engine
from bot.engine.reflection import REASONS
from bot.safety import CrisisDetector, ResourceBook
from bot.store import Store, store_from_url
from bot.templates import Templates
from tests.store.pg import fresh_postgres_url

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="set TEST_DATABASE_URL to a PostgreSQL server to run these",
)

ROOT = Path(__file__).resolve().parents[2]
USER = "4242"


class Worker:
    """One `tests/engine/turn_worker.py` process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str) -> Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.engine.turn_worker",
            url,
            USER,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"ready\n"
        return cls(proc)

    async def handle(self, index: int, update_key: str) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{index} {update_key}\n".encode())
        await self.proc.stdin.drain()
        return list(json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30)))

    async def stop(self) -> int:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        return await asyncio.wait_for(self.proc.wait(), 10)


@pytest.fixture
async def workers() -> AsyncIterator[tuple[str, list[Worker]]]:
    url = await fresh_postgres_url()
    started = list(await asyncio.gather(Worker.start(url), Worker.start(url)))
    try:
        yield url, started
    finally:
        for worker in started:
            if worker.proc.returncode is None:
                worker.proc.kill()
                await worker.proc.wait()


async def one_process_alone(store: Store) -> list[list[str]]:
    """The same conversation in this process, on SQLite: what the two processes must reproduce."""
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())  # as the workers
    return [[r.text for r in await engine.handle(event)] for event in script(USER)]


async def test_two_processes_alternating_keep_one_conversation_consistent(
    workers: tuple[str, list[Worker]], sqlite_store: Store
) -> None:
    url, (a, b) = workers
    conversation: list[list[str]] = []
    for index in range(len(script(USER))):
        first, second = (a, b) if index % 2 == 0 else (b, a)
        conversation.append(await first.handle(index, f"u{index}"))
        assert await second.handle(index, f"u{index}") == []  # a redelivery: already handled
    assert [await w.stop() for w in (a, b)] == [0, 0]
    assert conversation == await one_process_alone(sqlite_store)
    store: Store = store_from_url(url)
    await store.open()
    try:
        person = (await store.load(UserKey("telegram", USER))).person
        rows = await store.table_rows_for(UserKey("telegram", USER))
    finally:
        await store.close()
    assert person is not None and person.plan_at is not None and person.country == "GB"
    assert person.flow.ending == "stopped"
    assert person.flow.answers == dict.fromkeys(REASONS, "partly")
    assert rows["processed_updates"] == len(script(USER))
