"""What every adapter offers the rest of the bot: a way to send to a person or channel."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Protocol

from bot.domain import Outgoing


class Delivery(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot, closed DMs, chat gone: stop sending
    FAILED = "failed"  # a temporary failure after retries: try again later


class PlatformStopped(Exception):
    """An adapter cannot go on in this process (another process polls the same Telegram token): the
    process stops with this one-line reason rather than retrying for ever."""


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
