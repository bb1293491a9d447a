"""Fake platforms for nudges: an in-memory sender with scripted answers, and an HTTP platform on loopback.

`FakePlatform` is a tiny HTTP service that takes `POST /send {"chat_id", "text"}` and answers like a chat
platform would: 200 when delivered, 429 with `retry_after` when more than `limit` messages arrive within
one second, 403 for a chat that blocked the bot. It records every delivery, so tests (and the crash
test's separate worker processes) can be checked against what "the platform" really received, and by whom.
`stall(sender)` delivers that sender's next message but never answers it: the sender hangs between the
platform's OK and its own commit, the moment a crash makes a duplicate unavoidable.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.adapters.base import Delivery
from bot.domain import Outgoing
from tests.fakes.loopback import serve


@dataclass
class Sink:
    """A Sender that remembers what it was given and answers from a script (then SENT)."""

    platform: str = "console"
    script: deque[Delivery] = field(default_factory=deque)
    sent: list[tuple[str, Outgoing]] = field(default_factory=list)  # delivered only
    attempts: int = 0

    def answer(self, *deliveries: Delivery) -> None:
        self.script.extend(deliveries)

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        self.attempts += 1
        delivery = self.script.popleft() if self.script else Delivery.SENT
        if delivery is Delivery.SENT:
            self.sent.append((chat_id, message))
        return delivery

    @property
    def texts(self) -> list[str]:
        return [m.text for _, m in self.sent]


@dataclass(frozen=True)
class Received:
    chat_id: str
    text: str
    at: float  # time.monotonic() in the platform's process
    sender: str = ""  # who sent it, when the sender says (HttpSender's `name`)


class FakePlatform:
    """An HTTP chat platform on 127.0.0.1 with a per-second limit and blocked chats."""

    def __init__(self, *, limit: int | None = None, blocked: Iterable[str] = (), delay: float = 0.0) -> None:
        self.limit = limit
        self.blocked = set(blocked)
        self.delay = delay
        self.received: list[Received] = []
        self.rejected = 0  # 429s answered
        self._window: deque[float] = deque()
        self._stalling: set[str] = set()
        self.stalled: list[Received] = []  # delivered, never answered
        self.stalled_one = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakePlatform:
        app = web.Application()
        app.router.add_post("/send", self._send)
        self._runner, port = await serve(app)
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()  # stalled requests end, so shutting down need not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.monotonic()
        if self.limit is not None:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.limit:
                self.rejected += 1
                return web.json_response({"ok": False, "retry_after": 1}, status=429)
            self._window.append(now)
        if body["chat_id"] in self.blocked:
            return web.json_response({"ok": False, "description": "blocked"}, status=403)
        if self.delay:
            await asyncio.sleep(self.delay)
        received = Received(body["chat_id"], body["text"], now, body.get("sender", ""))
        self.received.append(received)
        if received.sender in self._stalling:
            self._stalling.discard(received.sender)
            self.stalled.append(received)
            self.stalled_one.set()
            await self._closing.wait()
        return web.json_response({"ok": True})

    def stall(self, sender: str) -> None:
        """Deliver `sender`'s next message but never answer it."""
        self._stalling.add(sender)

    def count_by_chat(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.received:
            counts[r.chat_id] = counts.get(r.chat_id, 0) + 1
        return counts


class HttpSender:
    """A Sender for `FakePlatform`: 200 SENT, 403 UNREACHABLE, anything else FAILED."""

    def __init__(self, url: str, platform: str = "fake", name: str = "") -> None:
        self.url = url
        self.platform = platform
        self.name = name
        self._session: aiohttp.ClientSession | None = None

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                f"{self.url}/send", json={"chat_id": chat_id, "text": message.text, "sender": self.name}
            ) as response:
                if response.status == 200:
                    return Delivery.SENT
                if response.status == 403:
                    return Delivery.UNREACHABLE
                return Delivery.FAILED
        except aiohttp.ClientError:
            return Delivery.FAILED

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
