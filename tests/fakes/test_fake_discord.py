"""The fake Discord against the real discord.py client: connect, slash commands, limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fakes.discord import FakeDiscord, FakeGuild, point_discord_py_at

ALICE = 111111111111111111
BOB = 222222222222222222
MOD = 333333333333333333


@dataclass
class Harness:
    """A running fake plus a connected real discord.py client."""

    fake: FakeDiscord
    client: discord.Client
    tree: app_commands.CommandTree
    guild: FakeGuild
    seen: dict[str, Any] = field(default_factory=dict)


class KeepButtons(discord.ui.View):
    """A persistent view: survives restarts because of timeout=None and a fixed custom_id."""

    def __init__(self, seen: dict[str, Any]) -> None:
        super().__init__(timeout=None)
        self.seen = seen

    @discord.ui.button(label="Keep going", custom_id="kg:keep", style=discord.ButtonStyle.primary)
    async def keep(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.seen["clicked_by"] = interaction.user.id
        await interaction.response.send_message("Noted.", ephemeral=True)


def build_client(seen: dict[str, Any]) -> tuple[discord.Client, app_commands.CommandTree]:
    """A client with a few slash commands, like the real adapter would have."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.dm_messages = True
    client = discord.Client(
        intents=intents,
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
    )
    tree = app_commands.CommandTree(client)

    @tree.command(name="checkin", description="Check in")
    async def checkin(interaction: discord.Interaction, mood: str = "ok") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"Thanks, mood={mood}", ephemeral=True)

    @tree.command(name="private", description="Ephemeral answer")
    async def private(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you see this", ephemeral=True)

    @tree.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(seen.get("delay", 0.5))
        try:
            await interaction.response.send_message("late")
        except discord.HTTPException as exc:
            seen["slow_error"] = exc

    @tree.command(name="long", description="Too long")
    async def long(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("x" * 2001)
        except discord.HTTPException as exc:
            seen["long_error"] = exc
            await interaction.response.send_message("shorter", ephemeral=True)

    @tree.command(name="oops", description="Public defer, 'ephemeral' follow-up")
    async def oops(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("meant to be private", ephemeral=True)

    @tree.command(name="buttons", description="Post buttons")
    async def buttons(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Pick:", view=KeepButtons(seen))

    @tree.command(name="twice", description="Acknowledges twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        try:
            await interaction.followup.send("two")
            # Bypass discord.py's local guard to hit Discord's own 40060 answer.
            interaction.response._response_type = None
            await interaction.response.send_message("again")
        except discord.HTTPException as exc:
            seen["twice_error"] = exc

    @client.event
    async def setup_hook() -> None:
        client.add_view(KeepButtons(seen))

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.id == client.user.id:  # type: ignore[union-attr]
            return
        seen.setdefault("dms", []).append((message.author.id, message.content, message.guild))

    return client, tree


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild(
            name="Support",
            channels=["general", "quiet"],
            members=[ALICE, BOB, {"id": MOD, "permissions": ["manage_guild"]}],
        )
        with point_discord_py_at(fake):
            seen: dict[str, Any] = {}
            client, tree = build_client(seen)
            await client.login(fake.token)  # REST: /users/@me, /oauth2/applications/@me
            task = asyncio.create_task(client.connect())  # the gateway websocket
            try:
                await asyncio.wait_for(client.wait_until_ready(), 10)
                await tree.sync()
                yield Harness(fake, client, tree, guild, seen)
            finally:
                await client.close()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 5)


async def test_client_connects_and_sees_guild(harness: Harness) -> None:
    fake, client = harness.fake, harness.client
    assert client.user is not None and client.user.id == fake.application_id
    guild = client.get_guild(harness.guild.id)
    assert guild is not None and guild.name == "Support"
    assert {c.name for c in guild.text_channels} == {"general", "quiet"}
    # Without the members intent Discord sends only the bot itself in GUILD_CREATE.
    assert guild.me is not None and guild.get_member(ALICE) is None
    assert fake.intents == client.intents.value
    # discord.py asks for zlib-stream (zstd-stream if zstd is installed); the fake honours it.
    conn = fake.gateway_connections[0]
    assert conn["query"]["v"] == "10" and conn["query"]["encoding"] == "json"
    assert conn["compress"] == conn["query"]["compress"]
    assert any(r.path.endswith("/users/@me") for r in fake.requests)
    assert {c["name"] for c in fake.commands[None]} >= {"checkin", "private", "buttons"}


async def test_gateway_bot_points_at_fake(harness: Harness) -> None:
    headers = {"Authorization": f"Bot {harness.fake.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.fake.api_url}/gateway/bot", headers=headers) as resp,
    ):
        assert resp.headers["Content-Type"] == "application/json"
        data = await resp.json()
    assert data["url"] == harness.fake.gateway_url and data["shards"] == 1
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.fake.api_url}/users/@me") as resp,
    ):
        assert resp.status == 401


async def test_slash_deferred_then_followup(harness: Harness) -> None:
    fake = harness.fake
    rec = await fake.slash(ALICE, "checkin", guild_id=harness.guild.id, options={"mood": "low"})
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    callback, followup = fake.interaction_responses(rec.id)
    assert callback["kind"] == "callback" and callback["type"] == 5 and callback["ephemeral"]
    assert followup["kind"] == "followup" and followup["replaced_original"]
    assert followup["message"]["content"] == "Thanks, mood=low" and followup["ephemeral"]
    # Ephemeral: nobody else in the channel sees it.
    assert fake.messages(harness.guild.channel_id) == []


async def test_public_defer_makes_followup_public(harness: Harness) -> None:
    """Discord's rule: the first follow-up after a defer keeps the defer's visibility."""
    fake = harness.fake
    rec = await fake.slash(ALICE, "oops", guild_id=harness.guild.id)
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    followup = fake.interaction_responses(rec.id)[1]
    assert followup["data"]["flags"] & 64 and not followup["ephemeral"]
    assert [m["content"] for m in fake.messages(harness.guild.channel_id)] == ["meant to be private"]


async def test_ephemeral_response_recorded(harness: Harness) -> None:
    fake = harness.fake
    rec = await fake.slash(BOB, "private")  # in DMs
    await fake.wait_for(lambda: rec.acknowledged)
    (resp,) = fake.interaction_responses(rec.id)
    assert resp["type"] == 4 and resp["ephemeral"]
    assert resp["data"]["flags"] & 64
    assert resp["data"]["allowed_mentions"] == {"parse": []}
    assert not fake.would_ping(resp["message"])


async def test_late_response_gets_unknown_interaction(harness: Harness) -> None:
    fake = harness.fake
    fake.interaction_timeout = 0.3
    harness.seen["delay"] = 0.5
    rec = await fake.slash(ALICE, "slow", guild_id=harness.guild.id)
    err = await fake.wait_for(lambda: harness.seen.get("slow_error"), timeout=5)
    assert isinstance(err, discord.NotFound) and err.code == 10062
    assert not rec.acknowledged and rec.rejections[0]["code"] == 10062


async def test_double_acknowledge_rejected(harness: Harness) -> None:
    fake = harness.fake
    await fake.slash(ALICE, "twice", guild_id=harness.guild.id)
    err = await fake.wait_for(lambda: harness.seen.get("twice_error"))
    assert isinstance(err, discord.HTTPException) and err.status == 400 and err.code == 40060


async def test_too_long_content_rejected(harness: Harness) -> None:
    fake = harness.fake
    rec = await fake.slash(ALICE, "long", guild_id=harness.guild.id)
    err = await fake.wait_for(lambda: harness.seen.get("long_error"))
    assert isinstance(err, discord.HTTPException) and err.status == 400 and err.code == 50035
    assert "2000" in str(err)
    await fake.wait_for(lambda: rec.acknowledged)
    with pytest.raises(discord.HTTPException) as info:
        await harness.client.get_channel(harness.guild.channel_id).send("y" * 2001)  # type: ignore[union-attr]
    assert info.value.status == 400


async def test_dm_to_closed_user_is_forbidden(harness: Harness) -> None:
    fake, client = harness.fake, harness.client
    fake.close_dms(BOB)
    user = await client.fetch_user(BOB)
    with pytest.raises(discord.Forbidden) as info:
        await user.send("hello")
    assert info.value.code == 50007
    fake.open_dms(BOB)
    await user.send("hello again")
    assert [m["content"] for m in fake.dm_messages(BOB)] == ["hello again"]


async def test_forced_429_is_retried(harness: Harness) -> None:
    fake, client = harness.fake, harness.client
    user = await client.fetch_user(ALICE)
    fake.force_429(2, retry_after=0.05)
    before = len(fake.requests)
    msg = await user.send("after the rate limit")
    statuses = [r.status for r in fake.requests[before:]]
    assert statuses.count(429) == 2 and statuses[-1] == 200
    assert msg.content == "after the rate limit"
    assert fake.allowed_mentions(fake.dm_messages(ALICE)[-1]) == {"parse": []}


async def test_persistent_button_click(harness: Harness) -> None:
    fake = harness.fake
    rec = await fake.slash(ALICE, "buttons", guild_id=harness.guild.id)
    await fake.wait_for(lambda: rec.acknowledged)
    (posted,) = fake.messages(harness.guild.channel_id)
    assert posted["components"][0]["components"][0]["custom_id"] == "kg:keep"
    click = await fake.click(BOB, posted, "kg:keep")
    await fake.wait_for(lambda: click.acknowledged)
    assert harness.seen["clicked_by"] == BOB
    assert fake.interaction_responses(click.id)[0]["ephemeral"]
    with pytest.raises(LookupError):
        await fake.click(BOB, posted, "kg:nope")


async def test_on_message_sees_dm(harness: Harness) -> None:
    fake = harness.fake
    await fake.dm(ALICE, "I had a hard day")
    dms = await fake.wait_for(lambda: harness.seen.get("dms"))
    assert dms == [(ALICE, "I had a hard day", None)]


async def test_would_ping_and_mentions() -> None:
    async with FakeDiscord() as fake:
        guild = fake.add_guild(members=[ALICE])
        cid = guild.channel_id
        store = fake._store_message
        loud = store(cid, fake.bot_user, {"content": "hi @everyone"})
        quiet = store(cid, fake.bot_user, {"content": "hi @everyone", "allowed_mentions": {}})
        user = store(cid, fake.bot_user, {"content": f"<@{ALICE}>", "allowed_mentions": {"users": [ALICE]}})
        role = store(cid, fake.bot_user, {"content": "<@&123456789012345678>"})
        assert fake.would_ping(loud) and not fake.would_ping(quiet)
        assert fake.would_ping(user) and fake.would_ping(role)


async def test_limits_without_client() -> None:
    """Direct REST checks: component limits, command names, auth."""
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        guild = fake.add_guild(members=[ALICE])
        headers = {"Authorization": f"Bot {fake.token}"}
        url = f"{fake.api_url}/channels/{guild.channel_id}/messages"
        button = {"type": 2, "style": 1, "label": "ok", "custom_id": "x" * 101}
        body = {"content": "hi", "components": [{"type": 1, "components": [button]}]}
        async with session.post(url, json=body, headers=headers) as resp:
            assert resp.status == 400
            assert "custom_id" in (await resp.json())["errors"]["components"]["0"]["components"]["0"]
        rows = [{"type": 1, "components": [{**button, "custom_id": f"b{i}"}]} for i in range(6)]
        async with session.post(url, json={"components": rows}, headers=headers) as resp:
            assert resp.status == 400
        async with session.post(url, json={"content": ""}, headers=headers) as resp:
            assert (await resp.json())["code"] == 50006
        cmds_url = f"{fake.api_url}/applications/{fake.application_id}/commands"
        async with session.put(
            cmds_url, json=[{"name": "Check In", "description": "x"}], headers=headers
        ) as resp:
            assert resp.status == 400
        async with session.post(url, json={"content": "hi"}) as resp:
            assert resp.status == 401


async def test_autosharded_client_finds_gateway_via_rest() -> None:
    """AutoShardedClient reads GET /gateway/bot, so Route.BASE alone is enough for it."""
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    async with FakeDiscord() as fake:
        fake.add_guild(members=[ALICE])
        old = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = fake.api_url
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("ws://127.0.0.1:9/")  # must not be used
        client = discord.AutoShardedClient(
            intents=discord.Intents(guilds=True, dm_messages=True), guild_ready_timeout=0.05
        )
        task: asyncio.Task[None] | None = None
        try:
            await client.login(fake.token)
            task = asyncio.create_task(client.connect())
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert len(client.guilds) == 1 and fake.identify_payloads[0]["shard"] == [0, 1]
        finally:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old
            await client.close()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 5)
