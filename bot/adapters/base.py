"""What every adapter offers the rest of the bot: a way to send to a person or channel."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from bot.domain import Outgoing


class Delivery(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot, closed DMs, chat gone: stop sending
    FAILED = "failed"  # a temporary failure after retries: try again later


class Sender(Protocol):
    """Sends a message outside a conversation turn (nudges, community posts)."""

    platform: str

    async def send(self, chat_id: str, message: Outgoing) -> Delivery: ...


def parse_command(text: str) -> tuple[str, str] | None:
    """'/Start@KeepGoingBot payload' -> ('start', 'payload'); None when the text is no command."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not all(ch.isalnum() or ch == "_" for ch in name):
        return None
    return name, args.strip()
