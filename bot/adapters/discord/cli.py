"""`keepgoing discord-sync`: the command Discord adds to the command line (see `Platform.commands`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.adapters.discord.settings import DiscordSettings
from bot.config import Settings


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    sync = sub.add_parser("discord-sync", help="upload the Discord slash commands (after they change)")
    sync.add_argument("--guild", type=int, help="to this server only (shows at once; for testing)")
    sync.set_defaults(platform_command=sync_command)


def sync_command(args: argparse.Namespace, settings: Settings) -> int:
    """Sync on request rather than at every start: global syncs are rate limited and slow to spread."""
    section = settings.section(DiscordSettings)
    guild: int | None = args.guild
    if not section.token:
        print("keepgoing: set DISCORD_TOKEN to sync the Discord commands", file=sys.stderr)
        return 2
    from bot.adapters.discord.client import SyncFailed, sync_commands

    try:
        names = asyncio.run(sync_commands(section.token, section.api_url, guild))
    except SyncFailed as error:
        print(f"keepgoing: Discord commands not synced: {error}", file=sys.stderr)
        return 1
    where = f"to server {guild}" if guild is not None else "globally (may take a while to show everywhere)"
    print(f"discord-sync: {len(names)} commands synced {where}: {', '.join(sorted(names))}")
    return 0
