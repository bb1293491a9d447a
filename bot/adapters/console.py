"""The console adapter: a real adapter over stdin/stdout, with numbered options for buttons.

Reads line by line, so it works both at a terminal and scripted (`printf '/start\n1\n' | keepgoing chat`).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from bot.adapters.base import Delivery, parse_command
from bot.domain import Button, Incoming, Kind, Outgoing, Who
from bot.engine import Engine

PLATFORM = "console"


class ConsoleAdapter:
    """Chat with the engine in a terminal, as one person (`user_id`)."""

    platform = PLATFORM

    def __init__(
        self,
        engine: Engine,
        *,
        user_id: str = "local",
        locale: str = "en",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.engine = engine
        self.who = Who(PLATFORM, user_id, user_id)
        self.locale = locale
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.options: list[Button] = []
        self._write_lock = asyncio.Lock()

    @property
    def interactive(self) -> bool:
        return self.stdin.isatty()

    async def run(self) -> None:
        """Chat until end of input (or Ctrl-D)."""
        await self._print(self.engine.notice("console_intro", PLATFORM, self.locale))
        lines = self._read_lines()
        while True:
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await lines.get()
            if line is None:
                return
            event = self.incoming(line.rstrip("\r\n"))
            if event is None:
                notice = self.engine.notice(
                    "console_bad_number", PLATFORM, self.locale, count=len(self.options)
                )
                await self._print(Outgoing(notice.text, (tuple(self.options),)))
                continue
            replies = await self.engine.handle(event)
            if replies and not any(message.buttons for message in replies):
                self.options = []  # numbers only ever pick from the options on screen now
            for message in replies:
                await self._print(message)

    def _read_lines(self) -> asyncio.Queue[str | None]:
        """Lines from stdin, read by a daemon thread so a blocked read never holds up shut-down."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def pump() -> None:
            try:
                for line in self.stdin:
                    loop.call_soon_threadsafe(queue.put_nowait, line)
            except (OSError, ValueError, UnicodeDecodeError):
                pass
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        return queue

    def incoming(self, line: str) -> Incoming | None:
        """Map one typed line: a /command, an option number, or free text (None: no such option)."""
        text = line.strip()
        command = parse_command(text)
        if command is not None:
            name, args = command
            return Incoming(self.who, Kind.COMMAND, command=name, args=args, locale=self.locale)
        if text.isdigit() and self.options:
            number = int(text)
            if 1 <= number <= len(self.options):
                return Incoming(
                    self.who,
                    Kind.BUTTON,
                    payload=self.options[number - 1].payload,
                    locale=self.locale,
                )
            return None
        return Incoming(self.who, Kind.TEXT, text=line, locale=self.locale)

    async def _print(self, message: Outgoing) -> None:
        async with self._write_lock:
            self.stdout.write(message.text + "\n")
            buttons = [b for row in message.buttons for b in row]
            if buttons:
                self.options = buttons
                for number, button in enumerate(buttons, start=1):
                    self.stdout.write(f"  {number}. {button.label}\n")
            if message.attachment is not None:  # a terminal shows the file itself
                name = message.attachment.filename
                body = message.attachment.content.decode("utf-8", errors="replace")
                self.stdout.write(f"\n--- {name} ---\n{body.rstrip()}\n--- {name} ---\n")
            self.stdout.write("\n")
            self.stdout.flush()

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        """Show a message that was not a reply (a nudge) in the running chat."""
        if chat_id != self.who.chat_id:
            return Delivery.UNREACHABLE
        await self._print(message)
        return Delivery.SENT
