"""Discord: slash commands, restart-proof buttons and DMs, on discord.py."""

from __future__ import annotations

from bot.adapters.discord.adapter import PLATFORM, DiscordAdapter, channel_chat, person_chat
from bot.adapters.discord.client import sync_commands

__all__ = ["PLATFORM", "DiscordAdapter", "channel_chat", "person_chat", "sync_commands"]
