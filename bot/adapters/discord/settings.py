"""The Discord section of the settings: DISCORD_* from the environment or `.env`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from bot.config import ConfigError, Env, whole_number


def _shard_ids(env: Env, count: int | None) -> tuple[int, ...]:
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


@dataclass(frozen=True)
class DiscordSettings:
    token: str = ""  # from the Discord developer portal; empty: Discord does not run
    api_url: str = ""  # another API base (a proxy or a test fake); empty: the official one
    shard_count: int | None = None  # None: as many as Discord recommends, all in this process
    shard_ids: tuple[int, ...] = ()  # empty: every shard of shard_count

    @classmethod
    def from_env(cls, env: Env) -> Self:
        shard_count = whole_number(env, "DISCORD_SHARD_COUNT", 0) or None
        if shard_count is not None and shard_count < 1:
            raise ConfigError("DISCORD_SHARD_COUNT must be at least 1")
        return cls(
            token=env.get("DISCORD_TOKEN", "").strip(),
            api_url=env.get("DISCORD_API_URL", "").strip().rstrip("/"),
            shard_count=shard_count,
            shard_ids=_shard_ids(env, shard_count),
        )

    def rate_share(self) -> float:
        """Discord's 50 requests a second counts per bot: a process takes its shards' part of them all."""
        if self.shard_ids and self.shard_count:
            return len(self.shard_ids) / self.shard_count
        return 1.0

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)
