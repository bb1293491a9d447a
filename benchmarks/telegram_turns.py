"""Turns through Telegram: our adapter + store versus the usual ConversationHandler + PicklePersistence bot.

The same scripted reflections (11 updates each: /start, consent, country, ending, six reasons, /plan, all
by button presses) are fed as Telegram `Update` objects to `Application.process_update` of

- ours: the real `TelegramAdapter` handler path (mapping, engine, SQLite store committing every turn with
  synchronous=FULL, answerCallbackQuery, keyboard removal, `TelegramSender`), with `N` people stored;
- the baseline (`benchmarks/baseline_bot.py`): a `ConversationHandler` with a state per question, answers
  in `context.user_data`, `PicklePersistence` written after every update (`update_persistence()` +
  `flush()`: one file write per update, so nothing lives only in memory), its pickle pre-filled with `N`
  people's user_data, chat_data and conversation states. That is still less durable than our commit: PTB
  neither fsyncs the file nor replaces it atomically (a crash mid-write loses it).

Both bots talk to the same in-process Bot API (`LocalRequest`: canned successful JSON, no network) and send
the same 17 messages per reflection, so sending costs them the same. Our sender's pacing (Telegram's
30 msgs/s) is switched off: a baseline in production would need PTB's AIORateLimiter just the same.
Updates are built before the clock starts; ours sends from per-chat queues in the background, and its
clock stops only once they have drained (every reply sent). Prints updates/s, CPU per update and p50/p99
latency for N = 1k / 10k / 100k (BENCH_QUICK=1: 1k and 10k, fewer updates), the ratio ours/baseline, and
start-up (open the store / load the pickle). The baseline's file write grows with N, so it is measured over
fewer updates at larger N (the count is printed).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from benchmarks import baseline_bot
from benchmarks._stores import quick
from benchmarks._support import (
    FIRST_NEW_USER,
    TOKEN,
    LocalRequest,
    fill_pickle,
    fill_sqlite,
    reflection_updates,
)
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.sending import TelegramSender
from bot.adapters.telegram.settings import TelegramSettings
from bot.app import running_engine
from bot.config import Settings
from bot.store import store_from_url

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
OURS_CONVERSATIONS = 100  # 1,100 updates per size
BASELINE_CONVERSATIONS = {1_000: 40, 10_000: 10, 100_000: 2}  # its cost per update grows with N
QUICK_CONVERSATIONS = {"ours": 30, 1_000: 15, 10_000: 4}
MESSAGES_PER_REFLECTION = 17  # the usual PTB bot's
OURS_MESSAGES_PER_REFLECTION = 11  # ours: one message a turn (11 updates)
UNPACED = 1e9  # messages a second: pacing off for both bots


@dataclass(frozen=True)
class Side:
    stored: int
    updates: int
    seconds: float
    cpu: float
    p50_ms: float
    p99_ms: float
    startup_s: float

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


def updates_for(conversations: int, bot: Any) -> list[Update]:
    out: list[Update] = []
    for n in range(conversations):
        raw = reflection_updates(1_000_000 + n * 20, FIRST_NEW_USER + n)
        out.extend(Update.de_json(u, bot) for u in raw)
    return out


@contextlib.contextmanager
def local_api(request: LocalRequest) -> Iterator[None]:
    """Make every Application built inside talk to `request` (how our adapter gets the local Bot API)."""
    original = ApplicationBuilder.build

    def build(self: ApplicationBuilder) -> Application:  # type: ignore[type-arg]
        return original(self.request(request).get_updates_request(request))

    with mock.patch.object(ApplicationBuilder, "build", build):
        yield


async def timed(
    handle: Callable[[Update], Coroutine[Any, Any, None]],
    updates: list[Update],
    settle: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> tuple[float, float, list[float]]:
    """(wall s, CPU s, latencies) over `updates`, handled one after another; then, still on the clock,
    `settle` (what the handling left to finish in the background, such as queued replies)."""
    gc.collect()
    latencies: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for update in updates:
        t0 = time.perf_counter()
        await handle(update)
        latencies.append(time.perf_counter() - t0)
    if settle is not None:
        await settle()
    return time.perf_counter() - wall0, time.process_time() - cpu0, latencies


def side(stored: int, wall: float, cpu: float, latencies: list[float], startup: float) -> Side:
    latencies.sort()
    return Side(
        stored=stored,
        updates=len(latencies),
        seconds=wall,
        cpu=cpu,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        startup_s=startup,
    )


async def ours(stored: int, folder: Path, conversations: int) -> Side:
    path = folder / f"ours-{stored}.db"
    store = store_from_url(f"sqlite:///{path}")
    await store.open()  # the schema
    await store.close()
    fill_sqlite(path, stored)
    settings = Settings(database_url=f"sqlite:///{path}")
    request = LocalRequest()
    t0 = time.perf_counter()
    async with running_engine(settings) as engine:
        with local_api(request):
            adapter = TelegramAdapter(engine, TelegramSettings(token=TOKEN))
        adapter.sender = TelegramSender(adapter.app.bot, overall_rate=UNPACED, chat_rate=UNPACED)
        await adapter.app.initialize()
        startup = time.perf_counter() - t0
        try:
            updates = updates_for(conversations + 1, adapter.app.bot)
            for update in updates[:11]:  # one warm-up reflection: templates compiled, caches filled
                await adapter.app.process_update(update)
            await adapter.outbox.drained()  # its replies are sent before the clock starts
            wall, cpu, latencies = await timed(
                adapter.app.process_update, updates[11:], adapter.outbox.drained
            )
        finally:
            await adapter.app.shutdown()
    sent = request.calls.get("sendMessage", 0)  # every reply was sent: the queues drained above
    assert sent == OURS_MESSAGES_PER_REFLECTION * (conversations + 1), f"ours sent {sent} messages"
    return side(stored, wall, cpu, latencies, startup)


async def baseline(stored: int, folder: Path, conversations: int) -> Side:
    path = folder / f"baseline-{stored}.pickle"
    fill_pickle(path, stored, baseline_bot.CONVERSATION, baseline_bot.DONE)
    request = LocalRequest()
    baseline_bot.templates()  # loaded once, as ours loads them in running_engine
    t0 = time.perf_counter()
    app = baseline_bot.build(path, request)
    await app.initialize()  # loads the pickle
    startup = time.perf_counter() - t0
    try:
        updates = updates_for(conversations + 1, app.bot)
        for update in updates[:11]:
            await baseline_bot.handle(app, update)

        async def handle(update: Update) -> None:
            await baseline_bot.handle(app, update)

        wall, cpu, latencies = await timed(handle, updates[11:])
        states = app.persistence.conversations[baseline_bot.CONVERSATION]  # type: ignore[union-attr]
        assert states[(FIRST_NEW_USER, FIRST_NEW_USER)] == baseline_bot.DONE
    finally:
        await app.shutdown()
    sent = request.calls.get("sendMessage", 0)
    assert sent == MESSAGES_PER_REFLECTION * (conversations + 1), f"baseline sent {sent} messages"
    return side(stored, wall, cpu, latencies, startup)


async def run() -> list[tuple[Side, Side]]:
    sizes = QUICK_SIZES if quick() else SIZES
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        await ours(0, Path(tmp), 1)  # first-use costs (imports, regexes) kept out of the first size
        for stored in sizes:
            ours_n = QUICK_CONVERSATIONS["ours"] if quick() else OURS_CONVERSATIONS
            base_n = QUICK_CONVERSATIONS[stored] if quick() else BASELINE_CONVERSATIONS[stored]
            a = await ours(stored, Path(tmp), ours_n)
            b = await baseline(stored, Path(tmp), base_n)
            results.append((a, b))
    return results


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.1f}"


def table_rows() -> list[tuple[str, str, str]]:
    """(measure, result, target) rows for `python -m benchmarks`."""
    rows: list[tuple[str, str, str]] = []
    for a, b in asyncio.run(run()):
        n = f"{a.stored:,} stored"
        rows.append(
            (
                f"ours, {n}",
                f"{rate(a.per_second)} updates/s, {a.cpu / a.updates * 1000:.2f} ms CPU/update, "
                f"p50/p99 {a.p50_ms:.1f}/{a.p99_ms:.1f} ms ({a.updates} updates)",
                "flat in N",
            )
        )
        rows.append(
            (
                f"baseline PTB, {n}",
                f"{rate(b.per_second)} updates/s, {b.cpu / b.updates * 1000:.2f} ms CPU/update, "
                f"p50/p99 {b.p50_ms:.1f}/{b.p99_ms:.1f} ms ({b.updates} updates)",
                "-",
            )
        )
        rows.append((f"ours / baseline updates/s, {n}", f"{a.per_second / b.per_second:,.0f}x", "> 1"))
        rows.append(
            (
                f"start-up (open store / load pickle), {n}",
                f"ours {a.startup_s * 1000:,.0f} ms, baseline {b.startup_s * 1000:,.0f} ms",
                "-",
            )
        )
    return rows


def main() -> None:
    print("telegram_turns: updates through Application.process_update, ours versus the usual PTB bot")
    rows = table_rows()
    width = max(len(r[0]) for r in rows)
    for measure, result, target in rows:
        print(f"{measure:<{width}}  {result}  [{target}]")


if __name__ == "__main__":
    main()
