"""Discord's message limits applied to an `Outgoing`: parts of at most 2,000 characters, at most five rows of
five buttons per message, and custom ids of at most 100 characters.

Pure functions, so the limits are tested without a network and the adapter only has to send the parts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.adapters.base import split_text
from bot.domain import Attachment, Button, Outgoing

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
MAX_ROWS = 5
ROW_WIDTH = 5
LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
CUSTOM_ID_PREFIX = "kg:"
# A button's custom_id is "kg:" + the engine's opaque payload. The DynamicItem registered with this template
# routes a click by its custom_id alone, so buttons keep working after a restart or in another process.
CUSTOM_ID_TEMPLATE = r"^kg:(?P<payload>.+)$"

Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Part:
    """One Discord message: text (empty for a buttons-only continuation), buttons in rows, a file."""

    text: str
    rows: Rows = ()
    attachment: Attachment | None = None


def custom_id(payload: str) -> str | None:
    """The custom_id for a payload, or None when it would not fit Discord's 100 characters."""
    value = CUSTOM_ID_PREFIX + payload
    return value if payload and len(value) <= CUSTOM_ID_LIMIT else None


def _usable(rows: Sequence[Sequence[Button]]) -> list[list[Button]]:
    """Drop buttons Discord would reject (so one bad button can't lose the whole reply)."""
    out: list[list[Button]] = []
    for row in rows:
        kept = []
        for button in row:
            if custom_id(button.payload) is None:
                logger.error("discord: dropped a button whose payload is %d characters", len(button.payload))
            else:
                kept.append(button)
        if kept:
            out.append(kept)
    return out


def pack_rows(rows: Sequence[Sequence[Button]]) -> list[Rows]:
    """Buttons in groups that each fit one message (5 rows of 5 at most), keeping the engine's rows if it can.

    Rows wider than five are wrapped; too many rows are first merged with their neighbours where they fit,
    and only when that is not enough are the buttons poured into full rows; past 25 buttons the rest goes
    to further groups (further messages). Within a group a payload appears once (Discord rejects duplicates).
    """
    wrapped = [row[i : i + ROW_WIDTH] for row in _usable(rows) for i in range(0, len(row), ROW_WIDTH)]
    if len(wrapped) > MAX_ROWS:
        merged: list[list[Button]] = []
        for row in wrapped:
            if merged and len(merged[-1]) + len(row) <= ROW_WIDTH:
                merged[-1] = [*merged[-1], *row]
            else:
                merged.append(list(row))
        wrapped = merged
    if len(wrapped) > MAX_ROWS:
        flat = [button for row in wrapped for button in row]
        wrapped = [flat[i : i + ROW_WIDTH] for i in range(0, len(flat), ROW_WIDTH)]
    groups: list[Rows] = []
    for start in range(0, len(wrapped), MAX_ROWS):
        seen: set[str] = set()
        group = []
        for row in wrapped[start : start + MAX_ROWS]:
            unique = []
            for button in row:
                if button.payload not in seen:
                    seen.add(button.payload)
                    unique.append(button)
            if unique:
                group.append(tuple(unique))
        if group:
            groups.append(tuple(group))
    return groups


def parts(message: Outgoing) -> list[Part]:
    """The messages one reply becomes: text split under the limit, buttons and file on the last text part."""
    texts = split_text(message.text, MESSAGE_LIMIT) or [""]
    groups = pack_rows(message.buttons)
    first_rows = groups[0] if groups else ()
    out = [Part(text) for text in texts[:-1]]
    out.append(Part(texts[-1], first_rows, message.attachment))
    out.extend(Part("", rows) for rows in groups[1:])
    return [p for p in out if p.text or p.rows or p.attachment]
