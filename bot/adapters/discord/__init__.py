"""Discord: slash commands, restart-proof buttons and DMs, on discord.py."""

from __future__ import annotations

from bot.adapters.discord.adapter import PLATFORM, DiscordAdapter, channel_chat, person_chat
from bot.adapters.discord.client import sync_commands
from bot.adapters.registry import OnFatal
from bot.config import Settings
from bot.engine import Engine

__all__ = ["PLATFORM", "DiscordAdapter", "build", "channel_chat", "person_chat", "sync_commands"]


def build(engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> DiscordAdapter:
    """The registry's way in (a Discord failure is raised from `start`, so `on_fatal` goes unused)."""
    return DiscordAdapter(engine, settings)
