"""Discord: slash commands, restart-proof buttons and DMs, on discord.py.

Importing the package loads no discord.py (config reads its settings section without it); the
adapter comes with its first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.base import lazy_exports

if TYPE_CHECKING:
    from bot.adapters.discord.adapter import PLATFORM, DiscordAdapter, build, channel_chat, person_chat

__all__ = ["PLATFORM", "DiscordAdapter", "build", "channel_chat", "person_chat"]

__getattr__ = lazy_exports(__name__, "adapter", __all__)
