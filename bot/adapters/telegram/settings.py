"""The Telegram section of the settings: TELEGRAM_* (and PORT) from the environment or `.env`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from bot.config import ConfigError, Env, whole_number


@dataclass(frozen=True)
class TelegramSettings:
    token: str = ""  # from @BotFather; empty: Telegram does not run
    api_url: str = ""  # another Bot API server; empty: the official one
    webhook_url: str = ""  # webhook mode's public URL; empty: long polling
    webhook_secret: str = ""
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    processes: int = 1  # processes running Telegram with this token, sharing its rate limit

    @classmethod
    def from_env(cls, env: Env) -> Self:
        processes = whole_number(env, "TELEGRAM_PROCESSES", 1)
        if processes < 1:
            raise ConfigError("TELEGRAM_PROCESSES must be at least 1")
        return cls(
            token=env.get("TELEGRAM_TOKEN", "").strip(),
            api_url=env.get("TELEGRAM_API_URL", "").strip().rstrip("/"),
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL", "").strip(),
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            listen_host=env.get("TELEGRAM_LISTEN_HOST", "0.0.0.0").strip() or "0.0.0.0",
            listen_port=whole_number(env, "PORT", whole_number(env, "TELEGRAM_LISTEN_PORT", 8080)),
            processes=processes,
        )

    def rate_share(self) -> float:
        """Telegram's ~30 messages a second counts per bot: each of TELEGRAM_PROCESSES takes an equal part."""
        return 1 / self.processes

    def secrets(self) -> tuple[str, ...]:
        return (self.token, self.webhook_secret)
