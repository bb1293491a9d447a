"""A fake Telegram Bot API server on loopback, for end-to-end tests with the real PTB library.

Point python-telegram-bot at it::

    async with FakeTelegram() as tg:
        app = (
            Application.builder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )

The fake answers ``/bot<token>/<method>`` with the real JSON envelopes and enforces the real limits
(text length, HTML entities, callback data bytes, flood control, blocked users, one poller per
token), so a bot that Telegram would reject fails the tests first. Where Telegram's exact rule is
unknown or lenient the fake is deliberately *stricter* (documented at each spot): a bare ``&`` in
HTML is rejected, for instance, although Telegram keeps it as text.

People are simulated with ``user_sends``, ``user_presses``, ``user_edits``, ``block`` and friends;
what the bot did is inspected with ``sent``, ``wait_for``, ``requests``, ``documents`` and
``unanswered_callbacks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import string
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.loopback import serve

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_TOKEN = "123456789:AAFakeTokenForKeepGoingTests_abcdefgh"
BOT_USERNAME = "keepgoing_test_bot"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_KEYBOARD_BUTTONS = 100
MAX_COMMANDS = 100

# Updates Telegram sends when allowed_updates is empty/unset.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Methods that post a new message; they count against flood control.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendsticker",
        "sendlocation",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
    }
)
# Methods that change an existing message; they count against the global limit only.
EDIT_METHODS = frozenset({"editmessagetext", "editmessagereplymarkup", "editmessagecaption"})

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Form fields whose values PTB sends JSON-encoded (strings are sent as-is).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)

_CALLBACK_GONE = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API failure, answered as ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON envelope Telegram sends for this error."""
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _entities_error(detail: str) -> ApiError:
    return _bad(f"can't parse entities: {detail}")


# --------------------------------------------------------------------------------------------
# Entity parsing
# --------------------------------------------------------------------------------------------

HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{1,10});")
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + ".-")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at ``text[pos] == '&'``; ``(None, pos)`` if invalid."""
    match = _ENTITY_RE.match(text, pos)
    if not match:
        return None, pos
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos
        return chr(code), match.end()
    decoded = _NAMED_ENTITIES.get(body.lower())
    if decoded is None:
        return None, pos
    return decoded, match.end()


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)`` like the Bot API does.

    Mirrors tdlib's hand-written parser and its error messages. ``strict_ampersand`` rejects a
    bare ``&`` (Telegram keeps it as a literal; our style guide requires ``&amp;``).
    """
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str | None, int]] = []  # tag, argument, utf16 start
    offset16 = 0
    i, n = 0, len(text)

    def at(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, end = _decode_entity(text, i)
            if decoded is None:
                if strict_ampersand:
                    raise _entities_error(
                        f'unescaped "&" at byte offset {at(i)} (write &amp;; fake is strict here)'
                    )
                decoded, end = "&", i + 1
            out.append(decoded)
            offset16 += utf16_len(decoded)
            i = end
            continue
        if ch != "<":
            out.append(ch)
            offset16 += utf16_len(ch)
            i += 1
            continue

        start = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {at(start)}")
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise _entities_error(f"Unclosed end tag at byte offset {at(start)}")
            tag, argument, begin16 = stack[-1]
            if end_name and end_name != tag:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {at(start)}, expected "</{tag}>", '
                    f'found "</{end_name}>"'
                )
            stack.pop()
            i = j + 1
            if offset16 > begin16:
                _add_entity(entities, tag, argument, begin16, offset16 - begin16)
            continue

        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {at(start)}")
        name = text[i:j].lower()
        if name not in HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {at(start)}')
        argument: str | None = None
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise _entities_error(f'Unclosed start tag "{name}" at byte offset {at(start)}')
            if text[j] == ">":
                j += 1
                break
            attr_start = j
            while j < n and not text[j].isspace() and text[j] not in "=>/\"'":
                j += 1
            attr = text[attr_start:j].lower()
            if not attr:
                raise _entities_error(f'Empty attribute name in the tag "{name}" at byte offset {at(start)}')
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise _entities_error(f'Unclosed start tag "{name}" at byte offset {at(start)}')
            if text[j] != "=":
                if name == "blockquote" and attr == "expandable":
                    argument = "expandable"
                continue
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise _entities_error(f'Unclosed start tag "{name}" at byte offset {at(start)}')
            if text[j] in "\"'":
                quote = text[j]
                j += 1
                chars: list[str] = []
                while j < n and text[j] != quote:
                    if text[j] == "&":
                        decoded, end = _decode_entity(text, j)
                        if decoded is not None:
                            chars.append(decoded)
                            j = end
                            continue
                    chars.append(text[j])
                    j += 1
                if j >= n:
                    raise _entities_error(f"Unclosed start tag at byte offset {at(start)}")
                j += 1
                value = "".join(chars)
            else:
                value_start = j
                while j < n and text[j] in _TOKEN_CHARS:
                    j += 1
                value = text[value_start:j].lower()
                if j >= n:
                    raise _entities_error(f"Unclosed start tag at byte offset {at(start)}")
                if not text[j].isspace() and text[j] != ">":
                    raise _entities_error(f"Unexpected end of name token at byte offset {at(j)}")
            if name == "a" and attr == "href":
                argument = value
            elif name == "code" and attr == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif name == "span" and attr == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
        if name == "span" and argument != "spoiler":
            raise _entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at(start)}')
        stack.append((name, argument, offset16))
        i = j

    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return _strip_with_entities("".join(out), entities)


def _add_entity(
    entities: list[dict[str, Any]], tag: str, argument: str | None, offset: int, length: int
) -> None:
    kind = _TAG_ENTITY[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        if not argument:
            return
        entity["url"] = argument
    elif kind == "pre":
        last = entities[-1] if entities else None
        if last and last["type"] == "code" and (last["offset"], last["length"]) == (offset, length):
            entities.pop()
            if last.get("language"):
                entity["language"] = last["language"]
    elif kind == "code" and argument:
        entity["language"] = argument
    elif kind == "blockquote" and argument == "expandable":
        entity["type"] = "expandable_blockquote"
    entities.append(entity)


def _strip_with_entities(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace as Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    lead16 = utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = utf16_len(stripped)
    kept = []
    for entity in entities:
        begin = max(entity["offset"] - lead16, 0)
        end = min(entity["offset"] + entity["length"] - lead16, total16)
        if end > begin:
            kept.append({**entity, "offset": begin, "length": end - begin})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_ALWAYS_ESCAPED = frozenset("#+-={}.!")


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Approximate MarkdownV2: reject unescaped reserved characters, drop markup for plain text.

    Only the rule bots break most often is checked faithfully (characters such as ``.`` ``!``
    ``-`` must be escaped outside code); entity extraction is not implemented.
    """
    out: list[str] = []
    i, n = 0, len(text)
    in_code = False
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
            i += 1
            continue
        if in_code:
            out.append(ch)
        elif ch in _MDV2_ALWAYS_ESCAPED or (ch == ">" and i > 0 and text[i - 1] != "\n"):
            raise _entities_error(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        elif ch not in _MDV2_RESERVED:
            out.append(ch)
        i += 1
    if in_code:
        raise _entities_error("Can't find end of Code entity at byte offset 0")
    return "".join(out).strip(), []


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """One message the bot sent or edited (an edit appends a record with ``edited=True``)."""

    seq: int
    message_id: int
    chat_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    entities: list[dict[str, Any]]
    edited: bool
    date: int
    method: str
    at: float = field(default_factory=time.monotonic)  # when the fake accepted it (monotonic clock)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All inline buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of every inline button."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclass
class SentDocument:
    """A document the bot uploaded (``content`` is None when sent by file_id or URL)."""

    chat_id: int
    message_id: int
    filename: str | None
    content: bytes | None
    mime_type: str | None
    caption: str | None
    file_id: str


@dataclass
class RequestRecord:
    """One API call the bot made: canonical method name, decoded params, HTTP status."""

    method: str
    params: dict[str, Any]
    status: int | None = None
    description: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook (``status`` None on connection errors)."""

    update_id: int
    url: str
    attempt: int
    status: int | None
    error: str | None = None
    secret_sent: str | None = None


class _Bucket:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.clock = clock
        self.last = clock()

    def wait(self) -> float:
        """Seconds until one token is available (0 when one is)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _Window:
    """At most ``limit`` events in any ``period`` seconds (Telegram's 20 per minute per group)."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self.times: deque[float] = deque()

    def wait(self) -> float:
        """Seconds until one more event fits (0 when it does)."""
        now = self.clock()
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.period - now

    def take(self) -> None:
        self.times.append(self.clock())


# --------------------------------------------------------------------------------------------
# Parameter helpers
# --------------------------------------------------------------------------------------------


def _int(params: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {key} specified") from None


def _bool(params: dict[str, Any], key: str) -> bool:
    value = params.get(key)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _json(params: dict[str, Any], key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {key} JSON object") from None
    return value


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------


class FakeTelegram:
    """A loopback Bot API server speaking real JSON envelopes and enforcing real limits.

    ``enforce_rates`` (default True) applies Telegram's flood control with realistic bursts:
    30 messages/s overall, 1/s per chat after a burst of ``chat_burst`` (3), and at most 20 in
    any 60 s per group; edits count only against the overall limit. Past a limit the call gets
    ``429 Too Many Requests: retry after N``. Pass ``clock`` to drive the buckets from a test.
    ``send_delay`` makes every send take that long; ``hold(chat_id)`` keeps a chat's sends waiting.
    Each ``SentMessage`` has ``at``, the monotonic time the fake accepted it.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int | None = None,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = "Keep Going",
        enforce_rates: bool = True,
        global_rate: float = 30.0,
        chat_rate: float = 1.0,
        chat_burst: int = 3,
        group_per_minute: int = 20,
        strict_ampersand: bool = True,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(head) if head.isdigit() else 1)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.enforce_rates = enforce_rates
        self.global_rate = global_rate
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self.group_per_minute = group_per_minute
        self.strict_ampersand = strict_ampersand
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.clock = clock

        self.requests: list[RequestRecord] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.command_scopes: dict[tuple[str, str], list[dict[str, str]]] = {}

        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closing = False

        self._update_ids = itertools.count(100_000)
        self._file_ids = itertools.count(0x1000)
        self._pending: deque[dict[str, Any]] = deque()
        self._webhook_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._webhook: dict[str, Any] = {"url": "", "secret_token": None, "allowed_updates": []}
        self._webhook_last_error: tuple[int, str] | None = None
        self._allowed_updates: list[str] = []

        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._records: list[SentMessage] = []
        self._documents: list[SentDocument] = []
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._answered: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(4_000_000_000_000_000)
        self._baseline_all = 0
        self._baseline: dict[int, int] = {}

        self._force_429: list[int] = []
        self._drop = 0
        self.send_delay = 0.0  # seconds every sendMessage/sendDocument takes (a slow network or server)
        self._held: dict[int, asyncio.Event] = {}
        self._global_bucket = _Bucket(global_rate, global_rate, clock)
        self._chat_buckets: dict[int, _Bucket] = {}
        self._group_windows: dict[int, _Window] = {}

        self._methods: dict[str, tuple[str, Callable[..., Any]]] = {}
        for name, handler in (
            ("getMe", self._get_me),
            ("logOut", self._ok),
            ("close", self._ok),
            ("getUpdates", self._get_updates),
            ("setWebhook", self._set_webhook),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("sendMessage", self._send_message),
            ("editMessageText", self._edit_message_text),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("answerCallbackQuery", self._answer_callback_query),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("sendDocument", self._send_document),
            ("sendChatAction", self._send_chat_action),
        ):
            self._methods[name.lower()] = (name, handler)

    # ---- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Listen on 127.0.0.1 on an ephemeral port."""
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self._port = await serve(app, shutdown_timeout=1.0)
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._webhook_worker(), name="fake-telegram-webhook")
        return self

    async def stop(self) -> None:
        """End pending long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._pulse()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the fake listens on."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def api_url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url(...)`` takes; PTB appends the token."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's ``base_file_url(...)`` takes."""
        return f"{self.api_url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a Telegram ``User`` object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ---- fault injection ---------------------------------------------------------------

    def force_429(self, count: int = 1, retry_after: int = 3) -> None:
        """Answer the next ``count`` send/edit calls with 429 and ``retry_after``."""
        self._force_429.extend([retry_after] * count)

    def drop_connections(self, count: int = 1) -> None:
        """Close the connection, without answering, on the next ``count`` requests."""
        self._drop += count

    def hold(self, chat_id: int) -> None:
        """Keep every sendMessage/sendDocument to ``chat_id`` waiting (recorded as in flight, not
        answered, nothing delivered) until ``release``. A held call whose client went away meanwhile
        (the bot was killed) is never delivered."""
        self._held.setdefault(chat_id, asyncio.Event())

    def release(self, chat_id: int) -> None:
        """Let the calls held for ``chat_id`` go on."""
        event = self._held.pop(chat_id, None)
        if event is not None:
            event.set()

    # ---- simulated people --------------------------------------------------------------

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        chat_title: str = "Test group",
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Queue a text ``message`` from a person; commands get a ``bot_command`` entity.

        A person who blocked the bot unblocks it by writing (``my_chat_member`` comes first).
        """
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(
            user_id,
            content,
            chat_id=chat_id,
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            language_code=language_code,
            chat_title=chat_title,
            reply_to_message_id=reply_to_message_id,
        )

    def user_sends_photo(self, user_id: int, *, caption: str | None = None, **kw: Any) -> dict:
        """Queue a photo message."""
        uid = self._file_unique()
        sizes = [
            {"file_id": f"photo-{uid}-s", "file_unique_id": f"{uid}s", "width": 90, "height": 90},
            {"file_id": f"photo-{uid}-m", "file_unique_id": f"{uid}m", "width": 800, "height": 800},
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, content, **kw)

    def user_sends_sticker(self, user_id: int, *, emoji: str = "🙂", **kw: Any) -> dict:
        """Queue a sticker message."""
        uid = self._file_unique()
        sticker = {
            "file_id": f"sticker-{uid}",
            "file_unique_id": uid,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user_id, {"sticker": sticker}, **kw)

    def user_sends_voice(self, user_id: int, *, duration: int = 3, **kw: Any) -> dict:
        """Queue a voice message."""
        uid = self._file_unique()
        voice = {
            "file_id": f"voice-{uid}",
            "file_unique_id": uid,
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._user_message(user_id, {"voice": voice}, **kw)

    def user_sends_document(
        self,
        user_id: int,
        *,
        file_name: str = "notes.txt",
        mime_type: str = "text/plain",
        **kw: Any,
    ) -> dict:
        """Queue a document message."""
        uid = self._file_unique()
        document = {
            "file_id": f"document-{uid}",
            "file_unique_id": uid,
            "file_name": file_name,
            "mime_type": mime_type,
        }
        return self._user_message(user_id, {"document": document}, **kw)

    def user_sends_location(
        self, user_id: int, *, latitude: float = 52.52, longitude: float = 13.405, **kw: Any
    ) -> dict:
        """Queue a location message."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(user_id, {"location": location}, **kw)

    def user_edits(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Queue an ``edited_message`` for one of the person's own text messages."""
        chat = chat_id if chat_id is not None else user_id
        message = self._messages.get((chat, message_id))
        if message is None or message.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat}")
        message["text"] = text
        message["edit_date"] = _now()
        message.pop("entities", None)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        self._mark_baseline(chat)
        return self._queue_update("edited_message", _public(message))

    def user_presses(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        allow_missing: bool = False,
    ) -> dict[str, Any]:
        """Queue a ``callback_query`` for a button on one of the bot's messages.

        Raises ValueError if the message has no such button, unless ``allow_missing`` (a stale
        client pressing a button that was edited away).
        """
        chat = chat_id if chat_id is not None else user_id
        message = self._messages.get((chat, message_id))
        if message is None or not message.get("_from_bot"):
            raise ValueError(f"no bot message {message_id} in chat {chat}")
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        datas = [b.get("callback_data") for row in rows for b in row]
        if callback_data not in datas and not allow_missing:
            raise ValueError(f"message {message_id} has no button {callback_data!r}: {datas}")
        user = self._users.get(user_id) or self._make_user(user_id)
        query_id = str(next(self._callback_ids))
        query = {
            "id": query_id,
            "from": user,
            "message": _public(message),
            "chat_instance": str(-abs(chat) * 7 - 1),
            "data": callback_data,
        }
        self._callbacks[query_id] = query
        self._mark_baseline(chat)
        return self._queue_update("callback_query", query)

    def block(self, user_id: int, *, notify: bool = True) -> dict[str, Any] | None:
        """The person blocks the bot; sends to them now get 403. Queues ``my_chat_member``."""
        self._blocked.add(user_id)
        if notify and user_id in self._chats:
            return self._queue_update("my_chat_member", self._member_change(user_id, "kicked"))
        return None

    def unblock(self, user_id: int, *, notify: bool = True) -> dict[str, Any] | None:
        """The person unblocks the bot. Queues ``my_chat_member``."""
        self._blocked.discard(user_id)
        if notify and user_id in self._chats:
            return self._queue_update("my_chat_member", self._member_change(user_id, "member"))
        return None

    async def post_update_raw(
        self,
        url: str,
        update: dict[str, Any] | str | bytes,
        secret: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a hand-made update to ``url``; returns ``(status, body)``."""
        assert self._session is not None, "start() first"
        data = update if isinstance(update, str | bytes) else json.dumps(update)
        sent_headers = {"Content-Type": "application/json", **(headers or {})}
        if secret is not None:
            sent_headers[SECRET_HEADER] = secret
        async with self._session.post(url, data=data, headers=sent_headers) as resp:
            return resp.status, await resp.text()

    # ---- inspection ---------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent or edited, oldest first (all chats when ``chat_id`` is None)."""
        return [r for r in self._records if chat_id is None or r.chat_id == chat_id]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Plain texts of ``sent(chat_id)``."""
        return [r.text for r in self.sent(chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of any message, as a Telegram ``Message`` object."""
        stored = self._messages.get((chat_id, message_id))
        return _public(stored) if stored else None

    def documents(self, chat_id: int | None = None) -> list[SentDocument]:
        """Documents the bot uploaded."""
        return [d for d in self._documents if chat_id is None or d.chat_id == chat_id]

    def unanswered_callbacks(self) -> list[dict[str, Any]]:
        """Callback queries the bot has not answered yet."""
        return list(self._callbacks.values())

    def answered_callbacks(self) -> dict[str, dict[str, Any]]:
        """Answered query id -> the answerCallbackQuery parameters."""
        return dict(self._answered)

    def calls(self, method: str) -> list[RequestRecord]:
        """Requests for one method (case-insensitive)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued for getUpdates and not yet confirmed."""
        return list(self._pending)

    @property
    def webhook_url(self) -> str:
        """The webhook URL set by the bot ('' in polling mode)."""
        return self._webhook["url"]

    @property
    def webhook_secret(self) -> str | None:
        """The secret token given to setWebhook."""
        return self._webhook["secret_token"]

    def mark(self) -> int:
        """A position in the sent-record history, for ``wait_for(..., since=...)``."""
        return len(self._records)

    async def wait_for(
        self,
        until: int | Callable[[SentMessage], bool] = 1,
        chat_id: int | None = None,
        *,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> list[SentMessage]:
        """Wait for new records in ``chat_id`` (any chat when None) and return them.

        "New" means after ``since`` (a ``mark()``), by default after the last simulated action
        of a person in that chat. ``until`` is a count of new records, or a predicate that one
        new record must satisfy. Raises TimeoutError with what was seen.
        """
        if since is None:
            since = self._baseline.get(chat_id, 0) if chat_id is not None else self._baseline_all

        def fresh() -> list[SentMessage]:
            return [r for r in self._records[since:] if chat_id is None or r.chat_id == chat_id]

        def done(records: list[SentMessage]) -> bool:
            if isinstance(until, int):
                return len(records) >= until
            return any(until(r) for r in records)

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            event = self._changed
            records = fresh()
            if done(records):
                return records
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(
                    f"wait_for({until!r}, chat_id={chat_id}) timed out after {timeout}s; "
                    f"new records: {[r.text for r in records]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_request(
        self, method: str, count: int = 1, *, timeout: float = 10.0, in_flight: bool = False
    ) -> list[RequestRecord]:
        """Wait until ``count`` calls of ``method`` completed (or arrived, with ``in_flight``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            event = self._changed
            done = [r for r in self.calls(method) if in_flight or r.status is not None]
            if len(done) >= count:
                return done
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{method} called {len(done)} times, wanted {count}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def webhook_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook update was delivered or given up on."""
        await asyncio.wait_for(self._webhook_queue.join(), timeout)

    # ---- internals: people and updates --------------------------------------------------

    def _pulse(self) -> None:
        """Wake every waiter (long polls, wait_for)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _file_unique(self) -> str:
        return f"AQAD{next(self._file_ids):x}"

    def _make_user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
            "language_code": language_code or "en",
        }
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _mark_baseline(self, chat_id: int) -> None:
        self._baseline[chat_id] = len(self._records)
        self._baseline_all = len(self._records)

    def _user_message(
        self,
        user_id: int,
        content: dict[str, Any],
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        chat_title: str = "Test group",
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        if chat_type not in ("private", "group", "supergroup"):
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        known = self._users.get(user_id)
        user = (
            known
            if known and first_name is None and username is None
            else self._make_user(
                user_id,
                first_name or (known or {}).get("first_name"),
                username or (known or {}).get("username"),
                language_code or (known or {}).get("language_code"),
            )
        )
        if language_code is not None:
            user["language_code"] = language_code
        if chat_type == "private":
            chat_id = user_id if chat_id is None else chat_id
            if chat_id != user_id:
                raise ValueError("a private chat's id is the user's id")
            chat: dict[str, Any] = {
                "id": chat_id,
                "type": "private",
                "first_name": user["first_name"],
            }
            if "username" in user:
                chat["username"] = user["username"]
        else:
            if chat_id is None or chat_id >= 0:
                raise ValueError("group chats need a negative chat_id")
            chat = {"id": chat_id, "type": chat_type, "title": chat_title}
        self._chats[chat_id] = chat
        if chat_type == "private" and user_id in self._blocked:
            self.unblock(user_id)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": _now(),
            **content,
        }
        if reply_to_message_id is not None:
            replied = self._messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = _public(replied)
        self._messages[(chat_id, message["message_id"])] = message
        self._mark_baseline(chat_id)
        return self._queue_update("message", _public(message))

    def _member_change(self, user_id: int, new_status: str) -> dict[str, Any]:
        old_status = "member" if new_status == "kicked" else "kicked"
        user = self._users.get(user_id) or self._make_user(user_id)
        member_old: dict[str, Any] = {"status": old_status, "user": self.bot_user}
        member_new: dict[str, Any] = {"status": new_status, "user": self.bot_user}
        if new_status == "kicked":
            member_new["until_date"] = 0
        else:
            member_old["until_date"] = 0
        return {
            "chat": self._chats[user_id],
            "from": user,
            "date": _now(),
            "old_chat_member": member_old,
            "new_chat_member": member_new,
        }

    def _queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        allowed = self._webhook["allowed_updates"] if self._webhook["url"] else None
        allowed = allowed if allowed else self._allowed_updates
        if allowed and kind not in allowed:
            return update  # Telegram never generates it for this bot
        if not allowed and kind in _DEFAULT_EXCLUDED_UPDATES:
            return update
        if self._webhook["url"]:
            self._webhook_queue.put_nowait(update)
        else:
            self._pending.append(update)
        self._pulse()
        return update

    # ---- internals: webhook delivery ----------------------------------------------------

    async def _webhook_worker(self) -> None:
        while True:
            update = await self._webhook_queue.get()
            try:
                await self._deliver(update)
            finally:
                self._webhook_queue.task_done()

    async def _deliver(self, update: dict[str, Any]) -> None:
        for attempt in range(1, self.webhook_attempts + 1):
            url, secret = self._webhook["url"], self._webhook["secret_token"]
            if not url:  # webhook removed meanwhile: the update waits for getUpdates
                self._pending.append(update)
                self._pulse()
                return
            headers = {"Content-Type": "application/json"}
            if secret:
                headers[SECRET_HEADER] = secret
            status: int | None = None
            error: str | None = None
            assert self._session is not None
            try:
                async with self._session.post(
                    url,
                    data=json.dumps(update),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as resp:
                    status = resp.status
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], url, attempt, status, error, secret)
            )
            self._pulse()
            if status is not None and 200 <= status < 300:
                return
            detail = f"Wrong response from the webhook: {status}" if status else "Connection failed"
            self._webhook_last_error = (_now(), detail)
            if attempt < self.webhook_attempts:
                await asyncio.sleep(self.webhook_retry_delay * attempt)

    # ---- internals: HTTP ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._drop > 0:
            self._drop -= 1
            self.requests.append(RequestRecord(_method_of(request.path), {}, 0, "dropped"))
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=599)  # never reaches the client

        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        if match is None:
            return _reply(ApiError(404, "Not Found").body(), 404)
        token, method = match.groups()
        if token != self.token:
            record = RequestRecord(method, {}, 401, "Unauthorized")
            self.requests.append(record)
            return _reply(ApiError(401, "Unauthorized").body(), 401)
        entry = self._methods.get(method.lower())
        if entry is None:
            self.requests.append(RequestRecord(method, {}, 404, "Not Found"))
            return _reply(ApiError(404, "Not Found").body(), 404)
        name, handler = entry
        try:
            params, files = await _read_params(request)
        except ValueError:
            params, files = {}, {}
        logged = dict(params)
        for key, (filename, content, _mime) in files.items():
            logged[key] = {"filename": filename, "size": len(content)}
        record = RequestRecord(name, logged)
        self.requests.append(record)
        self._pulse()
        if name.lower() in ("sendmessage", "senddocument"):
            if self.send_delay > 0:
                await asyncio.sleep(self.send_delay)
            held = self._held.get(_int(params, "chat_id") if _is_int_like(params.get("chat_id")) else 0)
            if held is not None:
                await held.wait()
            if request.transport is None or request.transport.is_closing():
                record.status, record.description = 0, "client gone"  # never delivered
                self._pulse()
                return web.Response(status=599)
        try:
            buckets = self._check_flood(name.lower(), params)
            result = await handler(params, files)
            for bucket in buckets:  # only calls Telegram accepted use up the allowance
                bucket.take()
            body: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except ApiError as exc:
            body, status = exc.body(), exc.status
            record.description = exc.description
        record.status = status
        self._pulse()
        return _reply(body, status)

    def _check_flood(self, method: str, params: dict[str, Any]) -> list[_Bucket | _Window]:
        """Raise 429 if the call is over a limit; returns the buckets to charge on success."""
        if method not in SEND_METHODS and method not in EDIT_METHODS:
            return []
        if self._force_429:
            raise _too_many(self._force_429.pop(0))
        if not self.enforce_rates:
            return []
        chat_id = _int(params, "chat_id") if _is_int_like(params.get("chat_id")) else None
        buckets: list[_Bucket | _Window] = [self._global_bucket]
        if method in SEND_METHODS and chat_id is not None:
            buckets.append(
                self._chat_buckets.setdefault(chat_id, _Bucket(self.chat_rate, self.chat_burst, self.clock))
            )
            if chat_id < 0:
                buckets.append(
                    self._group_windows.setdefault(chat_id, _Window(self.group_per_minute, 60.0, self.clock))
                )
        wait = max(bucket.wait() for bucket in buckets)
        if wait > 0:
            raise _too_many(max(1, math.ceil(wait)))
        return buckets

    # ---- internals: validation ------------------------------------------------------------

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if not _is_int_like(raw):
            raise _bad("chat not found")
        chat_id = int(raw)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if chat["type"] == "private" and chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _parse_text(
        self, text: Any, parse_mode: Any, *, limit: int, caption: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        """Parse entities and enforce length; returns (plain text, entities)."""
        what = "message caption" if caption else "message text"
        if text is None or text == "":
            if caption:
                return "", []
            raise _bad(f"{what} is empty")
        text = str(text)
        mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
        if mode == "html":
            plain, entities = parse_html(text, strict_ampersand=self.strict_ampersand)
        elif mode == "markdownv2":
            plain, entities = parse_markdown_v2(text)
        elif mode in ("", "markdown"):
            plain, entities = text.strip(), []
        else:
            raise _bad(f"unsupported parse_mode {parse_mode}")
        if not plain and not caption:
            raise _bad(f"{what} is empty")
        if len(plain) > limit:  # Telegram counts characters (code points), not UTF-16 units
            raise _bad("message caption is too long" if caption else "message is too long")
        return plain, entities

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup  # reply keyboards / remove / force_reply are passed through
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        if sum(len(row) for row in rows) > MAX_KEYBOARD_BUTTONS:
            raise _bad("reply markup is too long")
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                text = button.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                actions = [k for k in button if k != "text"]
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in "
                        "the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url):
                        raise _bad("BUTTON_URL_INVALID")
        return markup

    def _bot_message(
        self,
        chat: dict[str, Any],
        content: dict[str, Any],
        *,
        raw_text: str,
        parse_mode: str | None,
        reply_markup: dict[str, Any] | None,
        method: str,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": _now(),
            **content,
            "_from_bot": True,
            "_raw": raw_text,
            "_parse_mode": parse_mode,
        }
        if reply_markup and "inline_keyboard" in reply_markup:
            message["reply_markup"] = reply_markup
        self._messages[(chat["id"], message["message_id"])] = message
        self._record(message, edited=False, method=method)
        return _public(message)

    def _record(self, message: dict[str, Any], *, edited: bool, method: str) -> None:
        self._records.append(
            SentMessage(
                seq=len(self._records) + 1,
                message_id=message["message_id"],
                chat_id=message["chat"]["id"],
                text=message.get("text", message.get("caption", "")),
                raw_text=message.get("_raw", ""),
                parse_mode=message.get("_parse_mode"),
                reply_markup=message.get("reply_markup"),
                entities=list(message.get("entities") or message.get("caption_entities") or []),
                edited=edited,
                date=message.get("edit_date", message["date"]),
                method=method,
            )
        )

    def _message_to_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("message to edit not found")
        chat = self._target_chat(params)
        message_id = _int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = self._messages.get((chat["id"], message_id))
        if message is None:
            raise _bad("message to edit not found")
        if not message.get("_from_bot"):
            raise _bad("message can't be edited")
        return message

    # ---- Bot API methods ---------------------------------------------------------------------

    async def _ok(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, Any], files: dict[str, Any]) -> list[dict]:
        if self._webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params, "offset", 0) or 0
        limit = min(max(_int(params, "limit", 100) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = _json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]

        # A newer getUpdates terminates the pending one, as the real server does.
        self._poll_generation += 1
        generation = self._poll_generation
        self._pulse()

        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._pending or self._closing:
                return list(itertools.islice(self._pending, limit))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _set_webhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url and not re.match(r"https?://[^/\s]+", str(url)):
            raise _bad("bad webhook: Webhook URL is invalid")  # loopback http is allowed here
        secret = params.get("secret_token") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: Secret token contains unallowed characters")
        allowed = _json(params, "allowed_updates")
        if _bool(params, "drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": str(url),
            "secret_token": secret if url else None,
            "allowed_updates": [str(a) for a in allowed] if isinstance(allowed, list) else [],
            "max_connections": _int(params, "max_connections", 40),
        }
        if url:  # updates queued for polling now go to the webhook
            while self._pending:
                self._webhook_queue.put_nowait(self._pending.popleft())
            self._poll_generation += 1  # end any long poll
        self._webhook_last_error = None
        return True

    async def _delete_webhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self._webhook = {"url": "", "secret_token": None, "allowed_updates": []}
        if _bool(params, "drop_pending_updates"):
            self._pending.clear()
            while not self._webhook_queue.empty():
                self._webhook_queue.get_nowait()
                self._webhook_queue.task_done()
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: dict[str, Any]) -> dict:
        url = self._webhook["url"]
        pending = self._webhook_queue.qsize() if url else len(self._pending)
        info: dict[str, Any] = {
            "url": url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if url:
            info["max_connections"] = self._webhook.get("max_connections") or 40
            info["ip_address"] = "127.0.0.1"
            if self._webhook["allowed_updates"]:
                info["allowed_updates"] = self._webhook["allowed_updates"]
        if self._webhook_last_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _send_message(self, params: dict[str, Any], files: dict[str, Any]) -> dict:
        chat = self._target_chat(params)
        raw = params.get("text")
        parse_mode = params.get("parse_mode") or None
        plain, entities = self._parse_text(raw, parse_mode, limit=MAX_TEXT_LENGTH)
        markup = self._check_markup(_json(params, "reply_markup"))
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._bot_message(
            chat,
            content,
            raw_text=str(raw),
            parse_mode=parse_mode,
            reply_markup=markup,
            method="sendMessage",
        )

    async def _edit_message_text(self, params: dict[str, Any], files: dict[str, Any]) -> dict:
        message = self._message_to_edit(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        raw = params.get("text")
        parse_mode = params.get("parse_mode") or None
        plain, entities = self._parse_text(raw, parse_mode, limit=MAX_TEXT_LENGTH)
        markup = self._check_markup(_json(params, "reply_markup"))
        markup = markup if markup and "inline_keyboard" in markup else None
        if (
            plain == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = plain
        message["_raw"] = str(raw)
        message["_parse_mode"] = parse_mode
        message["edit_date"] = _now()
        _set_or_pop(message, "entities", entities)
        _set_or_pop(message, "reply_markup", markup)  # editing text without markup removes it
        self._record(message, edited=True, method="editMessageText")
        return _public(message)

    async def _edit_message_reply_markup(self, params: dict[str, Any], files: dict[str, Any]) -> dict:
        message = self._message_to_edit(params)
        markup = self._check_markup(_json(params, "reply_markup"))
        markup = markup if markup and "inline_keyboard" in markup else None
        if markup == message.get("reply_markup") or (
            markup == {"inline_keyboard": []} and not message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message["edit_date"] = _now()
        _set_or_pop(message, "reply_markup", markup)
        self._record(message, edited=True, method="editMessageReplyMarkup")
        return _public(message)

    async def _answer_callback_query(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks:
            raise _bad(_CALLBACK_GONE.removeprefix("Bad Request: "))
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._callbacks.pop(query_id)
        self._answered[query_id] = dict(params)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _json(params, "scope") or {"type": "default"}
        language = str(params.get("language_code") or "")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        commands = _json(params, "commands")
        if not isinstance(commands, list):
            raise _bad("commands is empty")
        if len(commands) > MAX_COMMANDS:
            raise _bad("too many commands specified")
        cleaned = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise _bad(
                    "command description is empty"
                    if not description.strip()
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params)
        self.command_scopes[key] = cleaned
        if key[0] == json.dumps({"type": "default"}):
            self.commands[key[1]] = cleaned
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: dict[str, Any]) -> list:
        return self.command_scopes.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        key = self._commands_key(params)
        self.command_scopes.pop(key, None)
        if key[0] == json.dumps({"type": "default"}):
            self.commands.pop(key[1], None)
        return True

    async def _send_document(self, params: dict[str, Any], files: dict[str, Any]) -> dict:
        chat = self._target_chat(params)
        upload = files.get("document")
        ref = params.get("document")
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref.removeprefix("attach://"))
        if upload is None and not ref:
            raise _bad("there is no document in the request")
        caption_raw = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        caption, entities = self._parse_text(caption_raw, parse_mode, limit=MAX_CAPTION_LENGTH, caption=True)
        markup = self._check_markup(_json(params, "reply_markup"))
        unique = self._file_unique()
        filename, content_bytes, mime = upload if upload else (None, None, None)
        document: dict[str, Any] = {"file_id": f"document-{unique}", "file_unique_id": unique}
        if filename:
            document["file_name"] = filename
        if mime:
            document["mime_type"] = mime
        if content_bytes is not None:
            document["file_size"] = len(content_bytes)
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        result = self._bot_message(
            chat,
            content,
            raw_text=str(caption_raw or ""),
            parse_mode=parse_mode,
            reply_markup=markup,
            method="sendDocument",
        )
        self._documents.append(
            SentDocument(
                chat_id=chat["id"],
                message_id=result["message_id"],
                filename=filename,
                content=content_bytes,
                mime_type=mime,
                caption=caption or None,
                file_id=document["file_id"] if upload else str(ref),
            )
        )
        return result

    async def _send_chat_action(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True


# --------------------------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------------------------


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """The message without the fake's bookkeeping keys."""
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _set_or_pop(target: dict[str, Any], key: str, value: Any) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def _is_int_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _too_many(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def _method_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _reply(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
    """Query string plus JSON, urlencoded or multipart body, as PTB and curl send them."""
    params: dict[str, Any] = {k: _decode_field(k, v) for k, v in request.query.items()}
    files: dict[str, tuple[str, bytes, str]] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = (value.filename, value.file.read(), value.content_type)
        else:
            params[key] = _decode_field(key, str(value))
    return params, files


def _decode_field(key: str, value: str) -> Any:
    """Form values are strings; JSON-typed fields arrive JSON-encoded."""
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
