"""One plain `sqlite3` connection on a thread of its own: coroutines hand it whole functions to run.

A turn's store work is then one or two hops to the thread (read everything, then write and commit),
not one per statement. Results come back to the event loop with `loop.call_soon_threadsafe`. A turn's
reads may run on the event loop instead, when the thread has nothing queued or running (`idle`): a hop
costs more than those reads (two thread wake-ups), and with nothing in flight nobody else is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

Then = Callable[[Any, BaseException | None], None]  # (result, error), called on the event loop
Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, Then]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _deliver(future: asyncio.Future[Any], outcome: Any) -> None:
    """Settle `future` with its entry of a batch's results: a value, or the error it ended with."""
    if future.done():  # its waiter was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class StoreJobError(sqlite3.Error):
    """A grouped turn failed without an error of its own to report."""


class ConnectionThread:
    """A sqlite3 connection opened, used and closed on one worker thread, jobs taken in order."""

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = int(busy_timeout_ms)  # what the store sets; restored after a try `here`
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._busy = 0  # jobs posted whose `then` has not run yet (counted on the event loop only)

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
            fn, args, loop, then = job
            try:
                result, error = fn(self._conn, *args), None
            except BaseException as exc:  # handed back to the event loop
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(self._finished, then, result, error)
        if self._conn is not None:
            self._conn.close()

    def _finished(self, then: Then, result: Any, error: BaseException | None) -> None:
        """On the event loop, once the thread is done with a job (and so with the connection)."""
        self._busy -= 1
        then(result, error)

    @property
    def idle(self) -> bool:
        """Open, with no job queued or running on the thread: the connection is free to use `here`."""
        return self._busy == 0 and self._thread is not None and self._conn is not None

    def here(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the calling (event loop) thread; only while `idle`.

        For short work that must not wait on a lock: the thread is the place for anything that may
        (COMMIT's fsync, BEGIN IMMEDIATE behind another process's writer: see `begin_here`).
        """
        if not self.idle:
            raise RuntimeError("the connection thread is busy")
        return fn(self._conn, *args)

    def begin_here(self, db: sqlite3.Connection) -> bool:
        """BEGIN IMMEDIATE without waiting (for `here`): False when another connection holds the write
        lock (the caller then hands its work to the thread, which waits up to the busy timeout)."""
        db.execute("PRAGMA busy_timeout = 0")
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        finally:
            db.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        return True

    def post(self, fn: Callable[..., Any], *args: Any, then: Then) -> None:
        """Queue `fn(connection, *args)` on the thread; `then(result, error)` runs on the event loop after.

        What `then` does happens in the same loop iteration as the job's end (a future set there wakes
        its waiter next), with no future of its own that a cancelled waiter could take down with it.
        """
        if self._thread is None:
            raise sqlite3.OperationalError("unable to open database: the store is not open")
        self._jobs.put((fn, args, asyncio.get_running_loop(), then))
        self._busy += 1

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue `fn(connection, *args)` on the thread; the future gets its result (or its error)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.post(fn, *args, then=lambda result, error: _settle(future, result, error))
        return future

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the thread and return its result (or raise its error)."""
        return await self.submit(fn, *args)

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


# ---- group commit: turns that arrive together share one transaction, and so one COMMIT / fsync ----
Writes = list[tuple[str, tuple[Any, ...]]]
Opener = Callable[..., tuple[Any, Writes]]  # a turn's reads; returns (value, the writes it already made)
Read = tuple[Opener, tuple[Any, ...], asyncio.Future[Any]]  # a turn waiting for its first hop


@dataclass(eq=False)
class Member:
    """A turn done with its body, waiting for the COMMIT of its group (the group's last turn runs it).

    `state` and `error` are written on the connection thread only, and read once the job that settled
    them is done: "open" until then, "committed" or "failed".
    """

    opened: Writes  # what its first hop wrote (its update key), redone if the group is lost
    writes: Writes  # its own writes, run under a SAVEPOINT of their own when the group closes
    undo: Writes  # reverses `opened` should its writes fail
    done: asyncio.Future[None]
    state: str = "open"
    error: BaseException | None = None


@dataclass(eq=False)
class Group:
    """The open transaction: turns join it until it is full, the last one out commits it."""

    in_flight: int = 0  # turns that have begun and not yet left
    joined: int = 0
    members: list[Member] = field(default_factory=list)


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _run(db: sqlite3.Connection, statements: Writes) -> None:
    for sql, params in statements:
        db.execute(sql, params)


def _alone(db: sqlite3.Connection, member: Member) -> None:
    """Commit a member's statements in a transaction of their own (the group holding them was lost)."""
    try:
        db.execute("BEGIN IMMEDIATE")
        _run(db, member.opened)
        _run(db, member.writes)
        db.execute("COMMIT")
        member.state = "committed"
    except sqlite3.Error as error:
        _rollback(db)
        member.state, member.error = "failed", error


def _redo_open(db: sqlite3.Connection, members: list[Member]) -> None:
    for member in members:
        if member.state == "open":
            _alone(db, member)


def _commit_group(db: sqlite3.Connection, members: list[Member]) -> None:
    """COMMIT the open transaction; if that fails (or it was lost), commit each member on its own."""
    if db.in_transaction:
        try:
            db.execute("COMMIT")
        except sqlite3.Error:
            _rollback(db)
        else:
            for member in members:
                if member.state == "open":
                    member.state = "committed"
    _redo_open(db, members)


def _open_turn(db: sqlite3.Connection, opener: Opener, args: tuple[Any, ...]) -> tuple[Any, Writes]:
    """A turn's first hop: join the open transaction (or BEGIN IMMEDIATE one) and run `opener`'s reads."""
    if not db.in_transaction:
        db.execute("BEGIN IMMEDIATE")
    return opener(db, *args)


def _open_turns(db: sqlite3.Connection, reads: list[tuple[Opener, tuple[Any, ...]]]) -> list[Any]:
    """Several turns' first hops in one job: for each, its (value, writes) or its error."""
    results: list[Any] = []
    for opener, args in reads:
        try:
            results.append(_open_turn(db, opener, args))
        except Exception as error:  # that turn's own
            results.append(error)
    return results


def _open_turn_here(
    db: sqlite3.Connection, conn: ConnectionThread, opener: Opener, args: tuple[Any, ...]
) -> tuple[Any, Writes] | None:
    """`_open_turn` on the event loop (the thread idle): joins the open transaction, or begins one only
    if it can without waiting; None when it cannot (the thread then does it, waiting for the lock)."""
    if not db.in_transaction and not conn.begin_here(db):
        return None
    return opener(db, *args)


def _undo(db: sqlite3.Connection, undo: Writes) -> None:
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            _run(db, undo)


def _abandon_turn(db: sqlite3.Connection, undo: Writes, closing: list[Member] | None) -> None:
    """A turn that will not write: undo what its first hop wrote; close the group if it was the last."""
    _undo(db, undo)
    if closing is not None:
        _close_group(db, closing)


def _write_member(db: sqlite3.Connection, member: Member, alone: bool) -> None:
    """A member's writes in the open transaction, under a SAVEPOINT unless the transaction is its `alone`.

    A failing member is rolled back to its savepoint (and its `undo` run) while the others go on; alone,
    the whole ROLLBACK will do. If the transaction is gone (an earlier error ended it), the member is
    committed on its own; one lost here leaves the members before it to `_commit_group`.
    """
    if not db.in_transaction:
        _alone(db, member)
        return
    try:
        if alone:
            _run(db, member.writes)
        else:
            db.execute("SAVEPOINT turn")
            _run(db, member.writes)
            db.execute("RELEASE turn")
    except sqlite3.Error as error:
        member.state, member.error = "failed", error
        if alone:
            _rollback(db)
        elif db.in_transaction:
            db.execute("ROLLBACK TO turn")
            db.execute("RELEASE turn")
            _undo(db, member.undo)


def _close_group(db: sqlite3.Connection, members: list[Member]) -> None:
    """The group's last hop: every member's writes, then the COMMIT that makes them all durable."""
    alone = len(members) == 1
    for member in members:
        _write_member(db, member, alone)
    _commit_group(db, members)


def _write_batch(db: sqlite3.Connection, jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
    """Short writes that arrived together: each under a SAVEPOINT in one transaction, one COMMIT.

    Each entry of the result is the job's value, or its error (that job rolled back, the rest kept).
    If the COMMIT itself fails, each job runs again in a transaction of its own.
    """
    results: list[Any] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for fn, args in jobs:
            db.execute("SAVEPOINT job")
            try:
                results.append(fn(db, *args))
                db.execute("RELEASE job")
            except Exception as error:  # handed to that caller; the others go on
                results.append(error)
                db.execute("ROLLBACK TO job")
                db.execute("RELEASE job")
        db.execute("COMMIT")
    except sqlite3.Error:
        _rollback(db)
        return [_write_alone(db, fn, args) for fn, args in jobs]
    return results


def _write_alone(db: sqlite3.Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    try:
        db.execute("BEGIN IMMEDIATE")
        result = fn(db, *args)
        db.execute("COMMIT")
        return result
    except sqlite3.Error as error:
        _rollback(db)
        return error


class GroupCommit:
    """Runs store work on one connection thread and lets concurrent turns share a COMMIT.

    Turns of different people overlap: each joins the open transaction for its reads, and the last turn
    in flight runs every member's writes (a SAVEPOINT each) and the COMMIT in one hop of its own. A
    turn's `async with` ends only after the COMMIT that holds it, so no reply goes out for a turn that
    is not durable. Turns of one person take turns (`key`). Anything else (`run`) waits for the open
    group to commit and runs alone. With `enabled=False` every turn has the transaction to itself.
    """

    def __init__(self, conn: ConnectionThread, *, enabled: bool = True, max_turns: int = 64) -> None:
        self.conn = conn
        self.enabled = enabled
        self.max_turns = max_turns if enabled else 1
        self.commits = 0  # COMMITs that ended a group of turns (how much grouping happened)
        self.turns = 0
        self.batches = 0  # transactions that committed short writes (`write`)
        self._cond = asyncio.Condition()
        self._group: Group | None = None
        self._exclusive = 0  # `run` calls waiting or running: no new turn joins meanwhile
        self._people: dict[Any, tuple[asyncio.Lock, int]] = {}
        self._waking: set[asyncio.Task[None]] = set()
        self._waiting = 0  # coroutines inside `_wait`: only then has a closed group anyone to wake
        self._writes: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._reads: list[Read] = []
        self._reading = False  # a batch of first hops is on the thread: the next waits for its end

    # ---- one person at a time --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _person(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._people.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._people[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._people[key]
            if users == 1:
                del self._people[key]
            else:
                self._people[key] = (lock, users - 1)

    # ---- the open group --------------------------------------------------------------------------
    def _admits(self) -> bool:
        return not self._exclusive and (self._group is None or self._group.joined < self.max_turns)

    async def _wait(self, predicate: Callable[[], bool]) -> None:
        """`self._cond.wait_for(predicate)`, counted in `_waiting` (the caller holds the condition)."""
        self._waiting += 1
        try:
            await self._cond.wait_for(predicate)
        finally:
            self._waiting -= 1

    async def _join(self) -> Group:
        if self._waiting or not self._admits():  # else join now: nobody is ahead and nothing to await
            async with self._cond:
                await self._wait(self._admits)
        group = self._group = self._group or Group()
        group.in_flight += 1
        group.joined += 1
        return group

    def _leave(self, group: Group) -> list[Member] | None:
        """One turn fewer in flight; when it was the last, close the group: the members to commit."""
        group.in_flight -= 1
        if group.in_flight:
            return None
        if self._group is group:
            self._group = None
        self.commits += 1
        self._wake()
        return list(group.members)

    def _wake(self) -> None:
        if not self._waiting:  # whoever comes later finds the group closed without being told
            return

        async def wake() -> None:
            async with self._cond:
                self._cond.notify_all()

        task = asyncio.get_running_loop().create_task(wake())
        self._waking.add(task)
        task.add_done_callback(self._waking.discard)

    @staticmethod
    def _settle(group: Group, broken: BaseException | None) -> None:
        """A job on `group` is done (`broken`: the error it raised): resolve the futures of the members
        it committed or failed."""
        for member in group.members:
            if member.done.done():
                continue
            if member.state == "committed":
                member.done.set_result(None)
            elif member.state == "failed":
                member.done.set_exception(member.error or StoreJobError())
            elif broken is not None and not group.in_flight:  # the closing job itself broke
                member.done.set_exception(broken)

    def _job(self, group: Group, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future = self.conn.submit(fn, *args)
        future.add_done_callback(lambda f: self._settle(group, None if f.cancelled() else f.exception()))
        return future

    # ---- first hops on the thread, batched ------------------------------------------------------------
    def _read(self, opener: Opener, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        """A turn's first hop on the thread. Turns asking while a batch is out go together in the next:
        one job and one wake-up of the event loop for them all."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reads.append((opener, args, future))
        if not self._reading:
            self._send_reads()
        return future

    def _send_reads(self) -> None:
        """Post the waiting first hops as one job; a turn cancelled before it went out is left out (its
        undo is queued already, and must not run before its reads)."""
        batch = [read for read in self._reads if not read[2].done()]
        self._reads = []
        if not batch:
            return
        reads = [(opener, args) for opener, args, _ in batch]
        try:
            self.conn.post(
                _open_turns, reads, then=lambda results, error: self._got_reads(batch, results, error)
            )
        except sqlite3.Error as error:  # the store is closed: nobody reads
            for _, _, future in batch:
                _deliver(future, error)
        else:
            self._reading = True

    def _got_reads(self, batch: list[Read], results: list[Any] | None, error: BaseException | None) -> None:
        self._reading = False
        for (_, _, future), result in zip(batch, results or [error] * len(batch), strict=True):
            _deliver(future, result)  # one whose waiter was cancelled is skipped: `turn` undoes it
        if self._reads:
            self._send_reads()

    @contextlib.asynccontextmanager
    async def turn(self, key: Any, opener: Opener, args: tuple[Any, ...], undo: Writes) -> AsyncIterator[Any]:
        """Yield (`opener`'s value, the list the turn appends its writes to); durable when it ends.

        `opener(db, *args)` runs the turn's reads (and first writes) inside the open transaction and
        returns (value, the writes made); `undo` reverses those if the turn ends without committing.
        """
        async with self._person(key):
            group = await self._join()
            try:
                # The reads run here when the thread is idle (no hop), else on the thread (batched). A
                # waiter cancelled there leaves a batch already out to run, and the `except` queues its
                # undo after it; a batch not yet out goes without it.
                opened = self.conn.here(_open_turn_here, self.conn, opener, args) if self.conn.idle else None
                if opened is None:
                    opened = await self._read(opener, args)
                value, wrote = opened
                writes: Writes = []
                yield value, writes
            except BaseException:
                closing = self._leave(group)
                await asyncio.shield(self._job(group, _abandon_turn, undo, closing))
                raise
            self.turns += 1
            member = Member(wrote, writes, undo, asyncio.get_running_loop().create_future())
            group.members.append(member)
            closing = self._leave(group)
            if closing is not None:  # the last turn out runs the group's writes and COMMIT
                self.conn.post(_close_group, closing, then=lambda _, broken: self._settle(group, broken))
            # Settled on the loop when the COMMIT holding this turn is done. A waiter cancelled meanwhile
            # only stops waiting: the job and the settling of the group go on without it.
            await member.done

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` alone on the thread, once the open group has committed."""
        async with self._cond:
            self._exclusive += 1
            try:
                await self._wait(lambda: self._group is None)
                return await self.conn.call(fn, *args)
            finally:
                self._exclusive -= 1
                self._cond.notify_all()

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` in a write transaction, returned once committed.

        Writes that arrive while one batch is committing wait and go together in the next: one
        transaction, a SAVEPOINT each (a failing one is rolled back alone), one COMMIT. A caller that
        stops waiting cancels only its own future (the batch goes on; `_deliver` skips it): no `shield`,
        whose extra callback would cost every write one more turn of the event loop.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writes.append((fn, args, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        while self._writes:
            batch, self._writes = self._writes, []
            self.batches += 1
            try:
                results = await self.run(_write_batch, [(fn, args) for fn, args, _ in batch])
            except BaseException as error:  # the batch never ran: every caller hears why
                results = [error] * len(batch)
            for (_, _, future), result in zip(batch, results, strict=True):
                _deliver(future, result)

    async def close(self) -> None:
        """Let the open group and queued writes commit, then stop the thread."""
        if self._writer is not None:
            with contextlib.suppress(BaseException):
                await self._writer
        async with self._cond:
            await self._wait(lambda: self._group is None)
        await self.conn.close()
