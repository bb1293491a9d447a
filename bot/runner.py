"""`keepgoing run` with platform tokens: every configured adapter on one loop, stopped cleanly on SIGTERM."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.app import background, retention_sweeper, running_engine, stop_event_on_signals
from bot.config import Settings
from bot.engine import Engine
from bot.nudges.dispatcher import Dispatcher

logger = logging.getLogger(__name__)


class PlatformAdapter(Protocol):
    """A long-running adapter: started after the engine, stopped before it (in reverse order)."""

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def configured_adapters(engine: Engine, settings: Settings) -> list[PlatformAdapter]:
    """The adapters whose tokens are set."""
    adapters: list[PlatformAdapter] = []
    if settings.telegram_token:
        from bot.adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(engine, settings))
    if settings.discord_token:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(engine, settings))
    return adapters


async def run_platforms(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; then stop adapters newest first, then the store."""
    stop = stop_event_on_signals()
    async with running_engine(settings) as engine:
        adapters = configured_adapters(engine, settings)
        started: list[PlatformAdapter] = []
        try:
            for adapter in adapters:
                await adapter.start()
                started.append(adapter)
                logger.info("%s adapter running", adapter.platform)
            senders = [a for a in started if callable(getattr(a, "send", None))]
            dispatcher = Dispatcher(engine.store, engine, senders)  # type: ignore[arg-type]
            async with background(retention_sweeper(engine), dispatcher.run()):
                await stop.wait()
                logger.info("stopping")
        finally:
            for adapter in reversed(started):
                try:
                    await adapter.stop()
                except Exception:
                    logger.exception("%s adapter did not stop cleanly", adapter.platform)
    return 0
