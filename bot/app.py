"""Start-up and shut-down: one asyncio loop owns the store, the engine and the adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from bot.engine import Engine, EngineSettings
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.templates import Templates

logger = logging.getLogger(__name__)

RETENTION_SWEEP_SECONDS = 3600


@asynccontextmanager
async def running_engine(settings: Settings) -> AsyncIterator[Engine]:
    """Open the store (migrating it), build the engine, and close everything on the way out."""
    store = store_from_url(settings.database_url, group_commit=settings.sqlite_group_commit)
    await store.open()
    try:
        engine = Engine(
            store,
            Templates(),
            CrisisDetector.load(),
            ResourceBook.load(),
            EngineSettings(default_country=settings.default_country, retention_days=settings.retention_days),
        )
        yield engine
    finally:
        await store.close()


async def retention_sweeper(engine: Engine) -> None:
    """Erase inactive people now and then, for as long as the bot runs."""
    while True:
        try:
            await engine.expire_inactive()
        except Exception:
            logger.exception("retention sweep failed; will retry")
        await asyncio.sleep(RETENTION_SWEEP_SECONDS)


@asynccontextmanager
async def background(*coroutines: object) -> AsyncIterator[None]:
    """Run helper tasks alongside the main work and cancel them, newest first, on the way out."""
    tasks: list[asyncio.Task[object]] = [asyncio.create_task(c) for c in coroutines]  # type: ignore[arg-type]
    try:
        yield
    finally:
        for task in reversed(tasks):
            task.cancel()
        for task in reversed(tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM (what a Procfile process gets) or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
