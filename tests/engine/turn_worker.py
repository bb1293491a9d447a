"""A bot process for the several-processes test: handles the turns it is told to, on a shared database.

    python -m tests.engine.turn_worker DATABASE_URL USER

Prints "ready" once its store is open. Then each stdin line `INDEX UPDATE_KEY` is one event of USER's
scripted reflection (benchmarks/turns.py's `script`), handled with that platform update key; the reply
texts are printed back as one JSON line. Exits at the end of stdin.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace

from benchmarks.turns import script
from bot.engine import Engine
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.templates import Templates


async def main(url: str, user: str) -> int:
    store = store_from_url(url)
    await store.open()
    try:
        engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())
        events = script(user)
        print("ready", flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            index, update_key = line.split()
            replies = await engine.handle(replace(events[int(index)], update_key=update_key))
            print(json.dumps([r.text for r in replies]), flush=True)
    finally:
        await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
