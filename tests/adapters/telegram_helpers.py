"""Run the real bot (`python -m bot run`) as a subprocess against the fake Telegram, and act as people."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

from tests.fakes.telegram import FakeTelegram, SentMessage

START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """One `keepgoing run` process; its stderr is collected so tests can check what it logged."""

    def __init__(self, fake: FakeTelegram, workdir: Path, **env: str) -> None:
        self.fake = fake
        self.workdir = workdir
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "DISCORD_", "DATABASE_", "LOG_LEVEL", "PORT"))
        }
        self.env.update(
            TELEGRAM_TOKEN=fake.token,
            TELEGRAM_API_URL=fake.api_url,
            DATABASE_URL=f"sqlite:///{workdir / 'kg.db'}",
            PYTHONUNBUFFERED="1",
            **env,
        )
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = bytearray()
        self._reader: asyncio.Task[None] | None = None

    @property
    def log(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    async def start(self, ready: str = "getUpdates") -> None:
        """Start and wait until the bot polls (or, with `ready="setWebhook"`, set its webhook)."""
        before = len(self.fake.calls(ready))
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.workdir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read(self.proc))
        try:
            await self.fake.wait_for_request(ready, before + 1, timeout=START_TIMEOUT, in_flight=True)
        except TimeoutError:
            raise AssertionError(f"the bot did not start:\n{self.log}") from None

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            self.stderr.extend(chunk)

    async def terminate(self, timeout: float = 8.0) -> int:
        """SIGTERM, as a Procfile worker gets; returns the exit status (fails if it hangs)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"the bot did not stop within {timeout}s:\n{self.log}") from None
        await self._drain()
        return code

    async def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        await self._drain()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def _drain(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._reader, 5)

    async def close(self) -> None:
        if self.alive:
            await self.kill()

    def assert_nothing_leaked(self, said: list[str]) -> None:
        """Neither the token nor anything a person typed may appear in the logs."""
        log = self.log
        assert self.fake.token not in log
        assert self.fake.token.split(":", 1)[1] not in log
        for text in said:
            assert text not in log, f"a person's words reached the log: {text[:40]!r}"
        assert "Traceback" not in log, log


class Person:
    """A Telegram user talking to the bot through the fake: sends text, presses buttons by label."""

    def __init__(self, fake: FakeTelegram, user_id: int, said: list[str] | None = None) -> None:
        self.fake = fake
        self.user_id = user_id
        self.said = said if said is not None else []
        self.mark = fake.mark()

    async def send(self, text: str, replies: int = 1, timeout: float = 15.0) -> list[SentMessage]:
        """Send text and wait for `replies` new messages (not edits) in the chat; returns them."""
        if not text.startswith("/"):
            self.said.append(text)
        self.mark = self.fake.mark()
        self.fake.user_sends(self.user_id, text)
        return await self.wait(replies, timeout)

    async def wait(self, replies: int, timeout: float = 15.0) -> list[SentMessage]:
        """Wait until `replies` new messages arrived since the last action."""
        await self.fake.wait_for(lambda _r: len(self.new()) >= replies, self.user_id, timeout=timeout)
        return self.new()

    def new(self) -> list[SentMessage]:
        """Messages (not edits) the bot sent to this person since their last action."""
        return [r for r in self.fake.sent(self.user_id) if r.seq > self.mark and not r.edited]

    def last_with_button(self, label: str) -> SentMessage:
        """The newest message that currently shows a button starting with `label`."""
        for record in reversed(self.fake.sent(self.user_id)):
            current = self.fake.message(self.user_id, record.message_id) or {}
            for row in (current.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"].lower().startswith(label.lower()):
                        return record
        raise AssertionError(f"no message shows a button {label!r}")

    def data_for(self, record: SentMessage, label: str) -> str:
        for button in record.buttons:
            if button["text"].lower().startswith(label.lower()):
                return str(button["callback_data"])
        raise AssertionError(f"message {record.message_id} has no button {label!r}")

    async def press(
        self, label: str, replies: int = 1, record: SentMessage | None = None, timeout: float = 15.0
    ) -> list[SentMessage]:
        """Press a button (on `record`, or the newest message showing it) and wait for replies."""
        record = record or self.last_with_button(label)
        self.mark = self.fake.mark()
        self.fake.user_presses(self.user_id, record.message_id, self.data_for(record, label))
        return await self.wait(replies, timeout)


REFLECTION = ["Yes, let's begin", "Ireland", "I stopped going", *["Not really"] * 5]


async def to_the_last_question(person: Person) -> SentMessage:
    """/start, then through the reflection by buttons up to its last question (one reply a step)."""
    await person.send("/start")
    for label in REFLECTION:
        await person.press(label, 1)
    return person.last_with_button("Partly")
