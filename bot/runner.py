"""`keepgoing run` with platform tokens: every configured adapter on one loop, stopped cleanly on SIGTERM."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.adapters.base import PlatformStopped
from bot.app import background, retention_sweeper, running_engine, stop_event_on_signals
from bot.config import Settings
from bot.dispatcher import DEFAULT_RATES, Dispatcher, DispatchSettings
from bot.engine import Engine

logger = logging.getLogger(__name__)


class PlatformAdapter(Protocol):
    """A long-running adapter: started after the engine, stopped before it (in reverse order)."""

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def configured_adapters(
    engine: Engine, settings: Settings, on_fatal: Callable[[str], None] | None = None
) -> list[PlatformAdapter]:
    """The adapters this process runs (tokens set, PLATFORMS allowing), each paced to its rate share."""
    adapters: list[PlatformAdapter] = []
    if settings.runs("telegram"):
        from bot.adapters.telegram import TelegramAdapter
        from bot.adapters.telegram.sending import OVERALL_RATE

        rate = OVERALL_RATE * settings.rate_share("telegram")
        adapters.append(TelegramAdapter(engine, settings, overall_rate=rate, on_fatal=on_fatal))
    if settings.runs("discord"):
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(engine, settings))
    return adapters


def dispatch_settings(settings: Settings) -> DispatchSettings:
    """Nudge pacing per platform: this process's share of each platform's limit."""
    return DispatchSettings(rates={p: r * settings.rate_share(p) for p, r in DEFAULT_RATES.items()})


async def run_platforms(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; then stop adapters newest first, then the store.

    Every process dispatches the nudges of the platforms it runs: leases keep several dispatchers from
    sending one nudge twice, and each paces to its share of the platform's limit. An adapter that cannot
    go on stops the whole process (PlatformStopped), so a supervisor or operator sees it.
    """
    settings.check_platforms()
    stop = stop_event_on_signals()
    reasons: list[str] = []

    def fatal(reason: str) -> None:
        reasons.append(reason)
        stop.set()

    async with running_engine(settings) as engine:
        adapters = configured_adapters(engine, settings, fatal)
        started: list[PlatformAdapter] = []
        try:
            for adapter in adapters:
                await adapter.start()
                started.append(adapter)
                logger.info("%s adapter running", adapter.platform)
            senders = [a for a in started if callable(getattr(a, "send", None))]
            dispatcher = Dispatcher(engine.store, engine, senders, dispatch_settings(settings))  # type: ignore[arg-type]
            async with background(retention_sweeper(engine), dispatcher.run()):
                await stop.wait()
                logger.info("stopping")
        finally:
            for adapter in reversed(started):
                try:
                    await adapter.stop()
                except Exception:
                    logger.exception("%s adapter did not stop cleanly", adapter.platform)
    if reasons:
        raise PlatformStopped(reasons[0])
    return 0
