"""A made-up platform for the registry tests: one module with its settings section and its adapter, as a
new platform's folder would have; `PIGEON` is the line the registry would get."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from bot.adapters.registry import OnFatal
from bot.config import ConfigError, Env, Settings, whole_number
from bot.domain import Delivery, Markup, Outgoing
from bot.engine import Engine
from bot.platforms import Platform

PLATFORM = "pigeon"
PIGEON = Platform(
    PLATFORM,
    Markup.PLAIN,
    text_limit=500,
    rate=5.0,
    adapter="tests.adapters.pigeon",
    settings="tests.adapters.pigeon:PigeonSettings",
    payload_bytes=3,
)
FAREWELL = "pigeon: the loft closed"


@dataclass(frozen=True)
class PigeonSettings:
    token: str = ""
    lofts: int = 1  # processes sharing the token

    @classmethod
    def from_env(cls, env: Env) -> Self:
        lofts = whole_number(env, "PIGEON_LOFTS", 1)
        if lofts < 1:
            raise ConfigError("PIGEON_LOFTS must be at least 1")
        return cls(token=env.get("PIGEON_TOKEN", "").strip(), lofts=lofts)

    def rate_share(self) -> float:
        return 1 / self.lofts

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)


@dataclass
class PigeonAdapter:
    settings: PigeonSettings
    on_fatal: OnFatal | None
    platform: str = PLATFORM
    events: list[str] = field(default_factory=list)

    async def start(self) -> None:
        """Starts, then tells the runner it cannot go on (so a test's `run_platforms` returns)."""
        self.events.append("start")
        if self.on_fatal is not None:
            self.on_fatal(FAREWELL)

    async def stop(self) -> None:
        self.events.append("stop")

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        return Delivery.SENT

    def connected(self) -> bool:
        return True


BUILT: list[PigeonAdapter] = []


def build(engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> PigeonAdapter:
    adapter = PigeonAdapter(settings.section(PigeonSettings), on_fatal)
    BUILT.append(adapter)
    return adapter
