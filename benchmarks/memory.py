"""Peak memory of `keepgoing run` with 100,000 people stored (target: under 150 MB).

Starts `keepgoing run` as a subprocess with no platform tokens (so it runs the console adapter and the
nudge dispatcher) against a SQLite file pre-filled with 100,000 people, each with a daily nudge schedule,
keeps its stdin open and idle, waits for the console's intro line and one more second, then reads VmHWM
(peak) and VmRSS from /proc/<pid>/status. Closing stdin then ends the chat, and the process must exit on
its own. There is no baseline here: the comparison's memory figures are in `jobqueue_nudges`.
BENCH_QUICK=1 stores 20,000 people.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._stores import quick
from benchmarks._support import fill_sqlite, status_kib

PEOPLE, QUICK_PEOPLE = 100_000, 20_000
TARGET_MB = 150
INTRO_TIMEOUT = 60.0
IDLE_SECONDS = 1.0


def keepgoing_run() -> list[str]:
    """The installed `keepgoing run` beside this Python, else the same through `python -m bot`."""
    script = Path(sys.executable).with_name("keepgoing")
    return [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot", "run"]


def prepared(folder: Path, people: int) -> Path:
    from bot.store import store_from_url

    db = folder / "keepgoing.db"

    async def schema() -> None:
        store = store_from_url(f"sqlite:///{db}")
        await store.open()
        await store.close()

    asyncio.run(schema())
    fill_sqlite(db, people, schedules=True)
    return db


def measure(people: int) -> tuple[int, int, float, int]:
    """(VmHWM KiB, VmRSS KiB, seconds to the intro line, exit code)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = prepared(folder, people)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
        env.update(DATABASE_URL=f"sqlite:///{db}", TELEGRAM_TOKEN="", DISCORD_TOKEN="", LOG_LEVEL="WARNING")
        t0 = time.perf_counter()
        process = subprocess.Popen(
            keepgoing_run(),
            cwd=folder,  # no .env of the developer's is read
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready = wait_for_output(process, INTRO_TIMEOUT)
            started = time.perf_counter() - t0
            if not ready:
                raise RuntimeError("keepgoing run printed nothing")
            time.sleep(IDLE_SECONDS)
            hwm, rss = status_kib("VmHWM", process.pid), status_kib("VmRSS", process.pid)
            assert process.stdin is not None
            process.stdin.close()  # end of input: the chat ends and the bot stops
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return hwm, rss, started, code


def wait_for_output(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once the process wrote its first lines (the console intro)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return False
    return bool(os.read(process.stdout.fileno(), 65536))


def table_rows() -> list[tuple[str, str, str]]:
    """(measure, result, target) rows for `python -m benchmarks`."""
    people = QUICK_PEOPLE if quick() else PEOPLE
    hwm, rss, started, code = measure(people)
    return [
        (
            f"`keepgoing run` idle, {people:,} people: peak RSS (VmHWM)",
            f"{hwm / 1024:,.1f} MiB ({hwm * 1024 / 1e6:,.1f} MB)",
            f"< {TARGET_MB} MB",
        ),
        (f"`keepgoing run` idle, {people:,} people: RSS now", f"{rss / 1024:,.1f} MiB", "-"),
        ("`keepgoing run`: to the intro line / exit code on EOF", f"{started:.2f} s / {code}", "- / 0"),
    ]


def main() -> None:
    print("memory: keepgoing run, idle console, people stored")
    for measure_, result, target in table_rows():
        print(f"{measure_}: {result}  [{target}]")


if __name__ == "__main__":
    main()
