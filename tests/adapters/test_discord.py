"""The Discord adapter end to end: the real discord.py client against the fake Discord (REST + gateway)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bot.adapters.base import Delivery
from bot.adapters.discord import DiscordAdapter, channel_chat, person_chat
from bot.adapters.discord.client import descriptions as _descriptions
from bot.adapters.discord.layout import CUSTOM_ID_LIMIT, custom_id, pack_rows, parts
from bot.adapters.discord.settings import DiscordSettings
from bot.config import ConfigError, Settings
from bot.domain import Button, Markup, Outgoing, TargetKind
from bot.engine import Engine
from bot.engine.reflection import country_choices
from tests.adapters.discord_helpers import (
    ALICE,
    BOB,
    MOD,
    Bot,
    add_guild,
    buttons,
    custom_id_of,
    new_fake,
    running_bot,
)
from tests.fakes.discord import FakeDiscord

REPO = Path(__file__).resolve().parents[2]
CRISIS = "I want to kill myself"
SLOW = 0.3  # seconds each new bot message takes on the slow fake


@pytest.fixture
async def bot(engine: Engine) -> AsyncIterator[Bot]:
    async with new_fake() as fake:
        guild = add_guild(fake)
        async with running_bot(engine, fake, guild) as running:
            yield running


async def test_reflection_from_a_server_continues_in_dms_to_the_plan(bot: Bot) -> None:
    fake = bot.fake
    start = await bot.slash(ALICE, "start")
    await fake.wait_for(lambda: len(start.responses) >= 2)
    callback, notice = fake.interaction_responses(start.id)[:2]
    assert callback["type"] == 5 and callback["ephemeral"]  # acknowledged at once, privately
    assert notice["ephemeral"] and "sent you a private message" in notice["message"]["content"]
    assert f"/channels/@me/{fake.dm_channel_id(ALICE)}" in notice["message"]["content"]
    welcome = await bot.dm_reply(ALICE, "Shall we begin?")

    await bot.click(ALICE, welcome, "Yes, let's begin")
    country = await bot.dm_reply(ALICE, "which country")
    assert [len(row) for row in buttons(country)] == [3, 3, 3, 2, 2]  # 13 buttons in 5 rows
    pressed = fake.message(int(welcome["id"]))
    assert all(b["disabled"] for row in buttons(pressed) for b in row)  # can't be pressed twice
    with pytest.raises(LookupError):
        await fake.click(ALICE, pressed, custom_id_of(pressed, "Yes, let's begin"))

    question = country
    for answer in ["Ireland", "I stopped going", *["Not really"] * 5]:
        question = await bot.click_for_next_question(ALICE, question, answer)
    await bot.click(ALICE, question, "Yes, that fits")
    await bot.dm_reply(ALICE, "Here is your plan")
    plan = await bot.dm_reply(ALICE, "practical barriers")
    assert plan["content"]
    assert bot.public_texts() == ""  # nothing of the conversation in the server
    bot.assert_well_behaved()


async def test_closed_dms_continue_ephemerally_and_nothing_is_public(bot: Bot) -> None:
    fake = bot.fake
    fake.close_dms(BOB)
    start = await bot.slash(BOB, "start")
    await fake.wait_for(lambda: len(start.responses) >= 3)
    responses = fake.interaction_responses(start.id)
    assert all(r["ephemeral"] for r in responses)
    assert "couldn't send you a private message" in responses[1]["message"]["content"]
    welcome = responses[2]["message"]
    assert "Shall we begin?" in welcome["content"]

    click = await bot.click(BOB, welcome, "Yes, let's begin")
    await fake.wait_for(lambda: any("which country" in r["message"]["content"] for r in click.responses[1:]))
    assert all(r["ephemeral"] for r in fake.interaction_responses(click.id))
    country = next(r["message"] for r in click.responses if "which country" in r["message"]["content"])
    click = await bot.click(BOB, country, "United Kingdom")
    await fake.wait_for(lambda: any(r["message"]["components"] for r in click.responses[1:]))
    assert all(r["ephemeral"] for r in fake.interaction_responses(click.id))

    assert fake.dm_messages(BOB) == []
    assert fake.messages(bot.channel) == []  # nothing personal was ever posted publicly
    bot.assert_well_behaved()


async def test_a_button_keeps_working_after_a_restart(engine: Engine) -> None:
    async with new_fake() as fake:
        guild = add_guild(fake)
        async with running_bot(engine, fake, guild) as first:
            await first.slash(ALICE, "start", in_guild=False)
            welcome = await first.dm_reply(ALICE, "Shall we begin?")
        async with running_bot(engine, fake, guild) as second:  # a new client: nothing in memory
            await second.click(ALICE, welcome, "Yes, let's begin")
            await second.dm_reply(ALICE, "which country")
            second.assert_well_behaved()


async def test_commands_in_dms_are_answered_in_the_dm(bot: Bot) -> None:
    fake = bot.fake
    rec = await bot.slash(ALICE, "help", in_guild=False)
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    callback, answer = fake.interaction_responses(rec.id)[:2]
    assert not callback["ephemeral"] and not answer["ephemeral"]
    assert "/start" in answer["message"]["content"]
    assert answer["message"]["channel_id"] == str(fake.dm_channel_id(ALICE))
    bot.assert_well_behaved()


async def test_typed_text_commands_files_and_mydata_in_dms(bot: Bot) -> None:
    fake = bot.fake
    await fake.dm(ALICE, "/start")
    welcome = await bot.dm_reply(ALICE, "Shall we begin?")
    await fake.dm(ALICE, "Yes, let's begin")  # typing a button's label works like pressing it
    await bot.dm_reply(ALICE, "which country")
    seen = len(fake.dm_messages(ALICE))
    await fake.dm(ALICE, "/mydata")
    export = await fake.wait_for(
        lambda: next((m for m in fake.dm_messages(ALICE)[seen:] if m["attachments"]), None)
    )
    assert export["attachments"][0]["filename"] == "keepgoing-my-data.json"
    assert welcome["components"]
    bot.assert_well_behaved()


async def test_a_crisis_message_in_dms_gets_resources(bot: Bot) -> None:
    await bot.fake.dm(ALICE, "i dont want to be alive anymore")
    reply = await bot.dm_reply(ALICE, "Are you safe right now?")
    assert "Samaritans" in reply["content"] and "116 123" in reply["content"]  # the engine's default: GB
    assert custom_id_of(reply, "I'm safe right now").startswith("kg:")
    bot.assert_well_behaved()


async def test_a_crisis_reply_goes_before_everything_still_waiting(bot: Bot) -> None:
    """The plan and four more replies are queued for a slow DM; the crisis reply must not wait for them."""
    fake = bot.fake
    await fake.dm(ALICE, "/start")
    question = await bot.dm_reply(ALICE, "Shall we begin?")
    for answer in ["Yes, let's begin", "Ireland", "I stopped going", *["Not really"] * 5]:
        question = await bot.click_for_next_question(ALICE, question, answer)
    fake.message_delay = SLOW
    seen = len(fake.dm_messages(ALICE))
    dm = fake.dm_channel_id(ALICE)

    def posts() -> list[str]:
        """Every new message the bot asked for in the DM: channel messages and (button) follow-ups."""
        paths = (f"/api/v10/channels/{dm}/messages", "/api/v10/webhooks/")
        return [
            str((r.json or {}).get("content", ""))
            for r in fake.requests
            if r.method == "POST" and r.path.startswith(paths)
        ]

    before_plan = len(posts())
    await bot.click(ALICE, question, "Partly")
    await fake.wait_for(lambda: any("Here is your plan" in text for text in posts()[before_plan:]))
    for command in ("/plan", "/help", "/plan", "/privacy"):  # four more replies queue up behind the plan
        await fake.dm(ALICE, command)
    await bot.dm_reply(ALICE, "Here is your plan", after=seen)
    sent_at = time.monotonic()
    await fake.dm(ALICE, CRISIS)
    crisis = await bot.dm_reply(ALICE, "Are you safe right now", after=seen)
    delay = fake.sent_at(crisis) - sent_at
    print(f"discord: crisis reply {delay:.3f} s after the message")
    assert delay < 1.0
    new = fake.dm_messages(ALICE)[seen:]
    before = new[: new.index(crisis)]
    assert "Here is your plan" in before[0]["content"]
    assert len(before) <= 2  # the plan, and at most the one already on the wire

    await asyncio.sleep(3 * SLOW + 1.5)  # time for anything still queued to show up
    assert fake.dm_messages(ALICE)[-1] == crisis  # the stale replies were dropped, not sent late
    assert "Are you safe right now" in posts()[-1]  # nothing queued was even tried after it
    assert bot.adapter.outbox.dropped >= 2
    bot.assert_well_behaved()


async def test_everyone_in_a_note_never_pings(bot: Bot) -> None:
    fake = bot.fake
    await fake.dm(ALICE, "/start")
    welcome = await bot.dm_reply(ALICE, "Shall we begin?")
    await bot.click(ALICE, welcome, "Yes, let's begin")
    await bot.dm_reply(ALICE, "which country")
    role = f"<@&{bot.guild.role_ids['@everyone'] + 1}>"
    seen = len(fake.dm_messages(ALICE))
    await fake.dm(ALICE, f"/note @everyone @here {role} <@{BOB}> keep going")
    await fake.wait_for(lambda: len(fake.dm_messages(ALICE)) > seen)
    rec = await bot.slash(ALICE, "note", in_guild=False)
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    shown = fake.interaction_responses(rec.id)[1]["message"]
    assert "keep going" in shown["content"] and "@everyone" not in shown["content"]
    bot.assert_well_behaved()  # every message: no ping, allowed_mentions parse []


async def test_long_replies_are_split_under_the_limit(bot: Bot) -> None:
    fake = bot.fake
    text = ("A sentence about small steps. " * 40 + "\n\n") * 4  # about 4,800 characters
    reply = Outgoing(text, ((Button("Keep going", "1|*|resume"),),))
    assert await bot.adapter.send(person_chat(ALICE), reply) is Delivery.SENT
    sent = fake.dm_messages(ALICE)
    assert len(sent) >= 3 and all(len(m["content"]) <= 2000 for m in sent)
    assert " ".join(m["content"] for m in sent).split() == text.split()  # nothing lost
    assert [bool(m["components"]) for m in sent] == [False] * (len(sent) - 1) + [True]  # buttons last
    bot.assert_well_behaved()


async def test_rate_limits_are_waited_out(bot: Bot) -> None:
    fake = bot.fake
    fake.force_429(2, retry_after=0.05)
    rec = await bot.slash(ALICE, "start")
    await bot.dm_reply(ALICE, "Shall we begin?")
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    assert any(r.status == 429 for r in fake.requests)
    bot.assert_well_behaved()


async def test_send_to_people_and_channels(bot: Bot) -> None:
    fake, adapter = bot.fake, bot.adapter
    hello = Outgoing("Thinking of you this week.")
    assert await adapter.send(person_chat(BOB), hello) is Delivery.SENT
    assert fake.dm_messages(BOB)[-1]["content"] == "Thinking of you this week."
    assert await adapter.send(channel_chat(bot.channel), hello) is Delivery.SENT
    assert fake.messages(bot.channel)[-1]["content"] == "Thinking of you this week."
    # A bare number is a person, never a channel: a person's nudge can't land in a server.
    assert await adapter.send(str(bot.channel), hello) is Delivery.UNREACHABLE
    assert len(fake.messages(bot.channel)) == 1
    fake.close_dms(BOB)
    assert await adapter.send(person_chat(BOB), hello) is Delivery.UNREACHABLE
    assert await adapter.send(channel_chat(123456789012345678), hello) is Delivery.UNREACHABLE
    assert await adapter.send("nonsense", hello) is Delivery.UNREACHABLE
    bot.assert_well_behaved()


async def test_encourage_posts_a_general_encouragement_publicly(bot: Bot) -> None:
    fake = bot.fake
    first = await bot.slash(ALICE, "encourage")
    second = await bot.slash(BOB, "encourage")
    await fake.wait_for(lambda: first.acknowledged and second.acknowledged)
    posted = fake.messages(bot.channel)
    assert len(posted) == 2 and posted[0]["content"] != posted[1]["content"]  # rotates
    assert not any(r["ephemeral"] for r in first.responses)
    templates = bot.adapter.engine.templates
    pool = {
        templates.render(n, "en", Markup.MARKDOWN)
        for n in templates.template_names()
        if n.startswith("community/encourage_")
    }
    assert {m["content"] for m in posted} <= pool
    bot.assert_well_behaved()


async def test_resources_are_shown_only_to_the_asker(bot: Bot) -> None:
    rec = await bot.slash(BOB, "resources")
    await bot.fake.wait_for(lambda: rec.acknowledged)
    (answer,) = bot.fake.interaction_responses(rec.id)
    assert answer["ephemeral"] and "988" in answer["message"]["content"]  # no person: the locale's lines
    assert bot.fake.messages(bot.channel) == []
    bot.assert_well_behaved()


async def test_setup_by_an_admin_stores_a_channel_schedule(bot: Bot, engine: Engine) -> None:
    fake = bot.fake
    rec = await bot.slash(MOD, "setup")
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    assert "Once a week" in fake.interaction_responses(rec.id)[1]["message"]["content"]
    due = await engine.store.schedules_due_before(engine.clock() + timedelta(days=8))
    (found,) = [d.schedule for d in due if d.schedule.target_kind is TargetKind.CHANNEL]
    assert found.platform == "discord" and found.target_id == str(bot.channel)
    assert found.chat_id == channel_chat(bot.channel)
    off = await bot.slash(MOD, "setup", options={"weekly": "off"})
    await fake.wait_for(lambda: len(off.responses) >= 2)
    assert "off now" in fake.interaction_responses(off.id)[1]["message"]["content"]
    later = engine.clock() + timedelta(days=8)
    assert not [
        d
        for d in await engine.store.schedules_due_before(later)
        if d.schedule.target_kind is TargetKind.CHANNEL
    ]
    bot.assert_well_behaved()


async def test_setup_is_refused_kindly_to_everyone_else(bot: Bot, engine: Engine) -> None:
    fake = bot.fake
    with pytest.raises(LookupError):  # Discord hides it from non-admins by default...
        await fake.slash(ALICE, "setup", guild_id=bot.guild.id)
    with pytest.raises(LookupError):  # ...and it does not exist in DMs
        await fake.slash(MOD, "setup")
    fake.strict_commands = False  # ...but a server may open it to everyone
    rec = await bot.slash(ALICE, "setup")
    await fake.wait_for(lambda: len(rec.responses) >= 2)
    answer = fake.interaction_responses(rec.id)[1]
    assert answer["ephemeral"] and "Only people who can manage this server" in answer["message"]["content"]
    later = engine.clock() + timedelta(days=8)
    assert await engine.store.schedules_due_before(later) == []
    bot.assert_well_behaved()


async def test_unsupported_dm_gets_a_kind_answer(bot: Bot) -> None:
    fake = bot.fake
    await fake.dm(ALICE, "")  # e.g. a sticker or a file with no text
    await fake.wait_for(lambda: fake.dm_messages(ALICE))
    assert fake.dm_messages(ALICE)[0]["content"]
    bot.assert_well_behaved()


# ---- the real process: `keepgoing discord-sync` and `keepgoing run`, restarted ---------------------------
def _env(fake: FakeDiscord, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_URL"))}
    env.update(DISCORD_TOKEN=fake.token, DISCORD_API_URL=fake.api_url, DATABASE_URL=f"sqlite:///{db}")
    return env


async def _keepgoing(fake: FakeDiscord, db: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=_env(fake, db),
        cwd=db.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    return err.decode()


async def test_the_real_process_syncs_runs_and_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    async with new_fake() as fake:
        guild = add_guild(fake)
        sync = await _keepgoing(fake, db, "discord-sync", "--guild", str(guild.id))
        out, err = await asyncio.wait_for(sync.communicate(), 30)
        assert sync.returncode == 0, err.decode()
        assert "synced to server" in out.decode()
        assert {"start", "setup", "encourage", "resources"} <= {c["name"] for c in fake.commands[guild.id]}
        synced = {c["name"]: c for c in fake.commands[guild.id]}
        spanish = _descriptions(locale="es")  # the Spanish words, for people whose Discord is in Spanish
        for code in ("es-ES", "es-419"):
            assert synced["plan"]["description_localizations"][code] == spanish["plan"]
            assert synced["setup"]["options"][0]["description_localizations"][code] == spanish["setup_weekly"]
            choices = synced["setup"]["options"][0]["choices"]
            assert choices[0]["name_localizations"][code] == spanish["setup_on"]

        first = await _keepgoing(fake, db, "run")
        try:
            await fake.wait_for(lambda: fake.connected, timeout=30)
            rec = await fake.slash(ALICE, "start", guild_id=guild.id)
            welcome = await fake.wait_for(
                lambda: next((m for m in fake.dm_messages(ALICE) if m["components"]), None), timeout=15
            )
            assert rec.acknowledged and not rec.rejections
        finally:
            log = await _stop(first)
        assert "Shall we begin" not in log and fake.token not in log  # no message text or token in logs

        second = await _keepgoing(fake, db, "run")
        try:
            await fake.wait_for(lambda: len(fake.identify_payloads) >= 2 and fake.connected, timeout=30)
            click = await fake.click(ALICE, welcome, custom_id_of(welcome, "Yes, let's begin"))
            await fake.wait_for(
                lambda: any("which country" in m["content"] for m in fake.dm_messages(ALICE)), timeout=15
            )
            assert click.acknowledged and not click.rejections
        finally:
            await _stop(second)
        assert fake.messages(guild.channel_id) == []


async def test_kill_9_before_the_crisis_reply_went_out_the_next_message_brings_it(tmp_path: Path) -> None:
    """The crisis turn is committed, its reply held on the wire, and the process is killed: the reply is
    lost. The next DM, whatever it says, gets the crisis lines and the question again."""
    db = tmp_path / "kg.db"
    async with new_fake() as fake:
        add_guild(fake)
        dm = fake.dm_channel_id(ALICE)
        process = await _keepgoing(fake, db, "run")
        try:
            await fake.wait_for(lambda: fake.connected, timeout=30)
            await fake.dm(ALICE, "/start")
            welcome = await fake.wait_for(
                lambda: next((m for m in fake.dm_messages(ALICE) if m["components"]), None), timeout=15
            )
            await fake.click(ALICE, welcome, custom_id_of(welcome, "Yes, let's begin"))  # consent: kept
            await fake.wait_for(lambda: any("which country" in m["content"] for m in fake.dm_messages(ALICE)))
            fake.hold(dm)
            await fake.dm(ALICE, CRISIS)

            def held() -> list[str]:
                path = f"/api/v10/channels/{dm}/messages"
                texts = [str((r.json or {}).get("content", "")) for r in fake.requests if r.path == path]
                return [text for text in texts if "Are you safe right now" in text]

            [lost] = await fake.wait_for(held, timeout=15)  # the turn was saved; its reply is on the wire
            process.kill()
            await process.communicate()
            fake.release(dm)
            await asyncio.sleep(0.2)
            assert not any("Are you safe right now" in m["content"] for m in fake.dm_messages(ALICE))

            process = await _keepgoing(fake, db, "run")
            await fake.wait_for(lambda: len(fake.identify_payloads) >= 2 and fake.connected, timeout=30)
            seen = len(fake.dm_messages(ALICE))
            await fake.dm(ALICE, "hello?")
            reply = await fake.wait_for(lambda: fake.dm_messages(ALICE)[seen:], timeout=15)
            assert "are you safe right now" in reply[0]["content"].lower()
            lines = lost.split("\n\n")[1]  # the first paragraph of the crisis lines
            assert lines in reply[0]["content"]  # the same lines the lost reply had
        finally:
            if process.returncode is None:
                log = await _stop(process)
                assert "hello?" not in log and CRISIS not in log


# ---- pure parts: layout and settings --------------------------------------------------------------------
def _buttons(count: int, prefix: str = "p") -> tuple[Button, ...]:
    return tuple(Button(f"{prefix}{i}", f"1|s|{prefix}{i}") for i in range(count))


def test_rows_are_packed_within_discords_limits() -> None:
    country = tuple(tuple(Button(c.label, c.payload) for c in row) for row in country_choices())
    assert pack_rows(country) == [country]  # the engine's 5 rows fit as they are
    (merged,) = pack_rows(tuple((b,) for b in _buttons(8)))  # 8 rows of one: merged into full rows
    assert [len(r) for r in merged] == [5, 3]
    groups = pack_rows((_buttons(30),))  # too many for one message: the rest goes to a second one
    assert [[len(r) for r in g] for g in groups] == [[5] * 5, [5]]
    assert pack_rows(((Button("a", "1|s|x"), Button("b", "1|s|x")),)) == [((Button("a", "1|s|x"),),)]


def test_custom_ids_and_parts() -> None:
    assert custom_id("1|*|consent") == "kg:1|*|consent"
    assert custom_id("x" * (CUSTOM_ID_LIMIT - 2)) is None  # would not fit: the button is dropped
    many = Outgoing("Pick one", (_buttons(30),))
    split = parts(many)
    assert [p.text for p in split] == ["Pick one", ""] and all(len(p.rows) <= 5 for p in split)


def test_shard_settings() -> None:
    env = {"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "0-1,3"}
    settings = Settings.from_env(env)
    section = settings.section(DiscordSettings)
    assert section.shard_count == 4 and section.shard_ids == (0, 1, 3)
    assert Settings.from_env({}).section(DiscordSettings).shard_count is None
    for bad in ({"DISCORD_SHARD_IDS": "0"}, {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)


def test_adapter_uses_only_the_two_intents(engine: Engine) -> None:
    adapter = DiscordAdapter(engine, DiscordSettings(token="x"))
    intents = adapter.client.intents
    assert intents == discord.Intents(guilds=True, dm_messages=True)
    assert adapter.client.allowed_mentions is not None
    assert adapter.client.allowed_mentions.to_dict()["parse"] == []
