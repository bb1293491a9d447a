"""Serving a fake platform on loopback: one place for the aiohttp start-up the fakes share."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, int]:
    """Serve `app` on an ephemeral 127.0.0.1 port; returns the runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]
