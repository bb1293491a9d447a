"""`keepgoing run` with platform tokens: every configured adapter on one loop, stopped cleanly on SIGTERM."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.adapters.base import PlatformStopped
from bot.adapters.registry import Adapter, configured
from bot.app import background, retention_sweeper, running_engine, stop_event_on_signals
from bot.config import ConfigError, Settings
from bot.dispatcher import Dispatcher, DispatchSettings
from bot.engine import Engine
from bot.logs import release_startup_logs
from bot.ops.server import OpsServer, Readiness
from bot.platforms import nudge_rates

logger = logging.getLogger(__name__)


def configured_adapters(
    engine: Engine, settings: Settings, on_fatal: Callable[[str], None] | None = None
) -> list[Adapter]:
    """The adapters this process runs (tokens set, PLATFORMS allowing), each paced to its rate share."""
    return configured(engine, settings, on_fatal)


def dispatch_settings(settings: Settings) -> DispatchSettings:
    """Nudge pacing per platform: this process's share of each platform's limit."""
    return DispatchSettings(rates={p: r * settings.rate_share(p) for p, r in nudge_rates().items()})


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
        readiness = Readiness(engine.store, adapters)
        ops = await start_ops(settings, readiness)
        started: list[Adapter] = []
        try:
            for adapter in adapters:
                await adapter.start()
                started.append(adapter)
                logger.info("%s adapter running", adapter.platform)
            dispatcher = Dispatcher(engine.store, engine, started, dispatch_settings(settings))
            readiness.dispatcher = dispatcher
            release_startup_logs()  # running: what start-up logged goes out now, and the rest as it comes
            async with background(retention_sweeper(engine), dispatcher.run()):
                await stop.wait()
                logger.info("stopping")
        finally:
            for adapter in reversed(started):
                try:
                    await adapter.stop()
                except Exception:
                    logger.exception("%s adapter did not stop cleanly", adapter.platform)
            if ops is not None:
                await ops.stop()
    if reasons:
        raise PlatformStopped(reasons[0])
    return 0


async def start_ops(settings: Settings, readiness: Readiness) -> OpsServer | None:
    """The /healthz /readyz /metrics server when OPS_PORT is set; a port in use is a configuration problem."""
    if settings.ops_port is None:
        return None
    server = OpsServer(readiness, host=settings.ops_host, port=settings.ops_port)
    try:
        await server.start()
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise ConfigError(
            f"OPS_PORT {settings.ops_port} on {settings.ops_host} cannot be used ({why}): choose another port"
        ) from None
    return server
