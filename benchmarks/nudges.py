"""Nudges at scale: claim and render cost per nudge, memory flat in the number of people, send rate.

1. 10,000 and 100,000 people with due schedules in one SQLite file, and in one PostgreSQL database when
   BENCH_DATABASE_URL (or the tests' TEST_DATABASE_URL) is set (figures side by side): CPU time
   (time.process_time) to claim and render every due nudge, per nudge (target: at most 1 ms), and the
   peak of Python allocations while doing it (tracemalloc; target: flat, the same for 10k as for 100k,
   since claims come in batches). The pass also
   records each nudge as the dispatcher does (one durable commit each), timed separately. On PostgreSQL
   every claim and record is a network round trip, so its rate per second is lower for one dispatcher;
   several dispatchers share the work there (tests/nudges/test_several_dispatchers.py).
3. The send rate against a fake HTTP platform that answers 429 above 30 messages a second (target: at
   least 28/s and no 429), over a short run. The pacing is the dispatcher's, so this runs on SQLite only.

BENCH_QUICK=1: 10,000 people only, PostgreSQL included when a server is named:

    BENCH_QUICK=1 TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m benchmarks.nudges
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._stores import SQLiteTarget, Target, empty_store, quick, targets
from bot.dispatcher import Dispatcher, DispatchSettings
from bot.domain import Flow, Person, Rhythm, Schedule, TargetKind, UserKey
from bot.engine import Engine
from bot.engine.reflection import REASONS
from bot.nudges.content import remember
from bot.safety import CrisisDetector, ResourceBook
from bot.store import Store
from bot.store.base import NudgeOutcome, NudgeRecord
from bot.store.records import PERSON_COLUMNS, SCHEDULE_COLUMNS, person_row, schedule_row, utc
from bot.templates import Templates
from tests.fakes.sink import FakePlatform, HttpSender, Sink

SIZES = (10_000, 100_000)
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
BATCH = 500
RATE_LIMIT = 30
RATE_SECONDS = 10.0


async def fill(target: Target, url: str, people: int, platform: str = "telegram") -> None:
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
    await target.load(url, "people", PERSON_COLUMNS, person_rows)
    await target.load(url, "schedules", SCHEDULE_COLUMNS, schedule_rows)


async def prepared(
    target: Target, people: int, label: str, platform: str = "telegram"
) -> tuple[Engine, Store, str]:
    url, store = await empty_store(target, label)
    await fill(target, url, people, platform)
    await store.open()
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load(), clock=lambda: NOW)
    return engine, store, url


@dataclass(frozen=True)
class ClaimResult:
    store: str
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
                NudgeRecord(
                    due.schedule.id,
                    due.slot_at,
                    owner,
                    NudgeOutcome.SENT,
                    NOW,
                    next_due_at=due.slot_at + timedelta(days=1),
                    template=content.template,
                    recent_templates=remember(due.schedule.recent_templates, content.template),
                )
            )
        count += len(batch)
    total_cpu, wall = time.process_time() - total_cpu, time.perf_counter() - wall
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return count, claim_render, total_cpu, wall, peak


async def reset(target: Target, url: str, people: int) -> None:
    """Make every schedule due again, as before the first pass."""
    await target.run(url, "DELETE FROM nudge_log", [()])
    m = target.mark
    await target.run(
        url,
        f"UPDATE schedules SET next_due_at = {m(1)} WHERE id = {m(2)}",
        [(utc(NOW - timedelta(seconds=i % 600)), i + 1) for i in range(people)],
    )


async def measure(target: Target, people: int) -> ClaimResult:
    engine, store, url = await prepared(target, people, f"nudges-{people}")
    try:
        count, claim_render, total, wall, _ = await one_pass(engine, "bench-a", trace=False)
        await reset(target, url, people)
        _, _, _, _, peak = await one_pass(engine, "bench-b", trace=True)
    finally:
        await store.close()
    n = max(count, 1)
    return ClaimResult(
        target.name, people, count, claim_render / n * 1000, total / n * 1000, count / wall, peak / 1024
    )


async def measure_send_rate(folder: Path) -> tuple[float, int, int]:
    """Sends for RATE_SECONDS against a platform limited to 30/s: (per second, sent, 429s)."""
    people = int(RATE_LIMIT * RATE_SECONDS * 2)
    engine, store, _ = await prepared(SQLiteTarget(folder), people, "rate", platform="fake")
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
    await store.close()
    return rate, len(received), rejected


async def run_all() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    sizes = SIZES[:1] if quick() else SIZES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results: list[ClaimResult] = []
        for target in targets(folder):
            try:
                results.extend([await measure(target, people) for people in sizes])
            finally:
                await target.close()
        for people in sizes:
            here = [r for r in results if r.people == people]

            def side_by_side(figure: str, here: list[ClaimResult] = here) -> str:
                return " | ".join(f"{r.store} {figure.format(r=r)}" for r in here)

            rows.append(
                (
                    f"claim+render, {people:,} people",
                    side_by_side("{r.claim_render_ms:.3f} ms CPU/nudge"),
                    "<= 1 ms",
                )
            )
            rows.append(
                (
                    f"whole pass incl. durable record, {people:,}",
                    side_by_side("{r.total_ms:.3f} ms CPU/nudge, {r.per_second:,.0f}/s"),
                    "-",
                )
            )
            rows.append(
                (f"peak Python memory during pass, {people:,}", side_by_side("{r.peak_kib:,.0f} KiB"), "flat")
            )
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
    print(
        "nudges: claim, render and send over SQLite"
        " (and PostgreSQL with BENCH_DATABASE_URL or TEST_DATABASE_URL)"
    )
    print_table(table_rows())


if __name__ == "__main__":
    main()
