"""One plain `sqlite3` connection on a thread of its own: coroutines hand it whole functions to run.

A turn's store work is then one or two hops to the thread (read everything, then write and commit),
not one per statement. Results come back to the event loop with `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, asyncio.Future[Any]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class ConnectionThread:
    """A sqlite3 connection opened, used and closed on one worker thread, jobs taken in order."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Start the thread and connect on it (autocommit mode: transactions are explicit)."""
        self._thread = threading.Thread(target=self._work, name="keepgoing-sqlite", daemon=True)
        self._thread.start()
        await self.call(self._connect)

    def _connect(self, _: Any) -> None:
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, loop, future = job
            try:
                result, error = fn(self._conn, *args), None
            except BaseException as exc:  # handed back to the awaiting coroutine
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, result, error)
        if self._conn is not None:
            self._conn.close()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the thread and return its result (or raise its error)."""
        if self._thread is None:
            raise sqlite3.OperationalError("unable to open database: the store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, args, loop, future))
        return await future

    async def close(self) -> None:
        """Finish the queued jobs, close the connection and end the thread."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(thread.join)

    # ---- a small awaitable `execute`, for diagnostics and tests (`await db.execute("PRAGMA …")`) ----
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Query:
        return Query(self, sql, tuple(params))


class Query:
    """`await`able (the rows fetched) and `async with`able (a cursor-like object over them)."""

    def __init__(self, conn: ConnectionThread, sql: str, params: tuple[Any, ...]) -> None:
        self._conn, self._sql, self._params = conn, sql, params

    async def _rows(self) -> Rows:
        sql, params = self._sql, self._params
        return Rows(await self._conn.call(lambda c: c.execute(sql, params).fetchall()))

    def __await__(self) -> Any:
        return self._rows().__await__()

    async def __aenter__(self) -> Rows:
        return await self._rows()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class Rows:
    """Fetched rows, read the way an async cursor is."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        return self._rows
