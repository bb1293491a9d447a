"""Daily nudges for 100,000 people: our store + dispatcher versus one JobQueue `run_daily` job per person.

Each side runs in a fresh subprocess (so neither's memory pollutes the other's) and reports:

- start-up after a restart. Ours: open the SQLite store, build the engine and dispatcher, ask the store
  when the next nudge is due: ready to dispatch. Baseline (the usual PTB way): JobQueue jobs are not
  persisted, so it builds the Application with PicklePersistence (the same bot as `baseline_bot`, its
  ConversationHandler included), loads the pickle (100k people's user_data with their nudge settings),
  re-creates one `job_queue.run_daily(...)` per person from it (misfire_grace_time=None, so a late job
  still runs), and starts the scheduler.
- resident memory: VmRSS after start-up minus VmRSS after the imports, and the process's peak (VmHWM).
- CPU per due nudge, for K people due at once (the rest are due later in the day). Ours: the dispatcher's
  `run_once` (claim a batch with a lease, choose and render each nudge, send through a no-op sender, record
  each with a durable commit). Baseline: the K jobs are made due (scheduler paused, their next run time set
  to now, resumed) and APScheduler runs them; each callback builds the same `Schedule` from user_data,
  chooses and renders the same nudge, sends it through the same no-op sender and updates user_data. It
  writes nothing per nudge (PTB persists user_data every `update_interval`), so it is also shown with one
  pickle write (`update_persistence()` + `flush()`) spread over the K nudges. PTB's default
  `on_flush=False` would instead write the whole file once per changed user: K times.

BENCH_QUICK=1: 20,000 people and K = 500.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks._stores import quick
from benchmarks._support import NOW, fill_pickle, fill_sqlite, status_kib
from bot.adapters.base import Delivery
from bot.domain import Outgoing

PEOPLE, QUICK_PEOPLE = 100_000, 20_000
DUE, QUICK_DUE = 2_000, 500
ROOT = Path(__file__).resolve().parent.parent


class NoopSender:
    """Sends nothing and reports success: the platform is not what is measured."""

    platform = "telegram"

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        self.sent += 1
        return Delivery.SENT


def settle() -> int:
    gc.collect()
    return status_kib("VmRSS")


# ---- ours ------------------------------------------------------------------------------------------
async def ours(db: Path, due: int) -> dict[str, Any]:
    from bot.dispatcher import Dispatcher, DispatchSettings
    from bot.engine import Engine
    from bot.safety import CrisisDetector, ResourceBook
    from bot.store import store_from_url
    from bot.templates import Templates

    rss0 = settle()
    t0 = time.perf_counter()
    store = store_from_url(f"sqlite:///{db}")
    await store.open()
    engine = Engine(store, Templates(), CrisisDetector.load(), ResourceBook.load(), clock=lambda: NOW)
    sender = NoopSender()
    settings = DispatchSettings(rates={})  # no pacing: the CPU is what is measured
    dispatcher = Dispatcher(store, engine, [sender], settings, clock=lambda: NOW, owner="bench")
    await store.earliest_due(["telegram"])  # knows when to wake: ready
    startup = time.perf_counter() - t0
    rss1 = settle()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = await dispatcher.run_once()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await store.close()
    assert report.sent == due == sender.sent, (report, sender.sent)
    return {
        "startup_s": startup,
        "rss_delta_kib": rss1 - rss0,
        "rss_kib": rss1,
        "hwm_kib": status_kib("VmHWM"),
        "cpu_ms": cpu / due * 1000,
        "wall_s": wall,
    }


# ---- the baseline ----------------------------------------------------------------------------------
async def baseline(pickle_path: Path, due: int) -> dict[str, Any]:
    from telegram.ext import CallbackContext

    from benchmarks import baseline_bot
    from benchmarks._support import LocalRequest, render_nudge
    from bot.domain import Rhythm, Schedule, TargetKind
    from bot.nudges.content import remember

    sender = NoopSender()
    done = asyncio.Event()
    templates = baseline_bot.templates()

    async def nudge(context: CallbackContext) -> None:  # type: ignore[type-arg]
        """The job: the same nudge our dispatcher would send, chosen from what user_data holds."""
        job, data = context.job, context.user_data
        assert job is not None and data is not None
        n = data["nudges"]
        s = Schedule(
            platform="telegram",
            target_kind=TargetKind.PERSON,
            target_id=str(job.user_id),
            chat_id=str(job.chat_id),
            rhythm=Rhythm.DAILY,
            local_time=n["time"],
            timezone=n["timezone"],
            next_due_at=None,
            created_at=n["created_at"],
            sent_count=n["sent_count"],
            recent_templates=tuple(n["recent"]),
        )
        content, message = render_nudge(templates, s, data["answers"])
        if await sender.send(s.chat_id, message) is Delivery.SENT:
            n["sent_count"] += 1
            n["recent"] = list(remember(s.recent_templates, content.template))
        if sender.sent == due:
            done.set()

    rss0 = settle()
    t0 = time.perf_counter()
    app = baseline_bot.build(pickle_path, LocalRequest())
    await app.initialize()  # loads the pickle
    queue = app.job_queue
    assert queue is not None
    for user_id, data in app.user_data.items():  # jobs are not persisted: make them again
        n = data.get("nudges")
        if n:
            hour, minute = map(int, n["time"].split(":"))
            queue.run_daily(
                nudge,
                dtime(hour, minute, tzinfo=ZoneInfo(n["timezone"])),
                chat_id=user_id,
                user_id=user_id,
                name=f"nudge-{user_id}",
                job_kwargs={"misfire_grace_time": None},
            )
    await app.start()  # starts the scheduler
    startup = time.perf_counter() - t0
    rss1 = settle()

    scheduler = queue.scheduler
    scheduler.pause()
    now = datetime.now(UTC)
    by_user = {job.user_id: job for job in queue.jobs()}
    for user_id in range(1, due + 1):  # make K of them due at once
        by_user[user_id].job.modify(next_run_time=now)
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    scheduler.resume()
    await asyncio.wait_for(done.wait(), timeout=600)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    cpu1 = time.process_time()
    await app.update_persistence()
    await app.persistence.flush()  # type: ignore[union-attr]
    flush_cpu = time.process_time() - cpu1
    await app.stop()
    await app.shutdown()
    return {
        "jobs": len(by_user),
        "startup_s": startup,
        "rss_delta_kib": rss1 - rss0,
        "rss_kib": rss1,
        "hwm_kib": status_kib("VmHWM"),
        "cpu_ms": cpu / due * 1000,
        "flush_ms": flush_cpu * 1000,
        "wall_s": wall,
    }


# ---- the parent: prepare the files, run each side in its own process --------------------------------
def in_subprocess(side: str, path: Path, due: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.jobqueue_nudges", "--side", side, str(path), str(due)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{side} side failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(folder: Path, people: int, due: int) -> tuple[Path, Path]:
    from benchmarks import baseline_bot
    from bot.store import store_from_url

    db = folder / "ours.db"

    async def schema() -> None:
        store = store_from_url(f"sqlite:///{db}")
        await store.open()
        await store.close()

    asyncio.run(schema())
    fill_sqlite(db, people, schedules=True, due=due)
    pickle_path = folder / "baseline.pickle"
    # Real clock times two to twelve hours ahead, so no job falls due by itself during the run.
    later = datetime.now(UTC) + timedelta(hours=2)
    fill_pickle(pickle_path, people, baseline_bot.CONVERSATION, baseline_bot.DONE, nudges_from=later)
    return db, pickle_path


def measure() -> tuple[int, int, dict[str, Any], dict[str, Any]]:
    people, due = (QUICK_PEOPLE, QUICK_DUE) if quick() else (PEOPLE, DUE)
    with tempfile.TemporaryDirectory() as tmp:
        db, pickle_path = prepare(Path(tmp), people, due)
        a = in_subprocess("ours", db, due)
        b = in_subprocess("baseline", pickle_path, due)
    assert b["jobs"] == people, b
    return people, due, a, b


def table_rows() -> list[tuple[str, str, str]]:
    """(measure, result, target) rows for `python -m benchmarks`."""
    people, due, a, b = measure()
    n = f"{people // 1000}k people"
    flush_per = b["flush_ms"] / due
    return [
        (
            f"start-up after restart, {n}",
            f"ours {a['startup_s'] * 1000:,.0f} ms, JobQueue {b['startup_s']:,.2f} s "
            f"({b['startup_s'] / a['startup_s']:,.0f}x)",
            "ours < 1 s",
        ),
        (
            f"RSS after start-up minus after imports, {n}",
            f"ours {a['rss_delta_kib'] / 1024:,.1f} MiB, JobQueue {b['rss_delta_kib'] / 1024:,.0f} MiB "
            f"({b['rss_delta_kib'] / max(a['rss_delta_kib'], 1):,.0f}x)",
            "-",
        ),
        (
            f"RSS after start-up / peak, {n}",
            f"ours {a['rss_kib'] / 1024:,.0f} / {a['hwm_kib'] / 1024:,.0f} MiB, "
            f"JobQueue {b['rss_kib'] / 1024:,.0f} / {b['hwm_kib'] / 1024:,.0f} MiB",
            "-",
        ),
        (
            f"CPU per due nudge, ours, {due:,} due of {n}",
            f"{a['cpu_ms']:.2f} ms (claim, render, no-op send, durable record each)",
            "<= 1 ms",
        ),
        (
            f"CPU per due nudge, JobQueue, {due:,} due of {n}",
            f"{b['cpu_ms']:.2f} ms (run, nothing written); {b['cpu_ms'] + flush_per:.2f} ms "
            f"with one pickle write shared by the {due:,}",
            "-",
        ),
        (
            f"CPU per due nudge, ours / JobQueue, {n}",
            f"{a['cpu_ms'] / b['cpu_ms']:.1f}x; "
            f"{a['cpu_ms'] / (b['cpu_ms'] + flush_per):.1f}x against it with its write",
            "-",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=("ours", "baseline"))
    parser.add_argument("path", nargs="?", type=Path)
    parser.add_argument("due", nargs="?", type=int)
    args = parser.parse_args()
    if args.side is not None:  # one side, in this (fresh) process: JSON on the last line
        run = ours if args.side == "ours" else baseline
        print(json.dumps(asyncio.run(run(args.path, args.due))))
        return
    print("jobqueue_nudges: daily nudges, our store + dispatcher versus PTB's JobQueue")
    for measure_, result, target in table_rows():
        print(f"{measure_}: {result}  [{target}]")


if __name__ == "__main__":
    main()
