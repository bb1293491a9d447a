"""The Telegram adapter: python-telegram-bot's `Application` for transport, our engine for everything else.

No PTB persistence, ConversationHandler or JobQueue: conversation state lives in our store, written in the
same transaction that de-duplicates the update, so a restart, a crash or a second process loses nothing.
We drive the `Application` by hand (initialize/start/updater) because `run_polling` wants to own the loop.

A chat's lock covers only the engine turn; the replies go out from the chat's queue, so a
crisis message is read at once even while earlier replies are still being paced out, and its reply goes
before them (`bot.adapters.base.Outbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, TypeHandler
from telegram.request import HTTPXRequest

from bot.adapters.base import STOP_GRACE, Delivery, Job, Outbox, PlatformStopped
from bot.adapters.registry import OnFatal
from bot.adapters.telegram.commands import register_commands
from bot.adapters.telegram.mapping import (
    ALLOWED_UPDATES,
    PLATFORM,
    addressed_elsewhere,
    group_link,
    needs_group_pointer,
    to_incoming,
)
from bot.adapters.telegram.ordering import PerChatProcessor
from bot.adapters.telegram.sending import OVERALL_RATE, TelegramSender
from bot.adapters.telegram.settings import TelegramSettings
from bot.config import ConfigError, Settings
from bot.domain import Incoming, Kind, Outgoing
from bot.engine import Engine

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a getUpdates long poll waits for news
ANOTHER_POLLER = (
    "another process is already polling this bot token; "
    "use webhook mode (TELEGRAM_WEBHOOK_URL) to run several processes"
)
ANOTHER_WEBHOOK = (
    "another process set a webhook for this bot token while this one was polling; "
    "run every process in webhook mode (TELEGRAM_WEBHOOK_URL), or only one poller"
)
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as a webhook secret_token
OFFICIAL_API = "https://api.telegram.org"


def api_root(settings: TelegramSettings) -> str:
    """TELEGRAM_API_URL as a server root. Both forms are accepted: the root (`http://host:8081`) and
    python-telegram-bot's `base_url` (`http://host:8081/bot`, the token is appended to it)."""
    url = settings.api_url.rstrip("/")
    if not url:
        return OFFICIAL_API
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The value itself is not repeated: a URL pasted with the token in it must not reach the terminal.
        raise ConfigError("TELEGRAM_API_URL must look like http://host:port (or http://host:port/bot)")
    return url.removesuffix("/bot")


def webhook_target(settings: TelegramSettings) -> tuple[str, str] | None:
    """(webhook URL, path to listen on) in webhook mode, None for long polling; ConfigError if unsafe."""
    url = settings.webhook_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"TELEGRAM_WEBHOOK_URL must be an https:// URL, got {url!r}")
    if not settings.webhook_secret:
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET must be set when TELEGRAM_WEBHOOK_URL is: without it anyone who "
            "finds the URL could post fake updates (use 1-256 of A-Z a-z 0-9 _ -)"
        )
    if not _SECRET.fullmatch(settings.webhook_secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET may use only A-Z a-z 0-9 _ - (1-256 characters)")
    return url, parts.path.lstrip("/")


class PollingRequest(HTTPXRequest):
    """The connection getUpdates uses, which falls silent once another poller has taken the token over.

    Telegram answers `409 Conflict` to the poll another process's poll replaced. Any further getUpdates
    from us, even the one PTB sends on the way out to confirm offsets, would in turn knock the other
    process's poll off, and both would stop; so after a conflict it answers "no updates" itself.
    """

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)
        self.silent = False

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.silent:
            return HTTPStatus.OK, b'{"ok": true, "result": []}'
        return await super().do_request(*args, **kwargs)


class TelegramAdapter:
    """Maps updates to the engine and sends its replies; also the `Sender` nudges go through."""

    platform = PLATFORM

    def __init__(
        self,
        engine: Engine,
        settings: TelegramSettings,
        *,
        overall_rate: float = OVERALL_RATE,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        """`overall_rate` is this process's share of Telegram's ~30 messages a second; `on_fatal` is told
        (once, with a one-line reason) when this process must stop, e.g. another poller took over."""
        self.engine = engine
        self.settings = settings
        self.on_fatal = on_fatal
        self.webhook = webhook_target(settings)
        self.polling_request = PollingRequest()
        # PTB logs whole updates and request bodies at DEBUG: people's words must never reach a log.
        library = logging.getLogger("telegram")
        if library.getEffectiveLevel() < logging.INFO:
            library.setLevel(logging.INFO)
        builder = (
            Application.builder()
            .token(settings.token)
            .concurrent_updates(PerChatProcessor())
            .job_queue(None)
            .get_updates_request(self.polling_request)
        )
        self.api = api_root(settings)
        if self.api != OFFICIAL_API:  # a self-hosted Bot API server (or a test's fake)
            builder = builder.base_url(f"{self.api}/bot").base_file_url(f"{self.api}/file/bot")
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        self.sender = TelegramSender(self.app.bot, overall_rate=overall_rate)
        self.outbox = Outbox(PLATFORM, on_failure=_log_failure)

    # ---- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (getMe), set the command menu, then poll or listen for the webhook.

        A token the server rejects or a server that cannot be reached stops start-up with a one-line
        `PlatformStopped` (never the token, never a traceback)."""
        try:
            await self.app.initialize()
        except InvalidToken:
            await self._close_connections()
            elsewhere = "" if self.api == OFFICIAL_API else f" (or {self.api} is not a Bot API server)"
            raise PlatformStopped(
                f"Telegram rejected TELEGRAM_TOKEN{elsewhere}: check the token @BotFather gave you"
            ) from None
        except NetworkError as error:
            await self._close_connections()
            why = "timed out" if isinstance(error, TimedOut) else "no connection"
            raise PlatformStopped(
                f"cannot reach the Telegram Bot API at {self.api} ({why}): "
                "check TELEGRAM_API_URL and the network"
            ) from None
        try:
            await register_commands(self.app.bot)
            await self.app.start()
            updater = self.app.updater
            assert updater is not None
            if self.webhook is None:
                await updater.start_polling(
                    timeout=POLL_TIMEOUT,
                    allowed_updates=list(ALLOWED_UPDATES),
                    error_callback=self._on_poll_error,
                )
                logger.info("telegram: long polling as @%s", self.app.bot.username)
            else:
                url, path = self.webhook
                await updater.start_webhook(
                    listen=self.settings.listen_host,
                    port=self.settings.listen_port,
                    url_path=path,
                    webhook_url=url,
                    secret_token=self.settings.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
                logger.info("telegram: webhook listening on port %d", self.settings.listen_port)
        except BaseException:
            await self.stop()
            raise

    async def _close_connections(self) -> None:
        """After a failed getMe PTB counts the bot as never initialised, so close its HTTP clients here."""
        for request in (self.polling_request, self.app.bot.request):
            with contextlib.suppress(Exception):
                await request.shutdown()

    def connected(self) -> bool:
        """For /readyz: taking updates (polling or the webhook listening) and not stopped by a conflict."""
        updater = self.app.updater
        return (
            self.app.running and updater is not None and updater.running and not self.polling_request.silent
        )

    def _on_poll_error(self, error: TelegramError) -> None:
        """getUpdates failed. A 409 means another process polls this token (or set a webhook): stop
        instead of fighting it for ever; anything else PTB retries with a growing pause."""
        if not isinstance(error, Conflict):
            logger.warning("telegram: polling failed (%s); retrying", type(error).__name__)
            return
        if self.polling_request.silent:
            return
        self.polling_request.silent = True
        reason = ANOTHER_WEBHOOK if "webhook" in error.message.lower() else ANOTHER_POLLER
        logger.error("telegram: 409 Conflict on getUpdates: %s", reason)
        if self.on_fatal is not None:
            self.on_fatal(reason)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop taking updates, finish the ones already taken (retries cut short), give the send queues
        up to `grace` seconds, then disconnect."""
        self.sender.stopping.set()
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.outbox.close(grace)
        await self.app.shutdown()

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        """Send outside a turn (nudges): through the chat's queue, so it never cuts into a turn's replies
        and obeys the same pace; waits for the verdict. An urgent reply arriving meanwhile drops it
        (FAILED: the dispatcher tries again later)."""
        return await self.outbox.send(chat_id, self._message_job(chat_id, message))

    def _message_job(self, chat_id: str, message: Outgoing, turn: object | None = None) -> Job:
        async def run(interrupt: asyncio.Event | None) -> Delivery:
            return await self.sender.send(chat_id, message, interrupt=interrupt)

        return Job(run, urgent=message.urgent, turn=turn)

    def _removal_job(self, chat_id: str, message_id: int) -> Job:
        async def run(interrupt: asyncio.Event | None) -> Delivery:
            return await self.sender.remove_keyboard(chat_id, message_id, interrupt=interrupt)

        return Job(run, stale=False)

    # ---- updates --------------------------------------------------------------------------------
    async def _on_update(self, update: Update, _context: object) -> None:
        """One update; whatever goes wrong stays with this update and the bot keeps running."""
        if update.callback_query is not None:
            await self._answer(update.callback_query)  # first, always: or the person's button spins
        event: Incoming | None = None
        try:
            event = to_incoming(update)
            if event is None:
                return
            if not event.private:
                await self._in_group(update, event)
            else:
                await self._turn(update, event)
        except Exception as error:
            _log_failure(error)
            if event is not None and event.private:
                try:
                    await self._notice(event, "something_went_wrong")
                except Exception as again:
                    _log_failure(again)

    async def _turn(self, update: Update, event: Incoming) -> None:
        """The engine turn under the chat's lock; sending is queued (one turn's replies stay together:
        when one is not delivered, the rest of that turn is dropped)."""
        replies = await self.engine.handle(event)
        chat_id = event.who.chat_id
        jobs: list[Job] = []
        query = update.callback_query
        if event.kind is Kind.BUTTON and query is not None and query.message is not None:
            jobs.append(self._removal_job(chat_id, query.message.message_id))
        turn = object()
        jobs.extend(self._message_job(chat_id, reply, turn) for reply in replies)
        self.outbox.put(chat_id, jobs)

    async def _in_group(self, update: Update, event: Incoming) -> None:
        """Never reflect in public: /start and /help get a link to a private chat; the rest, silence."""
        username = self.app.bot.username
        if not needs_group_pointer(event) or addressed_elsewhere(update.effective_message, username):
            return
        notice = self.engine.notice("group_start", PLATFORM, event.locale, link=group_link(username))
        self.outbox.put(
            event.who.chat_id, [self._message_job(event.who.chat_id, replace(notice, private=False))]
        )

    async def _notice(self, event: Incoming, template: str) -> None:
        notice = self.engine.notice(template, PLATFORM, event.locale)
        self.outbox.put(event.who.chat_id, [self._message_job(event.who.chat_id, notice)])

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except BadRequest:
            logger.info("telegram: callback query too old to answer")  # a stale press, e.g. after a restart
        except TelegramError as error:
            logger.warning("telegram: could not answer a callback query: %s", type(error).__name__)

    async def _on_error(self, _update: object, context: object) -> None:
        """Errors PTB caught outside our handler: the type and place only, never the update."""
        error = getattr(context, "error", None)
        if isinstance(error, BaseException):
            _log_failure(error)


def _log_failure(error: BaseException) -> None:
    """Log an exception's type and where it was raised; its message may quote what a person wrote."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    logger.error("telegram: an update failed: %s at %s", type(error).__name__, where)


def build(engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> TelegramAdapter:
    """The registry's way in: paced to this process's share of Telegram's overall rate."""
    section = settings.section(TelegramSettings)
    rate = OVERALL_RATE * section.rate_share()
    return TelegramAdapter(engine, section, overall_rate=rate, on_fatal=on_fatal)
