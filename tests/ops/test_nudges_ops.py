"""The nudge dispatcher seen from the operations port: outcomes counted, a stalled dispatcher not ready."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.dispatcher import Dispatcher, DispatchSettings
from bot.domain import Delivery
from bot.engine import Engine
from bot.ops.server import Readiness
from tests.chat import Chat
from tests.conftest import Clock
from tests.fakes.sink import Sink
from tests.nudges.helpers import opt_in
from tests.ops.test_ops_server import get, serving, value


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_nudge_outcomes_are_counted_and_a_stalled_dispatcher_is_not_ready(
    engine: Engine, clock: Clock, session: aiohttp.ClientSession
) -> None:
    chat = Chat(engine, user_id="person-5151")
    s = await opt_in(chat)
    assert s.next_due_at is not None
    sink = Sink()
    sink.answer(Delivery.FAILED)  # e.g. the platform's 429, once
    run = Dispatcher(engine.store, engine, [sink], DispatchSettings(), clock=clock)  # type: ignore[arg-type]
    server, base = await serving(Readiness(engine.store, dispatcher=run, max_lag=120))
    try:
        _, before = await get(session, f"{base}/metrics")
        clock.now = s.next_due_at
        assert (await run.run_once()).retrying == 1
        clock.advance(seconds=30)
        assert (await run.run_once()).sent == 1
        status, after = await get(session, f"{base}/metrics")
        assert (await get(session, f"{base}/readyz"))[0] == 200  # a pass just finished
        clock.advance(minutes=3)  # and none since
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 503
            body = await response.json()
        assert list(body["not_ready"]) == ["nudges"] and "180 s ago" in body["not_ready"]["nudges"]
        await run.run_once()
        assert (await get(session, f"{base}/readyz"))[0] == 200
    finally:
        await server.stop()
    assert status == 200
    for outcome in ("retrying", "sent"):
        labels = {"platform": sink.platform, "outcome": outcome}
        assert (
            value(after, "keepgoing_nudges_total", **labels)
            == value(before, "keepgoing_nudges_total", **labels) + 1
        )
    assert "person-5151" not in after and sink.texts[0] not in after
