"""What every adapter offers the rest of the bot: a way to send to a person or channel, and the per-chat
send queue that lets a crisis reply go before anything still waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import import_module

from bot.domain import Delivery, Sender

__all__ = [
    "STOP_GRACE",
    "Delivery",
    "Job",
    "Outbox",
    "PlatformStopped",
    "Run",
    "Sender",
    "Superseded",
    "lazy_exports",
    "parse_command",
    "split_text",
]

logger = logging.getLogger(__name__)


class PlatformStopped(Exception):
    """An adapter cannot go on in this process (another process polls the same Telegram token): the
    process stops with this one-line reason rather than retrying for ever."""


class Superseded(Exception):
    """A message was given up before its call went out: an urgent one for the same chat came first."""


def parse_command(text: str) -> tuple[str, str] | None:
    """'/Start@KeepGoingBot payload' -> ('start', 'payload'); None when the text is no command."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not all(ch.isalnum() or ch == "_" for ch in name):
        return None
    return name, args.strip()


def lazy_exports(package: str, module: str, names: list[str]) -> Callable[[str], object]:
    """A platform package's `__getattr__`: `names` come from its `module` on first use, so importing the
    package (config reads its settings section) loads no platform library."""

    def exported(name: str) -> object:
        if name in names:
            return getattr(import_module(f"{package}.{module}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return exported


_ENTITY_TAIL = re.compile(r"&#?[A-Za-z0-9]{0,10}$")


def split_text(text: str, limit: int) -> list[str]:
    """Split escaped text into parts of at most `limit` characters, for platforms with a message limit.

    Cuts at the last paragraph break, else line break, else space in the window (preferring one in its
    second half, so no part is needlessly short), else hard at the limit. A hard cut never lands inside an
    HTML entity such as `&amp;`, so each part stays valid for Telegram's HTML parse mode. The whitespace
    at a cut is dropped; no part is empty.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut, skip = _cut_point(rest, limit)
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut + skip :].lstrip("\n ")
    if rest:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> tuple[int, int]:
    """Where to cut `text` (longer than `limit`), and how many separator characters to drop there."""
    window = text[: limit + 1]  # a separator right after the limit still allows a full-length part
    for minimum in (limit // 2, 1):
        for separator in ("\n\n", "\n", " "):
            index = window.rfind(separator, 0, limit + 1)
            if index >= minimum:
                return index, len(separator)
    cut = limit
    entity = _ENTITY_TAIL.search(text[:cut])
    if entity is not None and entity.start() > 0:
        cut = entity.start()  # keep `&amp;` whole: cut before its `&`
    return cut, 0


# ---- per-chat send queues -------------------------------------------------------------------------
STOP_GRACE = 2.0  # seconds send queues get to drain when the bot stops; the rest is dropped

Run = Callable[[asyncio.Event | None], Awaitable[Delivery]]


@dataclass(eq=False)
class Job:
    """One thing to send to a chat. `run` gets an event that, once set, means "give up if not sent yet".

    `stale` jobs (ordinary messages and nudges) are dropped when an urgent job arrives; others (a keyboard
    removal) only step behind it. Jobs of one `turn` go together: when one is not SENT, the rest of that
    turn is dropped (the rest makes no sense without it). `done` gets the verdict, for callers that wait.
    """

    run: Run
    urgent: bool = False
    stale: bool = True
    turn: object | None = None
    done: asyncio.Future[Delivery] | None = None

    def settle(self, verdict: Delivery) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(verdict)


@dataclass(eq=False)
class _Chat:
    jobs: deque[Job] = field(default_factory=deque)
    current: Job | None = None
    interrupt: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def insert_urgent(self, job: Job) -> None:
        """After the urgent jobs already at the front, before everything else."""
        index = 0
        while index < len(self.jobs) and self.jobs[index].urgent:
            index += 1
        self.jobs.insert(index, job)


class Outbox:
    """Per-chat send queues; only chats with something to send have one (and a task draining it).

    Ordinary jobs keep their order (first in, first out). An urgent job (a crisis reply) goes to the front
    of its chat's queue, and the stale jobs still waiting for that chat are dropped (the rest of a plan, a
    repeated hint); the job being sent is told to give up if its call has not gone out yet (one on the
    wire finishes first). Only counts are logged, never text.
    """

    def __init__(self, platform: str, on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.platform = platform
        self._chats: dict[str, _Chat] = {}
        self._on_failure = on_failure
        self.dropped = 0  # stale messages dropped for urgent ones, since start (for tests and metrics)

    @property
    def busy_chats(self) -> int:
        return len(self._chats)

    def put(self, chat_id: str, jobs: list[Job]) -> None:
        """Queue one turn's jobs: urgent ones first (dropping what is stale), the rest at the back."""
        if not jobs:
            return
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
        urgent = [job for job in jobs if job.urgent]
        if urgent:
            self._clear_stale(chat)
            for job in urgent:
                chat.insert_urgent(job)
        chat.jobs.extend(job for job in jobs if not job.urgent)
        if chat.task is None:
            chat.task = asyncio.create_task(self._drain(chat_id, chat), name=f"{self.platform}-outbox")

    async def send(self, chat_id: str, job: Job) -> Delivery:
        """Queue one job and wait for its verdict (nudges: the dispatcher needs it). A caller that stops
        waiting takes its job out of the queue if it has not started."""
        job.done = asyncio.get_running_loop().create_future()
        self.put(chat_id, [job])
        try:
            return await asyncio.shield(job.done)
        except asyncio.CancelledError:
            chat = self._chats.get(chat_id)
            if chat is not None and job in chat.jobs:
                chat.jobs.remove(job)
            raise

    def _clear_stale(self, chat: _Chat) -> None:
        kept: deque[Job] = deque()
        dropped = 0
        for job in chat.jobs:
            if job.stale and not job.urgent:
                job.settle(Delivery.FAILED)  # a waiting nudge is tried again later by the dispatcher
                dropped += 1
            else:
                kept.append(job)
        chat.jobs = kept
        if chat.current is not None and not chat.current.urgent:
            chat.interrupt.set()  # the one waiting for its slot is stale too
        if dropped:
            self.dropped += dropped
            logger.info("%s: an urgent reply goes first; %d waiting messages dropped", self.platform, dropped)

    async def _drain(self, chat_id: str, chat: _Chat) -> None:
        try:
            while chat.jobs:
                job = chat.jobs.popleft()
                chat.current = job
                chat.interrupt.clear()
                try:
                    verdict = await job.run(None if job.urgent else chat.interrupt)
                except Superseded:
                    if job.stale:
                        job.settle(Delivery.FAILED)
                        self.dropped += 1
                        logger.info("%s: a message waiting for its slot was dropped", self.platform)
                    else:
                        chat.insert_urgent(job)  # behind the urgent ones, still before the rest
                    continue
                except Exception as error:
                    if self._on_failure is not None:
                        self._on_failure(error)
                    verdict = Delivery.FAILED
                finally:
                    chat.current = None
                job.settle(verdict)
                if verdict is not Delivery.SENT and job.turn is not None:
                    rest = [j for j in chat.jobs if j.turn is job.turn]
                    for other in rest:
                        chat.jobs.remove(other)
                        other.settle(Delivery.FAILED)
        finally:
            for job in chat.jobs:  # only on cancellation (stop): nothing more goes out
                job.settle(Delivery.FAILED)
            chat.jobs.clear()
            if self._chats.get(chat_id) is chat:
                del self._chats[chat_id]

    async def drained(self) -> None:
        """Wait until every queue is empty: nothing waiting and nothing being sent (for benchmarks and
        tests that count what went out). Queues filled meanwhile are waited for too."""
        while tasks := [chat.task for chat in self._chats.values() if chat.task is not None]:
            await asyncio.wait(tasks)

    async def close(self, grace: float = STOP_GRACE) -> None:
        """Let the queues drain for up to `grace` seconds, then drop what is left (counted, not sent)."""
        tasks = [chat.task for chat in self._chats.values() if chat.task is not None]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        left = sum(len(chat.jobs) + (chat.current is not None) for chat in self._chats.values())
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if left:
            logger.warning("%s: stopping; %d messages not sent", self.platform, left)
