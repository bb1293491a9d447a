"""A dispatcher process for the crash test: sends every due nudge in a SQLite file to a fake HTTP platform.

    python -m tests.nudges.crash_worker DB_PATH PLATFORM_URL

Exits 0 once no schedule is due any more. The crash test SIGKILLs it at random moments and starts it again.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from bot.engine import Engine
from bot.nudges.dispatcher import Dispatcher, DispatchSettings
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.templates import Templates
from tests.fakes.sink import HttpSender

PLATFORM = "fake"
SETTINGS = DispatchSettings(lease=timedelta(seconds=1), batch=20, concurrency=1, rates={})


async def main(db: str, url: str) -> int:
    store = store_from_url(f"sqlite:///{db}")
    await store.open()
    sender = HttpSender(url, PLATFORM)
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())
    dispatcher = Dispatcher(store, engine, [sender], SETTINGS, owner=f"worker-{os.getpid()}")
    try:
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
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
