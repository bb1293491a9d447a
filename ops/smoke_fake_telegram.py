"""The fake Telegram Bot API (tests/fakes/telegram.py) on this machine's loopback, for ops/container-smoke.

Run from the checkout with the dev environment: `.venv/bin/python ops/smoke_fake_telegram.py`. It prints
one line, `<api_url> <token>`, once it listens, then serves until SIGTERM or SIGINT. A container started
with `--network host` reaches it at that URL (TELEGRAM_API_URL), so `keepgoing run --platforms telegram`
connects without a real token or the internet.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.telegram import FakeTelegram  # the checkout is on the path only from here


async def serve() -> None:
    """Start the fake, print where it listens and with which token, stop on a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FakeTelegram() as fake:
        print(fake.api_url, fake.token, flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())
