"""Helpers for the Discord adapter tests: the adapter against the fake Discord, and checks on what it sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.client import sync_commands
from bot.adapters.discord.settings import DiscordSettings
from bot.engine import Engine
from tests.fakes.discord import FakeDiscord, FakeGuild, InteractionRecord

ALICE = 111111111111111111
BOB = 222222222222222222
MOD = 333333333333333333
PEOPLE = (ALICE, BOB, MOD)


@dataclass
class Bot:
    """The fake Discord, one guild, and the running adapter."""

    fake: FakeDiscord
    guild: FakeGuild
    adapter: DiscordAdapter
    interactions: list[InteractionRecord] = field(default_factory=list)

    @property
    def channel(self) -> int:
        return self.guild.channel_id

    async def slash(self, user: int, name: str, *, in_guild: bool = True, **kwargs: Any) -> InteractionRecord:
        guild_id = self.guild.id if in_guild else None
        rec = await self.fake.slash(user, name, guild_id=guild_id, **kwargs)
        self.interactions.append(rec)
        return rec

    async def click(self, user: int, message: dict[str, Any], label: str) -> InteractionRecord:
        rec = await self.fake.click(user, message, custom_id_of(message, label))
        self.interactions.append(rec)
        return rec

    async def click_for_next_question(self, user: int, message: dict[str, Any], label: str) -> dict[str, Any]:
        """Click in DMs and wait for the next message with buttons (the next question)."""
        seen = len(self.fake.dm_messages(user))
        await self.click(user, message, label)
        return await self.fake.wait_for(
            lambda: next((m for m in self.fake.dm_messages(user)[seen:] if m["components"]), None)
        )

    async def dm_reply(self, user: int, text: str, *, after: int = 0) -> dict[str, Any]:
        """Wait for the bot's DM to `user` containing `text`, among messages after the first `after`."""

        def found() -> dict[str, Any] | None:
            return next((m for m in self.fake.dm_messages(user)[after:] if text in m["content"]), None)

        return await self.fake.wait_for(found)

    def all_bot_messages(self) -> list[dict[str, Any]]:
        """Everything the bot posted anywhere, ephemeral messages included."""
        channels = [*self.guild.channel_ids.values(), *(self.fake.dm_channel_id(p) for p in PEOPLE)]
        bot_id = str(self.fake.application_id)
        return [
            m
            for c in channels
            for m in self.fake.messages(c, include_ephemeral=True)
            if m["author"]["id"] == bot_id
        ]

    def public_texts(self) -> str:
        """What everyone in the guild's channels can read."""
        return "\n".join(m["content"] for c in self.guild.channel_ids.values() for m in self.fake.messages(c))

    def assert_well_behaved(self) -> None:
        """Every interaction acknowledged in time; no bot message can ping anyone."""
        for rec in self.interactions:
            assert rec.acknowledged, f"interaction {rec.id} never acknowledged"
            assert not rec.rejections, rec.rejections
        for message in self.all_bot_messages():
            assert not self.fake.would_ping(message)
            if message["content"]:
                mentions = self.fake.allowed_mentions(message)
                assert mentions is not None and mentions.get("parse") == [], mentions
            assert len(message["content"]) <= 2000


def custom_id_of(message: dict[str, Any], label: str) -> str:
    for row in message.get("components") or []:
        for component in row["components"]:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise LookupError(f"no button {label!r} on the message")


def buttons(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [row["components"] for row in message.get("components") or []]


def new_fake() -> FakeDiscord:
    return FakeDiscord(strict_commands=True)


def add_guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild(
        name="Support",
        channels=["general", "quiet"],
        members=[ALICE, BOB, {"id": MOD, "permissions": ["manage_guild"]}],
    )


@asynccontextmanager
async def running_bot(engine: Engine, fake: FakeDiscord, guild: FakeGuild) -> AsyncIterator[Bot]:
    """Sync the commands (as `keepgoing discord-sync` would), then run the adapter in this loop."""
    await sync_commands(fake.token, fake.api_url)
    settings = DiscordSettings(token=fake.token, api_url=fake.api_url)
    adapter = DiscordAdapter(engine, settings, guild_ready_timeout=0.05, ready_timeout=10)
    await adapter.start()
    try:
        yield Bot(fake, guild, adapter)
    finally:
        await adapter.stop()
