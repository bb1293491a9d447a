"""Settings from the environment (and a `.env` file): every knob an operator can turn, in one place.

The bot-wide settings are fields here; each platform's own (its token and the rest) are a section its
adapter folder defines and the platform list (`bot.platforms`) names, read with the same environment.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self, TypeVar

from dotenv import load_dotenv

from bot import platforms
from bot.logs import LOG_FORMATS
from bot.platforms import Platform

Env = Mapping[str, str]


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def whole_number(env: Env, name: str, default: int) -> int:
    """The whole number in `name`; `default` when it is empty or unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _switch(env: Env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "yes", "1"):
        return True
    if raw in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


class Section(Protocol):
    """One platform's own settings: a frozen dataclass in its adapter folder, every field with a default
    (the platform off), named by its line in `bot.platforms.PLATFORMS`."""

    @property
    def token(self) -> str:
        """Its token; empty: the platform does not run."""
        ...

    @classmethod
    def from_env(cls, env: Env) -> Self:
        """Read its variables (keeping their names: operators' .env files stay valid); ConfigError if off."""
        ...

    def rate_share(self) -> float:
        """This process's share of the platform's bot-wide rate limit (1.0: all of it)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Its values that must never reach a log line (empty ones are skipped)."""
        ...


S = TypeVar("S", bound=Section)


def section_type(platform: Platform) -> type[Section]:
    """The settings section a platform's line names, imported only now (its module, not its library)."""
    module, _, name = platform.settings.partition(":")
    kind: type[Section] = getattr(importlib.import_module(module), name)
    return kind


def parse_platforms(raw: str, what: str = "PLATFORMS") -> tuple[str, ...]:
    """A comma-separated list of platform names, lower case and each once; empty: () (every platform with
    a token). A name the platform list does not have is a ConfigError."""
    known = platforms.names()
    names = tuple(dict.fromkeys(p.strip().lower() for p in raw.split(",") if p.strip()))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{what} may name {' and '.join(known)}, got {', '.join(unknown)!r}")
    return names


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///keepgoing.db"
    default_country: str = "US"
    retention_days: int = 365
    log_level: str = "INFO"
    platforms: tuple[str, ...] = ()  # the adapters this process runs; empty: every one with a token
    ops_port: int | None = None  # the /healthz /readyz /metrics port; None: no operations server
    ops_host: str = "127.0.0.1"  # where it listens; 0.0.0.0 in a container, with the port published
    log_format: str = "text"  # or "json": one JSON object a line
    sqlite_group_commit: bool = True  # SQLite: turns arriving together share one COMMIT (one fsync)
    # Each platform's own settings by its name (see bot.platforms); a platform missing here is off.
    sections: Mapping[str, Section] = field(default_factory=dict, hash=False)

    @classmethod
    def from_env(cls, env: Env | None = None, *, dotenv: Path | None = None) -> Settings:
        """Read settings; a `.env` file in the working directory fills what the environment lacks."""
        if env is None:
            load_dotenv(dotenv or Path.cwd() / ".env", override=False)
            env = dict(os.environ)
        country = env.get("DEFAULT_COUNTRY", "US").strip().upper() or "US"
        retention = whole_number(env, "RETENTION_DAYS", 365)
        if retention < 1:
            raise ConfigError("RETENTION_DAYS must be at least 1")
        ops_port = whole_number(env, "OPS_PORT", 0) or None
        if ops_port is not None and not 0 < ops_port < 65536:
            raise ConfigError(f"OPS_PORT must be between 1 and 65535, got {ops_port}")
        log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be {' or '.join(LOG_FORMATS)}, got {log_format!r}")
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or cls.database_url,
            default_country=country,
            retention_days=retention,
            log_level=env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
            platforms=parse_platforms(env.get("PLATFORMS", "")),
            ops_port=ops_port,
            ops_host=env.get("OPS_HOST", "127.0.0.1").strip() or "127.0.0.1",
            log_format=log_format,
            sqlite_group_commit=_switch(env, "SQLITE_GROUP_COMMIT", True),
            sections={p.name: section_type(p).from_env(env) for p in platforms.PLATFORMS},
        )

    def section(self, kind: type[S]) -> S:
        """The section of type `kind` (an adapter asks for its own); its defaults when none was read."""
        found = next((s for s in self.sections.values() if isinstance(s, kind)), None)
        return found if found is not None else kind()

    def has_token(self) -> bool:
        """Whether any platform's token is set (none: `keepgoing run` starts the console chat)."""
        return any(s.token for s in self.sections.values())

    def runs(self, platform: str) -> bool:
        """Whether this process runs `platform`: its token is set and PLATFORMS (if set) names it."""
        found = self.sections.get(platform)
        token = found.token if found is not None else ""
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
        """This process's share of a platform's bot-wide rate limit: platforms count their limits per bot
        token, however many processes use it, and each process paces itself alone, so each takes an
        equal share (its section says how many share it)."""
        found = self.sections.get(platform)
        return found.rate_share() if found is not None else 1.0

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [s for section in self.sections.values() for s in section.secrets() if s]
