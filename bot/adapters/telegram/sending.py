"""Sending to Telegram under its rate limits, with bounded retries and a clear verdict per message.

Pacing is ours, with aiolimiter, rather than PTB's `AIORateLimiter`: that one paces a whole process and
groups but not each private chat (our busiest case), and it would retry flood errors itself, hiding them
from the `Delivery` verdict the nudge dispatcher needs. Using both would count every call twice, so we
use one: a leaky bucket for the process and one per chat, plus our own `RetryAfter` handling.

Urgent messages (crisis replies) skip the chat's bucket: ordinary messages leave one slot of Telegram's
per-chat burst unused, so an urgent one always finds a free slot at once, and the slot it took is paid
back before the chat's next ordinary message. Only the process-wide budget applies to it.
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

from bot.adapters.base import Delivery, Superseded, split_text
from bot.adapters.telegram.mapping import keyboard
from bot.domain import Outgoing
from bot.ops.metrics import RATE_LIMITED

logger = logging.getLogger(__name__)

OVERALL_RATE = 30.0  # messages a second across all chats (Telegram's published limit)
CHAT_RATE = 1.0  # messages a second to one chat, after a short burst
CHAT_BURST = 3  # Telegram's short burst to one chat
URGENT_HEADROOM = 1  # slots of that burst ordinary messages leave free for an urgent one
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
        self._chats: OrderedDict[str, _ChatPace] = OrderedDict()

    async def send(
        self, chat_id: str, message: Outgoing, *, interrupt: asyncio.Event | None = None
    ) -> Delivery:
        """Send one message (in parts if long); the first part that is not SENT decides the verdict.

        A message meant for one person (`private`) is never posted to a group or channel (negative ids).
        An urgent message skips the chat's pace (see the module notes). When `interrupt` is set while
        this message waits for a slot or a retry, it raises `Superseded` before the next call goes out
        (parts already sent stay sent).
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

            result = await self.attempt(
                chat_id, call, what="sendMessage", urgent=message.urgent, interrupt=interrupt
            )
            if result is not Delivery.SENT:
                return result
        if message.attachment is not None:
            attachment = message.attachment

            async def upload() -> None:
                await self.bot.send_document(target, attachment.content, filename=attachment.filename)

            return await self.attempt(
                chat_id, upload, what="sendDocument", urgent=message.urgent, interrupt=interrupt
            )
        return Delivery.SENT

    async def remove_keyboard(
        self, chat_id: str, message_id: int, *, interrupt: asyncio.Event | None = None
    ) -> Delivery:
        """Take the buttons off a message, so a pressed keyboard can't be pressed twice."""

        async def call() -> None:
            try:
                await self.bot.edit_message_reply_markup(_chat_id(chat_id), message_id, reply_markup=None)
            except BadRequest as error:
                text = error.message.lower()
                if NOT_MODIFIED not in text and not any(n in text for n in NOT_FOUND):
                    raise  # already bare or gone is fine; anything else is worth a log line

        return await self.attempt(
            chat_id, call, what="editMessageReplyMarkup", per_chat=False, interrupt=interrupt
        )

    async def attempt(
        self,
        chat_id: str,
        call: Callable[[], Awaitable[None]],
        *,
        what: str,
        per_chat: bool = True,
        urgent: bool = False,
        interrupt: asyncio.Event | None = None,
    ) -> Delivery:
        """Run one API call under the limits; retry flood control and network trouble, a bounded number
        of times. Only this call is repeated, never the turn that produced it. `Superseded` when
        `interrupt` is set before the call goes out."""
        for attempt in range(1, self.max_attempts + 1):
            if interrupt is None or self._free_now(chat_id, per_chat, urgent):
                if interrupt is not None and interrupt.is_set():
                    raise Superseded
                await self._pace(chat_id, per_chat, urgent)  # takes its slots without waiting
            else:
                await _unless(interrupt, self._pace(chat_id, per_chat, urgent))
            if interrupt is not None and interrupt.is_set():
                raise Superseded
            try:
                await call()
                return Delivery.SENT
            except RetryAfter as error:
                RATE_LIMITED.labels("telegram").inc()
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
            await _unless(interrupt, self._pause(delay))
        logger.warning("telegram %s: gave up after %d attempts", what, attempt)
        return Delivery.FAILED

    async def _pace(self, chat_id: str, per_chat: bool, urgent: bool = False) -> None:
        """Wait for this call's slots: the chat's (unless urgent; the slot is owed instead), then the
        process's."""
        if per_chat:
            pace = self._pace_for(chat_id)
            if urgent:
                pace.owed += 1
            else:
                while pace.owed:  # slots urgent messages took: paid back before this one goes
                    for limiter in pace.limiters:
                        await limiter.acquire()
                    pace.owed -= 1
                for limiter in pace.limiters:
                    await limiter.acquire()
        await self.overall.acquire()

    def _free_now(self, chat_id: str, per_chat: bool, urgent: bool) -> bool:
        """Whether `_pace` would take this call's slots at once: then there is no wait for an interrupt
        to cut short, and no need for `_unless`'s two tasks (a chat without a bucket yet starts empty)."""
        if not self.overall.has_capacity():
            return False
        if not per_chat or urgent:
            return True
        pace = self._chats.get(chat_id)
        return pace is None or (not pace.owed and all(lim.has_capacity() for lim in pace.limiters))

    def _pace_for(self, chat_id: str) -> _ChatPace:
        pace = self._chats.get(chat_id)
        if pace is None:
            ordinary = max(1, self.chat_burst - URGENT_HEADROOM)
            limiters = [AsyncLimiter(ordinary, ordinary / self.chat_rate * SAFETY)]
            if chat_id.startswith("-"):
                limiters.append(AsyncLimiter(GROUP_PER_MINUTE - URGENT_HEADROOM, 60 * SAFETY))
            pace = self._chats[chat_id] = _ChatPace(limiters)
        self._chats.move_to_end(chat_id)
        self._trim()
        return pace

    def _trim(self) -> None:
        """Forget chats past the bound, never the newest: drained buckets first (forgetting those loses
        nothing), then the least recently used."""
        if len(self._chats) <= self.max_chats:
            return
        older = list(self._chats.items())[:-1]
        for key in [k for k, p in older if p.drained]:
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


class _ChatPace:
    """One chat's buckets, and the slots urgent messages took from them without waiting."""

    __slots__ = ("limiters", "owed")

    def __init__(self, limiters: list[AsyncLimiter]) -> None:
        self.limiters = limiters
        self.owed = 0

    @property
    def drained(self) -> bool:
        """Nothing in the buckets and nothing owed: forgetting this chat loses nothing."""
        return not self.owed and all(lim.has_capacity(lim.max_rate) for lim in self.limiters)


async def _unless(interrupt: asyncio.Event | None, waiting: Awaitable[None]) -> None:
    """Await `waiting`, but raise `Superseded` (and stop waiting) as soon as `interrupt` is set."""
    if interrupt is None:
        await waiting
        return
    if interrupt.is_set():
        if asyncio.iscoroutine(waiting):
            waiting.close()
        raise Superseded
    task = asyncio.ensure_future(waiting)
    stop = asyncio.ensure_future(interrupt.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if not task.cancelled():
        task.result()
    if interrupt.is_set():
        raise Superseded


def _reason(error: TelegramError) -> str:
    """The first clause of Telegram's description ("Can't parse entities"), never the rest, which may
    quote part of the message."""
    return error.message.split(":", 1)[0][:60]
