"""Engine turns over SQLite: scripted conversations with a durable commit per turn.

For 1,000 / 10,000 / 100,000 people already stored, runs full reflections (11 turns each: /start,
consent, country, ending, six reasons, /plan) for fresh people and prints turns per second, CPU per turn
and p50/p99 latency per turn. Targets (issue "Benchmarks"): at least 2,000 turns/s on one core and p99
under 5 ms, flat in the number of people.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.domain import Flow, Incoming, Kind, Person, UserKey, Who
from bot.engine import Engine
from bot.engine.reflection import REASONS
from bot.engine.say import ANY_STEP, payload
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.store.records import PERSON_COLUMNS, person_row
from bot.templates import Templates

SIZES = (1_000, 10_000, 100_000)
CONVERSATIONS = 300
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    stored: int
    turns: int
    seconds: float
    cpu: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.turns / self.seconds


def fill(path: Path, people: int) -> None:
    """Store `people` people who finished their plan, quickly, with one transaction."""
    answers = dict.fromkeys(REASONS, "partly")
    db = sqlite3.connect(path)
    marks = ", ".join("?" for _ in PERSON_COLUMNS)
    rows = (
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
    )
    db.executemany(f"INSERT INTO people ({', '.join(PERSON_COLUMNS)}) VALUES ({marks})", rows)
    db.commit()
    db.close()


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


async def measure(stored: int, folder: Path) -> Result:
    path = folder / f"turns-{stored}.db"
    store = store_from_url(f"sqlite:///{path}")
    await store.open()
    await store.close()
    fill(path, stored)
    store = store_from_url(f"sqlite:///{path}")
    await store.open()
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load())
    latencies: list[float] = []
    await engine.handle(script("warm-up")[0])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for n in range(CONVERSATIONS):
        for event in script(f"new-{n}"):
            t0 = time.perf_counter()
            replies = await engine.handle(event)
            latencies.append(time.perf_counter() - t0)
            assert replies, "every turn answers"
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await store.close()
    latencies.sort()
    return Result(
        stored=stored,
        turns=len(latencies),
        seconds=wall,
        cpu=cpu,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


async def run(sizes: tuple[int, ...] = SIZES) -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        return [await measure(size, Path(folder)) for size in sizes]


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    print("turns: engine + SQLite, durable commit per turn (synchronous=FULL)")
    header = ("people stored", "turns", "turns/s", "CPU ms/turn", "p50 ms", "p99 ms")
    print("{:>14} {:>7} {:>9} {:>12} {:>8} {:>8}".format(*header))
    for r in asyncio.run(run(sizes)):
        print(
            f"{r.stored:>14,} {r.turns:>7} {r.per_second:>9.0f} {r.cpu / r.turns * 1000:>12.3f}"
            f" {r.p50_ms:>8.3f} {r.p99_ms:>8.3f}"
        )


if __name__ == "__main__":
    main()
