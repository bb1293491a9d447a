"""Settings from the environment (and a `.env` file): every knob an operator can turn, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from bot.platforms import find as find_platform
from bot.platforms import names as platform_names


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _switch(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "yes", "1"):
        return True
    if raw in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


def _shard_ids(env: dict[str, str], count: int | None) -> tuple[int, ...]:
    """DISCORD_SHARD_IDS: "0,1" or "0-3" (this process's shards of DISCORD_SHARD_COUNT); empty: all."""
    raw = env.get("DISCORD_SHARD_IDS", "").replace(" ", "")
    if not raw:
        return ()
    ids: list[int] = []
    try:
        for piece in raw.split(","):
            first, _, last = piece.partition("-")
            ids.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ConfigError(f"DISCORD_SHARD_IDS must look like 0,1 or 0-3, got {raw!r}") from None
    if count is None:
        raise ConfigError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total over all processes)")
    if not ids or min(ids) < 0 or max(ids) >= count:
        raise ConfigError(f"DISCORD_SHARD_IDS must be between 0 and {count - 1}")
    return tuple(sorted(set(ids)))


PLATFORMS = platform_names()  # the platform list (bot/platforms.py)


def parse_platforms(raw: str, what: str = "PLATFORMS") -> tuple[str, ...]:
    """ "telegram,discord" -> ("telegram", "discord"); empty: () (every platform with a token)."""
    names = tuple(dict.fromkeys(p.strip().lower() for p in raw.split(",") if p.strip()))
    unknown = [n for n in names if n not in PLATFORMS]
    if unknown:
        raise ConfigError(f"{what} may name {' and '.join(PLATFORMS)}, got {', '.join(unknown)!r}")
    return names


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///keepgoing.db"
    default_country: str = "US"
    retention_days: int = 365
    log_level: str = "INFO"
    telegram_token: str = ""
    telegram_api_url: str = ""
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_listen_host: str = "0.0.0.0"
    telegram_listen_port: int = 8080
    discord_token: str = ""
    discord_api_url: str = ""
    discord_shard_count: int | None = None  # None: as many as Discord recommends, all in this process
    discord_shard_ids: tuple[int, ...] = ()  # empty: every shard of discord_shard_count
    platforms: tuple[str, ...] = ()  # the adapters this process runs; empty: every one with a token
    telegram_processes: int = 1  # processes running Telegram with this token, sharing its rate limit
    ops_port: int | None = None  # the /healthz /readyz /metrics port; None: no operations server
    ops_host: str = "127.0.0.1"  # where it listens; 0.0.0.0 in a container, with the port published
    log_format: str = "text"  # or "json": one JSON object a line
    sqlite_group_commit: bool = True  # SQLite: turns arriving together share one COMMIT (one fsync)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dotenv: Path | None = None) -> Settings:
        """Read settings; a `.env` file in the working directory fills what the environment lacks."""
        if env is None:
            load_dotenv(dotenv or Path.cwd() / ".env", override=False)
            env = dict(os.environ)
        country = env.get("DEFAULT_COUNTRY", "US").strip().upper() or "US"
        retention = _int(env, "RETENTION_DAYS", 365)
        shard_count = _int(env, "DISCORD_SHARD_COUNT", 0) or None
        if shard_count is not None and shard_count < 1:
            raise ConfigError("DISCORD_SHARD_COUNT must be at least 1")
        if retention < 1:
            raise ConfigError("RETENTION_DAYS must be at least 1")
        telegram_processes = _int(env, "TELEGRAM_PROCESSES", 1)
        ops_port = _int(env, "OPS_PORT", 0) or None
        if ops_port is not None and not 0 < ops_port < 65536:
            raise ConfigError(f"OPS_PORT must be between 1 and 65535, got {ops_port}")
        log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")
        if telegram_processes < 1:
            raise ConfigError("TELEGRAM_PROCESSES must be at least 1")
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or cls.database_url,
            default_country=country,
            retention_days=retention,
            log_level=env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
            telegram_token=env.get("TELEGRAM_TOKEN", "").strip(),
            telegram_api_url=env.get("TELEGRAM_API_URL", "").strip().rstrip("/"),
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL", "").strip(),
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            telegram_listen_host=env.get("TELEGRAM_LISTEN_HOST", "0.0.0.0").strip() or "0.0.0.0",
            telegram_listen_port=_int(env, "PORT", _int(env, "TELEGRAM_LISTEN_PORT", 8080)),
            discord_token=env.get("DISCORD_TOKEN", "").strip(),
            discord_api_url=env.get("DISCORD_API_URL", "").strip().rstrip("/"),
            discord_shard_count=shard_count,
            discord_shard_ids=_shard_ids(env, shard_count),
            platforms=parse_platforms(env.get("PLATFORMS", "")),
            telegram_processes=telegram_processes,
            ops_port=ops_port,
            ops_host=env.get("OPS_HOST", "127.0.0.1").strip() or "127.0.0.1",
            log_format=log_format,
            sqlite_group_commit=_switch(env, "SQLITE_GROUP_COMMIT", True),
        )

    def runs(self, platform: str) -> bool:
        """Whether this process runs `platform`: its token is set and PLATFORMS (if set) names it."""
        found = find_platform(platform)
        token = getattr(self, found.token) if found else ""
        return bool(token) and (not self.platforms or platform in self.platforms)

    def check_platforms(self) -> None:
        """A platform named in PLATFORMS without its token is a mistake, not something to skip quietly."""
        for platform in self.platforms:
            if not self.runs(platform):
                raise ConfigError(
                    f"{platform} is asked for (PLATFORMS or --platforms) "
                    f"but {platform.upper()}_TOKEN is not set"
                )

    def rate_share(self, platform: str) -> float:
        """This process's share of a platform's bot-wide rate limit.

        Telegram's ~30 messages a second and Discord's 50 requests a second count per bot token, however
        many processes use it, and each process paces itself alone; so each takes an equal share:
        1/TELEGRAM_PROCESSES of Telegram's, and for Discord its shards' share of DISCORD_SHARD_COUNT.
        """
        if platform == "telegram":
            return 1 / self.telegram_processes
        if platform == "discord" and self.discord_shard_ids and self.discord_shard_count:
            return len(self.discord_shard_ids) / self.discord_shard_count
        return 1.0

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [s for s in (self.telegram_token, self.discord_token, self.telegram_webhook_secret) if s]
