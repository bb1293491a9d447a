"""Sending to Telegram under its rate limits, with bounded retries and a clear verdict per message.

Pacing is ours, with aiolimiter, rather than PTB's `AIORateLimiter`: that one paces a whole process and
groups but not each private chat (our busiest case), and it would retry flood errors itself, hiding them
from the `Delivery` verdict the nudge dispatcher needs. Using both would count every call twice, so we
use one: a leaky bucket for the process and one per chat, plus our own `RetryAfter` handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.base import Delivery, split_text
from bot.adapters.telegram.mapping import keyboard
from bot.domain import Outgoing

logger = logging.getLogger(__name__)

OVERALL_RATE = 30.0  # messages a second across all chats (Telegram's published limit)
CHAT_RATE = 1.0  # messages a second to one chat, after a short burst
CHAT_BURST = 3  # a turn's two or three replies go out at once
GROUP_PER_MINUTE = 20
SAFETY = 1.1  # pace a little under the limits: our clock and Telegram's never agree exactly
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER = 60.0  # longer waits are given up on (FAILED), so one chat can't hold a worker
BACKOFF_START, BACKOFF_MAX = 0.5, 8.0
MAX_CHAT_LIMITERS = 10_000
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4,096
GONE = ("chat not found", "user not found", "peer_id_invalid", "group chat was deactivated")
NOT_MODIFIED = "message is not modified"
NOT_FOUND = ("message to edit not found", "message can't be edited")


def seconds(error: RetryAfter) -> float:
    """`retry_after` in seconds: PTB 22 gives an int or a timedelta, and warns about the change."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _chat_id(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


class TelegramSender:
    """Sends `Outgoing` messages: split to 4,096 characters, buttons on the last part, file after."""

    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        overall_rate: float = OVERALL_RATE,
        chat_rate: float = CHAT_RATE,
        chat_burst: int = CHAT_BURST,
        max_attempts: int = MAX_ATTEMPTS,
        max_chats: int = MAX_CHAT_LIMITERS,
    ) -> None:
        if overall_rate <= 0 or chat_rate <= 0 or min(chat_burst, max_attempts, max_chats) < 1:
            raise ValueError("rates, burst, attempts and max_chats must be positive")
        self.bot = bot
        # Evenly spaced, not in bursts: a burst that reaches Telegram late (network jitter) can meet a
        # bucket that has not refilled yet and earn a 429 even though the average rate is fine.
        self.overall = AsyncLimiter(1, SAFETY / overall_rate)
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self.max_attempts = max_attempts
        self.max_chats = max_chats
        self.stopping = asyncio.Event()
        self._chats: OrderedDict[str, list[AsyncLimiter]] = OrderedDict()

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        """Send one message (in parts if long); the first part that is not SENT decides the verdict.

        A message meant for one person (`private`) is never posted to a group or channel (negative ids).
        """
        if message.private and chat_id.startswith("-"):
            logger.error("telegram: refused to post a private message to a group or channel")
            return Delivery.UNREACHABLE
        target = _chat_id(chat_id)
        parts = split_text(message.text, TEXT_LIMIT)
        markup = keyboard(message.buttons)
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)

            async def call(part: str = part, last: bool = last) -> None:
                await self.bot.send_message(
                    target, part, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
                )

            result = await self.attempt(chat_id, call, what="sendMessage")
            if result is not Delivery.SENT:
                return result
        if message.attachment is not None:
            attachment = message.attachment

            async def upload() -> None:
                await self.bot.send_document(target, attachment.content, filename=attachment.filename)

            return await self.attempt(chat_id, upload, what="sendDocument")
        return Delivery.SENT

    async def remove_keyboard(self, chat_id: str, message_id: int) -> None:
        """Take the buttons off a message, so a pressed keyboard can't be pressed twice."""

        async def call() -> None:
            try:
                await self.bot.edit_message_reply_markup(_chat_id(chat_id), message_id, reply_markup=None)
            except BadRequest as error:
                text = error.message.lower()
                if NOT_MODIFIED not in text and not any(n in text for n in NOT_FOUND):
                    raise  # already bare or gone is fine; anything else is worth a log line

        await self.attempt(chat_id, call, what="editMessageReplyMarkup", per_chat=False)

    async def attempt(
        self,
        chat_id: str,
        call: Callable[[], Awaitable[None]],
        *,
        what: str,
        per_chat: bool = True,
    ) -> Delivery:
        """Run one API call under the limits; retry flood control and network trouble, a bounded number
        of times. Only this call is repeated, never the turn that produced it."""
        for attempt in range(1, self.max_attempts + 1):
            await self._pace(chat_id, per_chat)
            try:
                await call()
                return Delivery.SENT
            except RetryAfter as error:
                delay = seconds(error)
                logger.warning("telegram %s: flood control, wait %.0fs (attempt %d)", what, delay, attempt)
                if delay > MAX_RETRY_AFTER:
                    return Delivery.FAILED
            except Forbidden:
                logger.info("telegram %s: chat unreachable (blocked or removed)", what)
                return Delivery.UNREACHABLE
            except BadRequest as error:  # before NetworkError: BadRequest is a subclass of it
                reason = _reason(error)
                if any(gone in error.message.lower() for gone in GONE):
                    logger.info("telegram %s: chat unreachable (%s)", what, reason)
                    return Delivery.UNREACHABLE
                logger.error("telegram %s: rejected (%s)", what, reason)
                return Delivery.FAILED
            except NetworkError as error:  # TimedOut included
                delay = min(BACKOFF_START * 2 ** (attempt - 1), BACKOFF_MAX)
                logger.warning("telegram %s: %s, attempt %d", what, type(error).__name__, attempt)
            except TelegramError as error:
                logger.error("telegram %s: %s", what, type(error).__name__)
                return Delivery.FAILED
            if attempt == self.max_attempts or self.stopping.is_set():
                break
            await self._pause(delay)
        logger.warning("telegram %s: gave up after %d attempts", what, attempt)
        return Delivery.FAILED

    async def _pace(self, chat_id: str, per_chat: bool) -> None:
        if per_chat:
            for limiter in self._limiters(chat_id):
                await limiter.acquire()
        await self.overall.acquire()

    def _limiters(self, chat_id: str) -> list[AsyncLimiter]:
        """This chat's buckets (groups also get Telegram's 20 a minute), kept in a bounded LRU."""
        limiters = self._chats.get(chat_id)
        if limiters is None:
            period = self.chat_burst / self.chat_rate * SAFETY
            limiters = [AsyncLimiter(self.chat_burst, period)]
            if chat_id.startswith("-"):
                limiters.append(AsyncLimiter(GROUP_PER_MINUTE, 60 * SAFETY))
            self._chats[chat_id] = limiters
        self._chats.move_to_end(chat_id)
        self._trim()
        return limiters

    def _trim(self) -> None:
        """Forget chats past the bound, never the newest: drained buckets first (forgetting those loses
        nothing), then the least recently used."""
        if len(self._chats) <= self.max_chats:
            return
        older = list(self._chats.items())[:-1]
        for key in [k for k, ls in older if all(lim.has_capacity(lim.max_rate) for lim in ls)]:
            if len(self._chats) <= self.max_chats:
                return
            del self._chats[key]
        while len(self._chats) > self.max_chats:
            self._chats.popitem(last=False)

    @property
    def tracked_chats(self) -> int:
        """How many chats have a bucket now (bounded by `max_chats`)."""
        return len(self._chats)

    async def _pause(self, delay: float) -> None:
        """Wait before a retry, but wake at once when the bot is stopping (the retry then gives up)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)


def _reason(error: TelegramError) -> str:
    """The first clause of Telegram's description ("Can't parse entities"), never the rest, which may
    quote part of the message."""
    return error.message.split(":", 1)[0][:60]
