"""A dispatcher process for the crash and scale-out tests: sends every due nudge to a fake HTTP platform.

    python -m tests.nudges.crash_worker DATABASE PLATFORM_URL [--wait]

DATABASE is a SQLite file or a database URL (`postgresql://…`). With `--wait` the worker opens the store,
prints "ready" and waits for a line on stdin before it starts, so several workers can start together.
It sends as `worker-<pid>` (its lease owner, and the sender name the platform records), and exits 0
once no schedule is due any more. The tests SIGKILL it at chosen or random moments.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from bot.dispatcher import Dispatcher, DispatchSettings
from bot.engine import Engine
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.templates import Templates
from tests.fakes.sink import HttpSender

PLATFORM = "fake"
SETTINGS = DispatchSettings(lease=timedelta(seconds=1), batch=20, concurrency=1, rates={})


def owner_of(pid: int) -> str:
    return f"worker-{pid}"


async def main(database: str, url: str, wait: bool) -> int:
    store = store_from_url(database if "://" in database else f"sqlite:///{database}")
    await store.open()
    owner = owner_of(os.getpid())
    sender = HttpSender(url, PLATFORM, name=owner)
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())
    dispatcher = Dispatcher(store, engine, [sender], SETTINGS, owner=owner)
    try:
        if wait:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        while True:
            await dispatcher.run_once()
            earliest = await store.earliest_due([PLATFORM])
            if earliest is None or earliest > datetime.now(UTC) + timedelta(hours=1):
                return 0
            await asyncio.sleep(0.05)
    finally:
        await sender.close()
        await store.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], "--wait" in sys.argv[3:])))
