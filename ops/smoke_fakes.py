"""The fake Telegram Bot API and the fake Discord (tests/fakes/) on this machine's loopback, for
ops/container-smoke and ops/compose-smoke.

Run from the checkout with the dev environment: `.venv/bin/python ops/smoke_fakes.py`. Once both listen
it prints one line, `<telegram api_url> <telegram token> <discord api_url> <discord token>`, then serves
until SIGTERM or SIGINT. A container started with `--network host` reaches them at those URLs
(TELEGRAM_API_URL, DISCORD_API_URL; the fake Discord names its own gateway), so `keepgoing run`
connects without real tokens or the internet.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.discord import FakeDiscord  # the checkout is on the path only from here
from tests.fakes.telegram import FakeTelegram


async def serve() -> None:
    """Start both fakes, print where they listen and with which tokens, stop on a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FakeTelegram() as telegram, FakeDiscord() as discord:
        print(telegram.api_url, telegram.token, discord.api_url, discord.token, flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())
