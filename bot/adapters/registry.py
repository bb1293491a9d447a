"""The adapter contract, and building the adapters this process runs from the platform list.

Every platform's folder under `bot/adapters/` offers `build(engine, settings, on_fatal)`, returning an
`Adapter`, and a settings section (`bot.config.Section`); its line in `bot.platforms.PLATFORMS` names
both. Nothing here names a platform.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

from bot import platforms
from bot.config import Settings
from bot.domain import Delivery, Outgoing
from bot.engine import Engine
from bot.platforms import Platform

OnFatal = Callable[[str], None]


class Adapter(Protocol):
    """A long-running adapter: started after the engine, stopped before it (in reverse order), and the
    `Sender` its platform's nudges go through."""

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, chat_id: str, message: Outgoing) -> Delivery: ...

    def connected(self) -> bool:
        """Whether it is connected to its platform now (/readyz asks)."""
        ...


class Build(Protocol):
    """A platform folder's `build`: its adapter for this process (`on_fatal` stops the process)."""

    def __call__(self, engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> Adapter: ...


def builder(platform: Platform) -> Build:
    """The `build` of a platform's adapter folder, imported only now (its library with it)."""
    build: Build = importlib.import_module(platform.adapter).build
    return build


def configured(engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> list[Adapter]:
    """The adapters this process runs (tokens set, PLATFORMS allowing), in registry order."""
    return [builder(p)(engine, settings, on_fatal) for p in platforms.PLATFORMS if settings.runs(p.name)]
