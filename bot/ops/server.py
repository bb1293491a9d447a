"""The operations port: /healthz (alive), /readyz (able to serve) and /metrics (Prometheus).

Off unless OPS_PORT is set. It binds OPS_HOST (127.0.0.1 by default: only this machine can ask; a
container sets 0.0.0.0 and publishes the port). Nothing it answers names a person or quotes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from bot.ops.metrics import exposition

logger = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0  # seconds the database gets to answer the readiness query
PROBE_PLATFORM = "ops"  # a platform no schedule has: the readiness query is an index lookup


class Queryable(Protocol):
    """The store, as far as readiness goes: one cheap indexed query."""

    async def earliest_due(self, platforms: Sequence[str]) -> Any: ...


class Connected(Protocol):
    """An adapter that can say whether it is connected to its platform."""

    platform: str

    def connected(self) -> bool: ...


class Heartbeat(Protocol):
    """The nudge dispatcher: seconds since its last pass made progress."""

    def lag(self) -> float: ...


@dataclass
class Readiness:
    """What /readyz checks: the database answers, each adapter is connected, nudges are not lagging."""

    store: Queryable
    adapters: Sequence[Connected] = ()
    dispatcher: Heartbeat | None = None
    max_lag: float = 120.0
    timeout: float = DATABASE_TIMEOUT

    async def problems(self) -> dict[str, str]:
        """Each check that fails, with a short reason (empty: ready)."""
        failing: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.store.earliest_due([PROBE_PLATFORM]), self.timeout)
        except TimeoutError:
            failing["database"] = f"no answer within {self.timeout:g} s"
        except Exception as error:  # whatever the driver raises, the database is not usable
            failing["database"] = f"not answering ({type(error).__name__})"
        for adapter in self.adapters:
            if not adapter.connected():
                failing[adapter.platform] = "not connected"
        if self.dispatcher is not None:
            lag = self.dispatcher.lag()
            if lag > self.max_lag:
                failing["nudges"] = f"last dispatcher pass {lag:.0f} s ago (limit {self.max_lag:g} s)"
        return failing


@dataclass
class OpsServer:
    """An aiohttp site on its own port, started and stopped with the process."""

    readiness: Readiness
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (tests); `bound_port` tells which
    _runner: web.AppRunner | None = field(default=None, init=False)
    bound_port: int | None = field(default=None, init=False)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        """Listen; an address already in use raises OSError (the caller reports it)."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        addresses: list[Any] = self._runner.addresses
        self.bound_port = int(addresses[0][1]) if addresses else self.port
        logger.info("ops: /healthz /readyz /metrics on %s:%d", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def _readyz(self, _request: web.Request) -> web.Response:
        failing = await self.readiness.problems()
        if failing:
            return web.json_response({"ready": False, "not_ready": failing}, status=503)
        return web.json_response({"ready": True})

    async def _metrics(self, _request: web.Request) -> web.Response:
        body, content_type = exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response
