"""Engine turns over SQLite (and PostgreSQL): scripted conversations with a durable commit per turn.

For 1,000 / 10,000 / 100,000 people already stored, runs full reflections (11 turns each: /start,
consent, country, ending, six reasons, /plan) for fresh people and prints turns per second, CPU per turn
and p50/p99 latency per turn, for SQLite and, when BENCH_DATABASE_URL is set, PostgreSQL side by side.
Targets (issue 16): at least 3,000 turns/s on one core and p99 under 5 ms, flat in the number of
people, one turn at a time (PostgreSQL's figures include its round trips: four per turn). Then 32 people
at once (each one turn at a time), SQLite with group commit on and off, and PostgreSQL: >= 6,000/s.

    python -m benchmarks.turns [SIZES…]        # all sizes by default; BENCH_QUICK=1 for fewer turns
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks._stores import Target, empty_store, quick, targets
from bot.domain import Flow, Incoming, Kind, Person, UserKey, Who
from bot.engine import Engine
from bot.engine.reflection import REASONS
from bot.engine.say import ANY_STEP, payload
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.store.records import PERSON_COLUMNS, person_row
from bot.templates import Templates

SIZES = (1_000, 10_000, 100_000)
PEOPLE_AT_ONCE = 32
CONVERSATIONS = 300
QUICK_CONVERSATIONS = 100
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    store: str
    stored: int
    turns: int
    seconds: float
    cpu: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.turns / self.seconds


def summary(store: str, stored: int, latencies: list[float], wall: float, cpu: float) -> Result:
    """A run's figures from its per-turn latencies (seconds), wall time and CPU time."""
    latencies = sorted(latencies)
    return Result(
        store=store,
        stored=stored,
        turns=len(latencies),
        seconds=wall,
        cpu=cpu,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


def people_rows(people: int) -> list[tuple[object, ...]]:
    """`people` people who finished their plan."""
    answers = dict.fromkeys(REASONS, "partly")
    return [
        person_row(
            Person(
                key=UserKey("telegram", str(i)),
                chat_id=str(i),
                locale="en",
                flow=Flow(version=1, step="done", ending="stopped", answers=answers),
                created_at=NOW,
                last_seen_at=NOW,
                consented_at=NOW,
                plan_at=NOW,
            )
        )
        for i in range(people)
    ]


def script(user: str) -> list[Incoming]:
    """One person's whole reflection, as the events an adapter would hand the engine."""
    who = Who("telegram", user, user)

    def button(step: str, value: str) -> Incoming:
        return Incoming(who, Kind.BUTTON, payload=payload(step, value))

    return [
        Incoming(who, Kind.COMMAND, command="start"),
        button(ANY_STEP, "consent"),
        button(ANY_STEP, "country.GB"),
        button("ending", "stopped"),
        *[button(f"reason:{r}", "partly") for r in REASONS],
        Incoming(who, Kind.COMMAND, command="plan"),
    ]


async def measure(target: Target, stored: int, conversations: int = CONVERSATIONS) -> Result:
    url, store = await empty_store(target, f"turns-{stored}")
    await target.load(url, "people", PERSON_COLUMNS, people_rows(stored))
    await store.open()
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())
    latencies: list[float] = []
    await engine.handle(script("warm-up")[0])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for n in range(conversations):
        for event in script(f"new-{n}"):
            t0 = time.perf_counter()
            replies = await engine.handle(event)
            latencies.append(time.perf_counter() - t0)
            assert replies, "every turn answers"
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await store.close()
    return summary(target.name, stored, latencies, wall, cpu)


async def concurrent(
    target: Target, stored: int, people: int = 32, conversations: int = CONVERSATIONS, *, grouped: bool = True
) -> Result:
    """`people` conversations at once (each person one turn at a time), `conversations` in all.

    Per-turn latency includes waiting for the turns ahead and for the group's COMMIT.
    """
    url, _ = await empty_store(target, f"concurrent-{stored}-{grouped}")
    await target.load(url, "people", PERSON_COLUMNS, people_rows(stored))
    store = store_from_url(url, group_commit=grouped)
    await store.open()
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())
    latencies: list[float] = []
    await engine.handle(script("warm-up")[0])
    names = iter(range(conversations))

    async def person_after_person() -> None:
        for n in names:
            for event in script(f"new-{n}"):
                t0 = time.perf_counter()
                replies = await engine.handle(event)
                latencies.append(time.perf_counter() - t0)
                assert replies, "every turn answers"

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(person_after_person() for _ in range(people)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await store.close()
    label = f"{target.name}{'' if grouped or target.name != 'SQLite' else ' (no group commit)'}"
    return summary(label, stored, latencies, wall, cpu)


async def run(sizes: tuple[int, ...] = SIZES, conversations: int = CONVERSATIONS) -> list[Result]:
    """Every size on every store (SQLite, then PostgreSQL when BENCH_DATABASE_URL is set)."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        for target in targets(Path(folder)):
            try:
                results.extend([await measure(target, size, conversations) for size in sizes])
            finally:
                await target.close()
    return results


async def run_concurrent(stored: int = 10_000, conversations: int = CONVERSATIONS) -> list[Result]:
    """32 people at once: SQLite with group commit, without it, and PostgreSQL when it is set."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        for target in targets(Path(folder)):
            try:
                results.append(await concurrent(target, stored, PEOPLE_AT_ONCE, conversations))
                if target.name == "SQLite":
                    results.append(
                        await concurrent(target, stored, PEOPLE_AT_ONCE, conversations, grouped=False)
                    )
            finally:
                await target.close()
    return results


def table_rows() -> list[tuple[str, str, str]]:
    """(measure, result, target) rows for `python -m benchmarks`: each store's figures side by side."""
    results = asyncio.run(run(SIZES, QUICK_CONVERSATIONS if quick() else CONVERSATIONS))
    rows = []
    for size in SIZES:
        here = [r for r in results if r.stored == size]
        figures = " | ".join(f"{r.store} {r.per_second:,.0f}/s p99 {r.p99_ms:.1f} ms" for r in here)
        rows.append((f"turns, {size:,} people stored", figures, ">= 3,000/s, p99 < 5 ms"))
    conversations = QUICK_CONVERSATIONS if quick() else CONVERSATIONS
    together = asyncio.run(run_concurrent(10_000, conversations))
    figures = " | ".join(f"{r.store} {r.per_second:,.0f}/s p99 {r.p99_ms:.1f} ms" for r in together)
    rows.append((f"turns, {PEOPLE_AT_ONCE} people at once, 10,000 stored", figures, ">= 6,000/s grouped"))
    on, off = together[0], together[1]
    ratio = f"{on.per_second / off.per_second:.1f}x turns/s"
    rows.append((f"group commit on / off, {PEOPLE_AT_ONCE} at once", ratio, "> 1"))
    return rows


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    results = asyncio.run(run(sizes, QUICK_CONVERSATIONS if quick() else CONVERSATIONS))
    stores = list(dict.fromkeys(r.store for r in results))
    print(f"turns: engine + {' and '.join(stores)}, durable commit per turn (one turn at a time)")
    figures = ("turns/s", "CPU ms/turn", "p50 ms", "p99 ms")
    print(f"{'':>14} " + " ".join(f"{store:^{12 * len(figures)}}" for store in stores))
    print(f"{'people stored':>14} " + " ".join("".join(f"{f:>12}" for f in figures) for _ in stores))
    for size in sizes:
        cells = []
        for r in (r for r in results if r.stored == size):
            cpu = r.cpu / r.turns * 1000
            cells.append(f"{r.per_second:>12.0f}{cpu:>12.3f}{r.p50_ms:>12.3f}{r.p99_ms:>12.3f}")
        print(f"{size:>14,} " + " ".join(cells))
    print(f"{PEOPLE_AT_ONCE} people at once, 10,000 stored:")
    for r in asyncio.run(run_concurrent(10_000, QUICK_CONVERSATIONS if quick() else CONVERSATIONS)):
        print(
            f"  {r.store:<28} {r.per_second:>8.0f} turns/s  CPU {r.cpu / r.turns * 1000:.3f} ms/turn  "
            f"p50 {r.p50_ms:.1f} ms  p99 {r.p99_ms:.1f} ms"
        )


if __name__ == "__main__":
    main()
