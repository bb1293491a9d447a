"""The operations port, for real: the aiohttp server on a free port, a real store, engine and adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.base import Delivery
from bot.adapters.discord.adapter import person_chat
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.settings import TelegramSettings
from bot.app import running_engine
from bot.config import Settings
from bot.domain import Outgoing
from bot.engine import Engine
from bot.ops.server import OpsServer, Readiness
from tests.adapters.discord_helpers import ALICE, add_guild, new_fake, running_bot
from tests.adapters.telegram_helpers import Person
from tests.chat import Chat
from tests.fakes.telegram import FakeTelegram

SAID = "my sister Marguerite keeps calling me about the move"
CRISIS = "honestly i want to die"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(Settings(database_url=f"sqlite:///{tmp_path / 'kg.db'}")) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def serving(readiness: Readiness) -> tuple[OpsServer, str]:
    server = OpsServer(readiness, host="127.0.0.1", port=0)
    await server.start()
    assert server.bound_port
    return server, f"http://127.0.0.1:{server.bound_port}"


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of one metric family in a scrape, keyed by its labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text, name).get(tuple(sorted(labels.items())), 0.0)


async def test_healthz_and_readyz_with_the_database_answering(
    engine: Engine, session: aiohttp.ClientSession
) -> None:
    server, base = await serving(Readiness(engine.store))
    try:
        assert await get(session, f"{base}/healthz") == (200, '{"alive": true}')
        status, body = await get(session, f"{base}/readyz")
        assert (status, body) == (200, '{"ready": true}')
    finally:
        await server.stop()


async def test_readyz_names_the_database_when_the_store_is_closed(
    engine: Engine, session: aiohttp.ClientSession
) -> None:
    server, base = await serving(Readiness(engine.store))
    try:
        await engine.store.close()
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["ready"] is False
        assert set(body["not_ready"]) == {"database"}
        assert (await get(session, f"{base}/healthz"))[0] == 200  # alive all the same
    finally:
        await server.stop()


async def test_readyz_follows_the_telegram_connection(engine: Engine, session: aiohttp.ClientSession) -> None:
    async with FakeTelegram() as tg:
        adapter = TelegramAdapter(engine, TelegramSettings(token=tg.token, api_url=tg.api_url))
        server, base = await serving(Readiness(engine.store, [adapter]))
        try:
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 503
                assert (await response.json())["not_ready"] == {"telegram": "not connected"}
            await adapter.start()
            assert (await get(session, f"{base}/readyz"))[0] == 200
            await adapter.stop()
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 503
                assert set((await response.json())["not_ready"]) == {"telegram"}
        finally:
            await server.stop()


async def test_metrics_count_turns_and_crisis_replies_without_words_or_ids(
    engine: Engine, session: aiohttp.ClientSession
) -> None:
    server, base = await serving(Readiness(engine.store))
    try:
        _, before = await get(session, f"{base}/metrics")
        chat = Chat(engine, user_id="person-4242", platform="console")
        await chat.send("/start")
        await chat.send(SAID)
        replies = await chat.send(CRISIS)
        assert replies and replies[0].urgent  # the crisis reply, through the real engine
        status, after = await get(session, f"{base}/metrics")
    finally:
        await server.stop()
    assert status == 200
    turns = "keepgoing_turns_total"
    assert value(after, turns, platform="console") == value(before, turns, platform="console") + 3
    crisis = "keepgoing_crisis_replies_total"
    assert value(after, crisis, platform="console") == value(before, crisis, platform="console") + 1
    latency = "keepgoing_turn_seconds_count"
    assert value(after, latency, platform="console") == value(before, latency, platform="console") + 3
    for private in (SAID, "Marguerite", CRISIS, "want to die", "person-4242"):
        assert private not in after
    labels = {k for family in text_string_to_metric_families(after) for s in family.samples for k in s.labels}
    assert labels & {"user", "user_id", "chat", "chat_id", "text"} == set()


async def test_metrics_count_429s_per_platform_and_readyz_follows_discord(
    engine: Engine, session: aiohttp.ClientSession
) -> None:
    fake = new_fake()
    async with fake:
        guild = add_guild(fake)
        async with FakeTelegram() as tg:
            telegram = TelegramAdapter(engine, TelegramSettings(token=tg.token, api_url=tg.api_url))
            await telegram.start()
            try:
                async with running_bot(engine, fake, guild) as bot:
                    server, base = await serving(Readiness(engine.store, [telegram, bot.adapter]))
                    try:
                        assert (await get(session, f"{base}/readyz"))[0] == 200
                        _, before = await get(session, f"{base}/metrics")
                        await Person(tg, 700_000_001).send("/start")  # the fake sends to chats it knows
                        tg.force_429(1, retry_after=1)
                        assert await telegram.send("700000001", Outgoing("Thinking of you.")) is Delivery.SENT
                        fake.force_429(2, retry_after=0.05)
                        hello = Outgoing("Thinking of you this week.")
                        assert await bot.adapter.send(person_chat(ALICE), hello) is Delivery.SENT
                        _, after = await get(session, f"{base}/metrics")
                    finally:
                        await server.stop()
            finally:
                await telegram.stop()
    limited = "keepgoing_platform_rate_limited_total"
    for platform, count in (("telegram", 1), ("discord", 2)):
        assert value(after, limited, platform=platform) == value(before, limited, platform=platform) + count
    assert "Thinking of you" not in after and str(ALICE) not in after
