"""Nudges at scale: claim and render cost per nudge, memory flat in the number of people, send rate.

1. 10,000 and 100,000 people with due schedules in one SQLite file: CPU time (time.process_time) to claim
   and render every due nudge, per nudge (target: at most 1 ms), and the peak of Python allocations while
   doing it (tracemalloc; target: flat, the same for 10k as for 100k, since claims come in batches).
   The pass also records each nudge as the dispatcher does (one durable commit each), timed separately.
3. The send rate against a fake HTTP platform that answers 429 above 30 messages a second (target: at
   least 28/s and no 429), over a short run.
"""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain import Flow, Person, Rhythm, Schedule, TargetKind, UserKey
from bot.engine import Engine
from bot.engine.reflection import REASONS
from bot.nudges.content import remember
from bot.nudges.dispatcher import Dispatcher, DispatchSettings
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.store.base import NudgeOutcome
from bot.store.records import PERSON_COLUMNS, SCHEDULE_COLUMNS, person_row, schedule_row, utc
from bot.templates import Templates
from tests.fakes.sink import FakePlatform, HttpSender, Sink

SIZES = (10_000, 100_000)
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
BATCH = 500
RATE_LIMIT = 30
RATE_SECONDS = 10.0


def fill(path: Path, people: int, platform: str = "telegram") -> None:
    """People with reflection answers and a daily 18:00 schedule each, all due now."""
    answers = {reason: ("yes", "partly", "no", "unsure")[j % 4] for j, reason in enumerate(REASONS)}
    flow = Flow(version=1, step="done", answers=answers)
    person_rows = []
    schedule_rows = []
    for i in range(people):
        uid = str(10_000_000 + i)
        person_rows.append(
            person_row(Person(UserKey(platform, uid), uid, "en", flow, NOW, NOW, country="GB", plan_at=NOW))
        )
        schedule_rows.append(
            schedule_row(
                Schedule(
                    platform=platform,
                    target_kind=TargetKind.PERSON,
                    target_id=uid,
                    chat_id=uid,
                    rhythm=Rhythm.DAILY,
                    local_time="18:00",
                    timezone="UTC",
                    next_due_at=NOW - timedelta(seconds=i % 600),
                    created_at=NOW - timedelta(days=3),
                    sent_count=i % 7,
                    recent_templates=tuple(f"nudges/care_{k}" for k in range(1 + i % 3, 4 + i % 3)),
                )
            )
        )
    with sqlite3.connect(path) as db:
        marks = ", ".join("?" for _ in PERSON_COLUMNS)
        db.executemany(f"INSERT INTO people ({', '.join(PERSON_COLUMNS)}) VALUES ({marks})", person_rows)
        marks = ", ".join("?" for _ in SCHEDULE_COLUMNS)
        db.executemany(
            f"INSERT INTO schedules ({', '.join(SCHEDULE_COLUMNS)}) VALUES ({marks})", schedule_rows
        )


async def prepared(path: Path, people: int, platform: str = "telegram") -> tuple[Engine, object]:
    store = store_from_url(f"sqlite:///{path}")
    await store.open()  # creates the schema
    await store.close()
    fill(path, people, platform)
    await store.open()
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load(), clock=lambda: NOW)
    return engine, store


@dataclass(frozen=True)
class ClaimResult:
    people: int
    nudges: int
    claim_render_ms: float  # CPU per nudge spent claiming and rendering
    total_ms: float  # CPU per nudge for the whole pass, durable record of each included
    per_second: float
    peak_kib: float


async def one_pass(engine: Engine, owner: str, *, trace: bool) -> tuple[int, float, float, float, int]:
    """What the dispatcher does, in its order: claim a batch, render each, record each; timed by phase.

    Returns (nudges, claim+render CPU s, total CPU s, wall s, peak traced bytes).
    """
    store = engine.store
    run = Dispatcher(store, engine, [Sink("telegram")], DispatchSettings(batch=BATCH), owner=owner)
    if trace:
        tracemalloc.start()
    total_cpu, wall = time.process_time(), time.perf_counter()
    claim_render = 0.0
    count = 0
    while True:
        t = time.process_time()
        batch = await store.claim_due(NOW, owner, NOW + timedelta(minutes=5), BATCH, ["telegram"])
        if not batch:
            break
        rendered = [run.prepare(due) for due in batch]
        claim_render += time.process_time() - t
        for due, (content, _message) in zip(batch, rendered, strict=True):
            assert due.schedule.id is not None
            await store.record_nudge(
                due.schedule.id,
                due.slot_at,
                owner,
                NudgeOutcome.SENT,
                template=content.template,
                next_due_at=due.slot_at + timedelta(days=1),
                recent_templates=remember(due.schedule.recent_templates, content.template),
                recorded_at=NOW,
            )
        count += len(batch)
    total_cpu, wall = time.process_time() - total_cpu, time.perf_counter() - wall
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return count, claim_render, total_cpu, wall, peak


def reset(path: Path, people: int) -> None:
    """Make every schedule due again, as before the first pass."""
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM nudge_log")
        db.executemany(
            "UPDATE schedules SET next_due_at = ? WHERE id = ?",
            [(utc(NOW - timedelta(seconds=i % 600)), i + 1) for i in range(people)],
        )


async def measure(people: int, folder: Path) -> ClaimResult:
    path = folder / f"nudges-{people}.db"
    engine, store = await prepared(path, people)
    try:
        count, claim_render, total, wall, _ = await one_pass(engine, "bench-a", trace=False)
        reset(path, people)
        _, _, _, _, peak = await one_pass(engine, "bench-b", trace=True)
    finally:
        await store.close()  # type: ignore[attr-defined]
    n = max(count, 1)
    return ClaimResult(people, count, claim_render / n * 1000, total / n * 1000, count / wall, peak / 1024)


async def measure_send_rate(folder: Path) -> tuple[float, int, int]:
    """Sends for RATE_SECONDS against a platform limited to 30/s: (per second, sent, 429s)."""
    people = int(RATE_LIMIT * RATE_SECONDS * 2)
    engine, store = await prepared(folder / "rate.db", people, platform="fake")
    async with FakePlatform(limit=RATE_LIMIT) as platform:
        sender = HttpSender(platform.url, "fake")
        settings = DispatchSettings(batch=50, rates={"fake": RATE_LIMIT - 1})
        run = Dispatcher(store, engine, [sender], settings, clock=lambda: NOW)  # type: ignore[arg-type]
        task = asyncio.create_task(run.run_once())
        await asyncio.sleep(RATE_SECONDS)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sender.close()
        received = platform.received
        span = received[-1].at - received[0].at if len(received) > 1 else 1.0
        rate = (len(received) - 1) / span if len(received) > 1 else 0.0
        rejected = platform.rejected
    await store.close()  # type: ignore[attr-defined]
    return rate, len(received), rejected


async def run_all() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for people in SIZES:
            r = await measure(people, folder)
            rows.append(
                (f"claim+render, {people:,} people", f"{r.claim_render_ms:.3f} ms CPU/nudge", "<= 1 ms")
            )
            rows.append(
                (
                    f"whole pass incl. durable record, {people:,}",
                    f"{r.total_ms:.3f} ms CPU/nudge, {r.per_second:,.0f}/s",
                    "-",
                )
            )
            rows.append((f"peak Python memory during pass, {people:,}", f"{r.peak_kib:,.0f} KiB", "flat"))
        rate, sent, rejected = await measure_send_rate(folder)
        rows.append(
            (f"send rate, 30/s platform, {RATE_SECONDS:.0f} s", f"{rate:.1f}/s ({sent} sent)", ">= 28/s")
        )
        rows.append(("429 answers", str(rejected), "0"))
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows.append(("process max RSS (all runs)", f"{maxrss / 1024:,.0f} MiB", "-"))
    return rows


def table_rows() -> list[tuple[str, str, str]]:
    """(measure, result, target) rows for `python -m benchmarks`."""
    return asyncio.run(run_all())


def print_table(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    value = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'result':<{value}}  target")
    for measure, result, target in rows:
        print(f"{measure:<{width}}  {result:<{value}}  {target}")


def main() -> None:
    print("nudges: claim, render and send over SQLite")
    print_table(table_rows())


if __name__ == "__main__":
    main()
