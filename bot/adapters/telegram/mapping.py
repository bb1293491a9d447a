"""Telegram updates to `Incoming`, and `Button`s to an inline keyboard: pure functions, no network.

Kept apart from the adapter so every rule (commands, buttons, groups, edits, things we can't read)
is tested without a server.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import filters

from bot.adapters.base import parse_command
from bot.domain import Button, Incoming, Kind, Who

logger = logging.getLogger(__name__)

PLATFORM = "telegram"
DEFAULT_LOCALE = "en"
MAX_CALLBACK_BYTES = 64
PUBLIC_CHAT_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL})
# The only updates we ask Telegram for; everything else (reactions, member changes, polls) never arrives.
ALLOWED_UPDATES = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)
# Commands a group gets an answer to: a pointer to a private chat, nothing personal.
GROUP_COMMANDS = frozenset({"start", "help"})
MAX_KEYBOARDS = 4096  # bound on the keyboards kept for reuse (labels with values make new ones)
_KEYBOARDS: dict[tuple[tuple[Button, ...], ...], InlineKeyboardMarkup] = {}


def to_incoming(update: Update) -> Incoming | None:
    """Map one update; None for what nobody should answer (service messages, bots, inline queries).

    Edited messages become `Kind.UNSUPPORTED` (we read each message once); a photo's caption or an
    edit's new text travels in `text` so the engine can see it, though it is never stored or logged.
    """
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None:
            return None  # a button on an inline-mode message: not something we send
        return Incoming(
            _who(query.from_user.id, message.chat.id),
            Kind.BUTTON,
            payload=query.data or "",
            locale=query.from_user.language_code or DEFAULT_LOCALE,
            private=message.chat.type not in PUBLIC_CHAT_TYPES,
            update_key=str(update.update_id),
        )
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    if filters.StatusUpdate.ALL.check_update(update):
        return None  # joins, pins, title changes: nothing a person said
    base = Incoming(
        _who(message.from_user.id, message.chat.id),
        Kind.UNSUPPORTED,
        locale=message.from_user.language_code or DEFAULT_LOCALE,
        private=message.chat.type not in PUBLIC_CHAT_TYPES,
        update_key=str(update.update_id),
    )
    if update.edited_message is not None:
        return replace(base, kind=Kind.EDITED, text=message.text or message.caption or "")
    if message.text is None:
        return replace(base, text=message.caption or "")
    command = parse_command(message.text) if _starts_with_command(message) else None
    if command is not None:
        name, args = command
        return replace(base, kind=Kind.COMMAND, command=name, args=args)
    return replace(base, kind=Kind.TEXT, text=message.text)


def _who(user_id: int, chat_id: int) -> Who:
    return Who(PLATFORM, str(user_id), str(chat_id))


def _starts_with_command(message: Message) -> bool:
    """Telegram marks commands with a bot_command entity; a slash mid-sentence is just text."""
    return any(e.type == MessageEntityType.BOT_COMMAND and e.offset == 0 for e in message.entities)


def addressed_elsewhere(message: Message | None, bot_username: str) -> bool:
    """'/start@OtherBot' in a group is for another bot."""
    if message is None or not message.text:
        return False
    head = message.text.split(maxsplit=1)[0]
    _, at, target = head.partition("@")
    return bool(at) and target.lower() != bot_username.lower()


def needs_group_pointer(event: Incoming) -> bool:
    """In a group we answer only /start and /help, with a link to a private chat."""
    return not event.private and event.kind is Kind.COMMAND and event.command in GROUP_COMMANDS


def group_link(bot_username: str) -> str:
    """The deep link that opens a private chat and sends `/start group`."""
    return f"https://t.me/{bot_username}?start=group"


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """An inline keyboard; a button whose payload Telegram would refuse is logged and left out.

    PTB's markups are immutable and our buttons come from a small set (labels and payloads are ours), so
    a keyboard whose buttons were all kept is made once and shared by every message that shows it.
    """
    made = _KEYBOARDS.get(rows)
    if made is not None:
        return made
    kept: list[list[InlineKeyboardButton]] = []
    dropped = False
    for row in rows:
        buttons = []
        for button in row:
            size = len(button.payload.encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_BYTES or not button.label.strip():
                logger.error("telegram: dropped a button with a %d-byte payload (limit 64)", size)
                dropped = True
                continue
            buttons.append(InlineKeyboardButton(text=button.label, callback_data=button.payload))
        if buttons:
            kept.append(buttons)
    markup = InlineKeyboardMarkup(kept) if kept else None
    if markup is not None and not dropped and len(_KEYBOARDS) < MAX_KEYBOARDS:
        _KEYBOARDS[rows] = markup  # one with a dropped button is rebuilt (and logged) every time
    return markup
