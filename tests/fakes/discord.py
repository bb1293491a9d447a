"""A fake Discord (REST ``/api/v10`` + gateway websocket) on 127.0.0.1 for end-to-end tests.

The real discord.py client connects to it. Payloads follow Discord's JSON shapes and the fake
enforces Discord's limits (2,000-character content, 5x5 components, 100-character custom ids,
the 3-second interaction window, closed DMs, rate limits), so a bot that Discord would reject
fails the tests first.

``message_delay`` makes every new bot message (channel messages and interaction follow-ups) take
that long to be accepted; ``sent_at(message)`` is the monotonic time the fake accepted one;
``hold(channel_id)`` keeps the bot's new messages in a channel waiting until ``release``.

Point discord.py at it with :func:`point_discord_py_at` (sets ``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.loopback import serve

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Gateway intents (bit positions from Discord's docs).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_VOICE_MESSAGE = 1 << 13
FLAG_IS_COMPONENTS_V2 = 1 << 15

# Permission bits used by the fake.
PERMISSIONS: dict[str, int] = {
    "create_instant_invite": 1 << 0,
    "kick_members": 1 << 1,
    "ban_members": 1 << 2,
    "administrator": 1 << 3,
    "manage_channels": 1 << 4,
    "manage_guild": 1 << 5,
    "add_reactions": 1 << 6,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "mention_everyone": 1 << 17,
    "use_external_emojis": 1 << 18,
    "manage_roles": 1 << 28,
    "use_application_commands": 1 << 31,
    "send_messages_in_threads": 1 << 38,
}
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = (
    PERMISSIONS["view_channel"]
    | PERMISSIONS["send_messages"]
    | PERMISSIONS["read_message_history"]
    | PERMISSIONS["add_reactions"]
    | PERMISSIONS["embed_links"]
    | PERMISSIONS["attach_files"]
    | PERMISSIONS["use_external_emojis"]
    | PERMISSIONS["use_application_commands"]
)
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | PERMISSIONS["send_messages_in_threads"]
DM_APP_PERMISSIONS = DEFAULT_BOT_PERMISSIONS

CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1

# Interaction types and callback types.
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

_SELECT_TYPES = {3, 5, 6, 7, 8}
_BODY = web.RequestKey("body", object)
_MENTION_USER = re.compile(r"<@!?(\d{15,21})>")
_MENTION_ROLE = re.compile(r"<@&(\d{15,21})>")
_MENTION_EVERYONE = re.compile(r"@(everyone|here)")
_COMMAND_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


class DiscordError(Exception):
    """An error answer in Discord's JSON shape."""

    def __init__(self, status: int, message: str, code: int, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def _form_error(problems: dict[str, tuple[str, str]]) -> DiscordError:
    """Build a 400 Invalid Form Body (50035) from ``{"a.0.b": (code, message)}``."""
    errors: dict[str, Any] = {}
    for path, (code, message) in problems.items():
        node = errors
        for part in path.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return DiscordError(400, "Invalid Form Body", 50035, errors)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (discord.py checks it)."""
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=hdrs)


@dataclass
class FakeGuild:
    """Ids of a guild created by :meth:`FakeDiscord.add_guild`."""

    id: int
    channel_ids: dict[str, int]
    role_ids: dict[str, int]
    everyone_role_id: int

    @property
    def channel_id(self) -> int:
        """The first text channel."""
        return next(iter(self.channel_ids.values()))


@dataclass
class RequestRecord:
    """One REST call the bot made."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int = 0
    response: Any = None
    at: float = 0.0


@dataclass
class InteractionRecord:
    """An interaction the fake dispatched and everything the bot answered to it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user_id: int
    channel_id: int
    guild_id: int | None
    dispatched_at: float
    acknowledged: bool = False
    ack_type: int | None = None
    original_message_id: int | None = None
    component_message_id: int | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    followup_ids: list[int] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        """True if the initial response (or defer) was ephemeral."""
        return any(r["kind"] == "callback" and r["ephemeral"] for r in self.responses)


@dataclass
class _Session:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    conn: _GatewayConn | None = None


class _GatewayConn:
    """One websocket connection, with optional zlib-stream/zstd-stream transport compression."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self.session: _Session | None = None
        self.lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd: Any = None
        if compress == "zstd-stream":
            self._zstd = _zstd_compressor()
        self.compress = compress if (self._zlib or self._zstd) else None

    async def send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            if self._zlib is not None:
                raw = data.encode()
                await self.ws.send_bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
            elif self._zstd is not None:
                await self.ws.send_bytes(self._zstd(data.encode()))
            else:
                await self.ws.send_str(data)


def _zstd_compressor() -> Callable[[bytes], bytes] | None:
    """A streaming zstd compressor (what discord.py requests when it has zstd), if available."""
    try:
        import zstandard  # type: ignore[import-not-found]

        obj = zstandard.ZstdCompressor().compressobj()
        return lambda b: obj.compress(b) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    except ImportError:
        pass
    try:
        from compression import zstd  # type: ignore[import-not-found]

        comp = zstd.ZstdCompressor()
        return lambda b: comp.compress(b, mode=zstd.ZstdCompressor.FLUSH_BLOCK)
    except ImportError:
        return None


class FakeDiscord:
    """Fake Discord REST + gateway for the real discord.py client."""

    def __init__(
        self,
        *,
        token: str | None = None,
        application_id: int | None = None,
        bot_name: str = "KeepGoing",
        heartbeat_interval_ms: int = 41250,
        interaction_timeout: float = 3.0,
        followup_ttl: float = 900.0,
        global_rate_limit: int | None = 50,
        privileged_intents: int = 0,
        strict_commands: bool = False,
        echo_own_messages: bool = True,
    ) -> None:
        self._last_id = 0
        self._users: dict[int, dict[str, Any]] = {}
        self._dms_closed: set[int] = set()
        self.token = token or f"fake.{secrets.token_urlsafe(24)}"
        self.application_id = application_id or self._next_id()
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_timeout = interaction_timeout
        self.followup_ttl = followup_ttl
        self.global_rate_limit = global_rate_limit
        self.privileged_intents = privileged_intents
        self.strict_commands = strict_commands
        self.echo_own_messages = echo_own_messages
        self.bot_user: dict[str, Any] = {
            "id": str(self.application_id),
            "username": bot_name,
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "public_flags": 0,
        }
        self.owner_user = self.user(name="app-owner")
        self.requests: list[RequestRecord] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.identify_payloads: list[dict[str, Any]] = []
        self.gateway_connections: list[dict[str, Any]] = []
        self.intents: int | None = None
        self._guilds: dict[int, dict[str, Any]] = {}
        self._channels: dict[int, dict[str, Any]] = {}
        self._dm_channel_by_user: dict[int, int] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self._message_meta: dict[int, dict[str, Any]] = {}
        self._interactions: dict[int, InteractionRecord] = {}
        self._interaction_by_token: dict[str, InteractionRecord] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._sessions: dict[str, _Session] = {}
        self._conns: set[_GatewayConn] = set()
        self._forced_429: deque[float] = deque()
        self._recent_requests: deque[float] = deque()
        self._cond: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._ready_event: asyncio.Event | None = None
        self.message_delay = 0.0  # seconds each new bot message takes (a slow network or server)
        self._held: dict[int, asyncio.Event] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        """Start the server on an ephemeral 127.0.0.1 port."""
        self._cond = asyncio.Condition()
        self._ready_event = asyncio.Event()
        app = web.Application(middlewares=[self._middleware], client_max_size=32 * 1024 * 1024)
        self._add_routes(app)
        self._runner, self._port = await serve(app, handle_signals=False)
        return self

    async def stop(self) -> None:
        """Close every gateway connection and stop the server."""
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"fake shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """REST base, e.g. ``http://127.0.0.1:PORT/api/v10`` (for ``Route.BASE``)."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Websocket URL without query, e.g. ``ws://127.0.0.1:PORT/gateway``."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    # ------------------------------------------------------------------ ids, users, guilds

    def _next_id(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = ms << 22
        self._last_id = max(candidate, self._last_id + 1)
        return self._last_id

    def user(
        self,
        user_id: int | None = None,
        name: str | None = None,
        *,
        bot: bool = False,
        global_name: str | None = None,
        dms_open: bool = True,
    ) -> dict[str, Any]:
        """Create (or return) a user and give back its Discord user dict."""
        if user_id is not None and user_id in self._users:
            return self._users[user_id]
        uid = user_id or self._next_id()
        data = {
            "id": str(uid),
            "username": name or f"user{uid % 100000}",
            "global_name": global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        self._users[uid] = data
        if not dms_open:
            self._dms_closed.add(uid)
        return data

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.application_id:
            return self.bot_user
        return self._users.get(user_id) or self.user(user_id)

    def close_dms(self, user_id: int) -> None:
        """The user no longer accepts DMs from the bot (sends answer 403 / 50007)."""
        self._user(user_id)
        self._dms_closed.add(user_id)

    def open_dms(self, user_id: int) -> None:
        """The user accepts DMs again."""
        self._dms_closed.discard(user_id)

    def add_guild(
        self,
        guild_id: int | None = None,
        *,
        name: str = "Test Guild",
        channels: Iterable[str | dict[str, Any]] = ("general",),
        members: Iterable[int | dict[str, Any]] = (),
        owner_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        locale: str = "en-US",
    ) -> FakeGuild:
        """Add a guild the bot is in (call before the bot connects, or it gets GUILD_CREATE).

        ``channels``: names, or dicts ``{"name", "permission_overwrites", "topic"}``.
        ``members``: user ids, or dicts ``{"id", "permissions": int | ["manage_guild", ...],
        "nick"}``; permissions are granted through a role named ``perms-<id>``.
        """
        gid = guild_id or self._next_id()
        owner = owner_id or self._next_id()
        self._user(owner)
        everyone = {"id": str(gid), **self._role_fields("@everyone", everyone_permissions, 0)}
        bot_role_id = self._next_id()
        bot_role = {
            "id": str(bot_role_id),
            **self._role_fields(self.bot_user["username"], bot_permissions, 1),
            "managed": True,
            "tags": {"bot_id": str(self.application_id)},
        }
        roles = [everyone, bot_role]
        role_ids = {"@everyone": gid, bot_role["name"]: bot_role_id}
        guild: dict[str, Any] = {
            "id": gid,
            "name": name,
            "owner_id": owner,
            "locale": locale,
            "roles": roles,
            "channel_ids": [],
            "members": {},
            "joined_at": _now_iso(),
        }
        self._guilds[gid] = guild
        guild["members"][self.application_id] = self._member_payload(self.bot_user, [bot_role_id])
        all_members: list[int | dict[str, Any]] = [owner, *members]
        for spec in all_members:
            spec_d: dict[str, Any] = spec if isinstance(spec, dict) else {"id": spec}
            uid = int(spec_d["id"])
            member_roles: list[int] = []
            perms = spec_d.get("permissions")
            if perms:
                value = perms if isinstance(perms, int) else _perm_bits(perms)
                rid = self._next_id()
                roles.append({"id": str(rid), **self._role_fields(f"perms-{uid}", value, 2)})
                role_ids[f"perms-{uid}"] = rid
                member_roles.append(rid)
            payload = self._member_payload(self._user(uid), member_roles, nick=spec_d.get("nick"))
            guild["members"][uid] = payload
        channel_ids: dict[str, int] = {}
        for pos, ch in enumerate(channels):
            ch_d: dict[str, Any] = ch if isinstance(ch, dict) else {"name": ch}
            cid = int(ch_d.get("id") or self._next_id())
            self._channels[cid] = {
                "id": str(cid),
                "type": CHANNEL_GUILD_TEXT,
                "guild_id": str(gid),
                "name": ch_d["name"],
                "position": pos,
                "permission_overwrites": ch_d.get("permission_overwrites", []),
                "nsfw": False,
                "parent_id": None,
                "topic": ch_d.get("topic"),
                "rate_limit_per_user": 0,
                "last_message_id": None,
                "flags": 0,
            }
            guild["channel_ids"].append(cid)
            channel_ids[ch_d["name"]] = cid
        return FakeGuild(gid, channel_ids, role_ids, gid)

    @staticmethod
    def _role_fields(name: str, permissions: int, position: int) -> dict[str, Any]:
        return {
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    @staticmethod
    def _member_payload(user: dict[str, Any], roles: list[int], nick: str | None = None) -> dict[str, Any]:
        return {
            "user": user,
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in roles],
            "joined_at": _now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def add_member(self, guild_id: int, user_id: int, permissions: int | Iterable[str] = 0) -> None:
        """Add a member to an existing guild (no gateway event is sent)."""
        guild = self._guilds[guild_id]
        member_roles: list[int] = []
        if permissions:
            value = permissions if isinstance(permissions, int) else _perm_bits(permissions)
            rid = self._next_id()
            guild["roles"].append({"id": str(rid), **self._role_fields(f"perms-{user_id}", value, 2)})
            member_roles.append(rid)
        guild["members"][user_id] = self._member_payload(self._user(user_id), member_roles)

    def permissions(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        """Discord's permission computation (base + channel overwrites)."""
        guild = self._guilds[guild_id]
        if user_id == guild["owner_id"]:
            return ALL_PERMISSIONS
        member = guild["members"].get(user_id)
        if member is None:
            return 0
        roles = {int(r["id"]): r for r in guild["roles"]}
        perms = int(roles[guild_id]["permissions"])
        member_roles = [int(r) for r in member["roles"]]
        for rid in member_roles:
            perms |= int(roles[rid]["permissions"]) if rid in roles else 0
        if perms & PERMISSIONS["administrator"]:
            return ALL_PERMISSIONS
        if channel_id is None:
            return perms
        overwrites = {int(o["id"]): o for o in self._channels[channel_id]["permission_overwrites"]}
        if guild_id in overwrites:
            everyone_ow = overwrites[guild_id]
            perms = (perms & ~int(everyone_ow["deny"])) | int(everyone_ow["allow"])
        allow = deny = 0
        for rid in member_roles:
            if rid in overwrites:
                allow |= int(overwrites[rid]["allow"])
                deny |= int(overwrites[rid]["deny"])
        perms = (perms & ~deny) | allow
        if user_id in overwrites:
            perms = (perms & ~int(overwrites[user_id]["deny"])) | int(overwrites[user_id]["allow"])
        return perms

    def _dm_channel(self, user_id: int) -> dict[str, Any]:
        cid = self._dm_channel_by_user.get(user_id)
        if cid is None:
            cid = self._next_id()
            self._dm_channel_by_user[user_id] = cid
            self._channels[cid] = {
                "id": str(cid),
                "type": CHANNEL_DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self._user(user_id)],
            }
        return self._channels[cid]

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the DM channel between the bot and ``user_id``."""
        return int(self._dm_channel(user_id)["id"])

    # ------------------------------------------------------------------ inspection

    def messages(self, channel_id: int, *, include_ephemeral: bool = False) -> list[dict[str, Any]]:
        """Messages in a channel as everyone sees them (ephemeral ones only if asked)."""
        out = []
        for mid in self._channel_messages.get(channel_id, []):
            meta = self._message_meta[mid]
            if meta["deleted"] or (meta["ephemeral"] and not include_ephemeral):
                continue
            out.append(self._messages[mid])
        return out

    def dm_messages(self, user_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent into its DM channel with ``user_id``."""
        cid = self._dm_channel_by_user.get(user_id)
        if cid is None:
            return []
        bot_id = str(self.application_id)
        return [m for m in self.messages(cid) if m["author"]["id"] == bot_id]

    def message(self, message_id: int) -> dict[str, Any]:
        """A stored message by id."""
        return self._messages[message_id]

    def hold(self, channel_id: int) -> None:
        """Keep every new bot message in ``channel_id`` waiting (recorded, not answered, not stored) until
        ``release``. One whose client went away meanwhile (the bot was killed) is never stored."""
        self._held.setdefault(channel_id, asyncio.Event())

    def release(self, channel_id: int) -> None:
        """Let the messages held for ``channel_id`` go on."""
        event = self._held.pop(channel_id, None)
        if event is not None:
            event.set()

    def sent_at(self, message: dict[str, Any] | int) -> float:
        """When the fake accepted a message (``time.monotonic()``)."""
        mid = int(message["id"]) if isinstance(message, dict) else message
        return float(self._message_meta[mid]["at"])

    def allowed_mentions(self, message: dict[str, Any] | int) -> dict[str, Any] | None:
        """The ``allowed_mentions`` the bot sent with a message (None if it sent none)."""
        mid = int(message["id"]) if isinstance(message, dict) else message
        return self._message_meta[mid]["allowed_mentions"]

    def interaction(self, interaction_id: int) -> InteractionRecord:
        """The record of a dispatched interaction."""
        return self._interactions[interaction_id]

    def interaction_responses(self, interaction_id: int) -> list[dict[str, Any]]:
        """Accepted callback/follow-ups/edits: dicts with kind, type, data, ephemeral, message."""
        return list(self._interactions[interaction_id].responses)

    def would_ping(self, message: dict[str, Any] | int) -> bool:
        """True if the message's content would notify someone (mentions not suppressed)."""
        mid = int(message["id"]) if isinstance(message, dict) else message
        content = self._message_meta[mid]["created_content"]
        am = self._message_meta[mid]["allowed_mentions"]
        return bool(_pinged(content, am))

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every change); return it."""
        assert self._cond is not None, "start() first"
        cond = self._cond

        async def _wait() -> Any:
            async with cond:
                result = predicate()
                while not result:
                    # Woken by every change in the fake; the short poll also catches
                    # predicates over client-side state (the bot's handlers run after our reply).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(cond.wait(), 0.02)
                    result = predicate()
                return result

        return await asyncio.wait_for(_wait(), timeout)

    async def _changed(self) -> None:
        if self._cond is not None:
            async with self._cond:
                self._cond.notify_all()

    async def wait_until_connected(self, timeout: float = 10.0) -> None:
        """Wait until a client has identified and received READY."""
        assert self._ready_event is not None, "start() first"
        await asyncio.wait_for(self._ready_event.wait(), timeout)

    @property
    def connected(self) -> bool:
        """True while an identified gateway connection is open."""
        return any(s.conn is not None for s in self._sessions.values())

    # ------------------------------------------------------------------ rate limits

    def force_429(self, count: int = 1, retry_after: float = 0.1) -> None:
        """The next ``count`` REST calls answer 429 (per-route, not global)."""
        self._forced_429.extend([retry_after] * count)

    def _rate_headers(self, request: web.Request, remaining: int, reset_after: float) -> dict:
        route = request.match_info.route
        resource = route.resource.canonical if route.resource is not None else request.path
        bucket = hashlib.sha1(f"{request.method} {resource}".encode()).hexdigest()[:16]
        return {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            # discord.py treats a 429 without Via as a Cloudflare ban and does not retry.
            "Via": "1.1 google",
        }

    def _too_many(self, request: web.Request, retry_after: float, is_global: bool) -> web.Response:
        headers = self._rate_headers(request, 0, retry_after)
        headers["Retry-After"] = str(math.ceil(retry_after))
        headers["X-RateLimit-Scope"] = "global" if is_global else "user"
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = is_global
        return _json_response(body, 429, headers)

    # ------------------------------------------------------------------ HTTP plumbing

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if request.path.startswith("/gateway"):
            return await handler(request)
        try:
            body = await _read_body(request)
        except DiscordError as exc:
            body, early = None, _json_response(exc.body, exc.status)
        else:
            early = None
        request[_BODY] = body
        rec = RequestRecord(request.method, request.path, dict(request.query), body, at=time.monotonic())
        self.requests.append(rec)
        resp = early or await self._answer(request, handler)
        rec.status = resp.status
        if isinstance(resp, web.Response) and resp.body:
            with contextlib.suppress(ValueError, TypeError):
                rec.response = json.loads(resp.body)  # type: ignore[arg-type]
        await self._changed()
        return resp

    async def _answer(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :]
        tokened = path.startswith(("/interactions/", "/webhooks/"))
        if self._forced_429:
            return self._too_many(request, self._forced_429.popleft(), False)
        # Interaction callbacks and follow-ups are exempt from the global limit.
        if self.global_rate_limit and not tokened:
            now = time.monotonic()
            while self._recent_requests and now - self._recent_requests[0] > 1.0:
                self._recent_requests.popleft()
            if len(self._recent_requests) >= self.global_rate_limit:
                wait = 1.0 - (now - self._recent_requests[0])
                return self._too_many(request, round(max(wait, 0.01), 3), True)
            self._recent_requests.append(now)
        public = path in ("/gateway",)
        if not tokened and not public:
            auth = request.headers.get("Authorization")
            if auth != f"Bot {self.token}":
                return _json_response({"message": "401: Unauthorized", "code": 0}, 401)
        try:
            resp = await handler(request)
        except DiscordError as exc:
            resp = _json_response(exc.body, exc.status)
        except web.HTTPNotFound:
            resp = _json_response({"message": "404: Not Found", "code": 0}, 404)
        except web.HTTPMethodNotAllowed:
            resp = _json_response({"message": "405: Method Not Allowed", "code": 0}, 405)
        for k, v in self._rate_headers(request, 4, 1.0).items():
            resp.headers.setdefault(k, v)
        return resp

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        p = API_PREFIX
        r.add_get("/gateway", self._ws_handler)
        r.add_get("/gateway/", self._ws_handler)
        r.add_get(f"{p}/gateway", self._get_gateway)
        r.add_get(f"{p}/gateway/bot", self._get_gateway_bot)
        r.add_get(f"{p}/users/@me", self._get_me)
        r.add_post(f"{p}/users/@me/channels", self._open_dm)
        r.add_get(f"{p}/users/{{user_id}}", self._get_user)
        r.add_get(f"{p}/oauth2/applications/@me", self._get_application)
        r.add_get(f"{p}/applications/@me", self._get_application)
        r.add_get(f"{p}/applications/{{app_id}}/commands", self._get_commands)
        r.add_put(f"{p}/applications/{{app_id}}/commands", self._put_commands)
        r.add_get(f"{p}/applications/{{app_id}}/guilds/{{guild_id}}/commands", self._get_commands)
        r.add_put(f"{p}/applications/{{app_id}}/guilds/{{guild_id}}/commands", self._put_commands)
        r.add_post(f"{p}/interactions/{{iid}}/{{token}}/callback", self._callback)
        r.add_post(f"{p}/webhooks/{{app_id}}/{{token}}", self._followup)
        msg_path = f"{p}/webhooks/{{app_id}}/{{token}}/messages/{{mid}}"
        r.add_get(msg_path, self._webhook_get)
        r.add_patch(msg_path, self._webhook_edit)
        r.add_delete(msg_path, self._webhook_delete)
        r.add_get(f"{p}/channels/{{cid}}", self._get_channel)
        r.add_post(f"{p}/channels/{{cid}}/messages", self._create_message)
        r.add_post(f"{p}/channels/{{cid}}/typing", self._typing)
        r.add_get(f"{p}/channels/{{cid}}/messages/{{mid}}", self._get_message)
        r.add_patch(f"{p}/channels/{{cid}}/messages/{{mid}}", self._edit_message)
        r.add_delete(f"{p}/channels/{{cid}}/messages/{{mid}}", self._delete_message)
        r.add_get(f"{p}/guilds/{{gid}}/members/{{uid}}", self._get_member)
        r.add_route("*", p + "/{tail:.*}", self._not_found)

    async def _not_found(self, request: web.Request) -> web.Response:
        raise DiscordError(404, "404: Not Found", 0)

    # ------------------------------------------------------------------ REST: basics

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response(self.bot_user)

    async def _get_user(self, request: web.Request) -> web.Response:
        uid = _snowflake(request.match_info["user_id"])
        if uid not in self._users and uid != self.application_id:
            raise DiscordError(404, "Unknown User", 10013)
        return _json_response(self._user(uid))

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": self.owner_user,
                "team": None,
                "bot": self.bot_user,
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self._guilds),
                "integration_types_config": {"0": {}, "1": {}},
            }
        )

    async def _get_member(self, request: web.Request) -> web.Response:
        gid = _snowflake(request.match_info["gid"])
        uid = _snowflake(request.match_info["uid"])
        guild = self._guilds.get(gid)
        if guild is None:
            raise DiscordError(404, "Unknown Guild", 10004)
        if uid not in guild["members"]:
            raise DiscordError(404, "Unknown Member", 10007)
        return _json_response(guild["members"][uid])

    async def _open_dm(self, request: web.Request) -> web.Response:
        body = request[_BODY] or {}
        try:
            uid = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise _form_error({"recipient_id": ("BASE_TYPE_REQUIRED", "This field is required")}) from None
        if uid not in self._users:
            raise DiscordError(400, "Invalid Recipient(s)", 50033)
        return _json_response(self._dm_channel(uid))

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json_response(self._channel_or_404(request.match_info["cid"]))

    def _channel_or_404(self, raw: str) -> dict[str, Any]:
        ch = self._channels.get(_snowflake(raw))
        if ch is None:
            raise DiscordError(404, "Unknown Channel", 10003)
        return ch

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel_or_404(request.match_info["cid"])
        return web.Response(status=204)

    # ------------------------------------------------------------------ REST: commands

    async def _get_commands(self, request: web.Request) -> web.Response:
        self._check_app(request)
        gid = request.match_info.get("guild_id")
        return _json_response(self.commands.get(_snowflake(gid) if gid else None, []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        self._check_app(request)
        raw_gid = request.match_info.get("guild_id")
        gid = _snowflake(raw_gid) if raw_gid else None
        if gid is not None and gid not in self._guilds:
            raise DiscordError(403, "Missing Access", 50001)
        body = request[_BODY]
        if not isinstance(body, list):
            raise _form_error({"_root": ("BASE_TYPE_ARRAY", "Must be an array.")})
        _validate_commands(body)
        stored = []
        for cmd in body:
            ctype = int(cmd.get("type", 1))
            key = (gid, ctype, cmd["name"])
            cid = self._command_ids.setdefault(key, self._next_id())
            out = {
                "id": str(cid),
                "application_id": str(self.application_id),
                "version": str(self._next_id()),
                "type": ctype,
                "name": cmd["name"],
                "description": cmd.get("description", ""),
                "options": cmd.get("options", []),
                "default_member_permissions": cmd.get("default_member_permissions"),
                "nsfw": bool(cmd.get("nsfw", False)),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
                "dm_permission": cmd.get("dm_permission", True),
                "name_localizations": cmd.get("name_localizations"),
                "description_localizations": cmd.get("description_localizations"),
            }
            if gid is not None:
                out["guild_id"] = str(gid)
            stored.append(out)
        self.commands[gid] = stored
        return _json_response(stored)

    def _check_app(self, request: web.Request) -> None:
        if _snowflake(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(403, "Missing Access", 50001)

    # ------------------------------------------------------------------ REST: messages

    async def _create_message(self, request: web.Request) -> web.Response:
        if self.message_delay > 0:
            await asyncio.sleep(self.message_delay)
        held = self._held.get(_snowflake(request.match_info["cid"]))
        if held is not None:
            await held.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=599)  # the client is gone: never stored
        ch = self._channel_or_404(request.match_info["cid"])
        cid = int(ch["id"])
        body = request[_BODY] or {}
        if ch["type"] == CHANNEL_DM:
            recipient = int(ch["recipients"][0]["id"])
            if recipient in self._dms_closed:
                raise DiscordError(403, "Cannot send messages to this user", 50007)
        else:
            perms = self.permissions(int(ch["guild_id"]), self.application_id, cid)
            if not perms & PERMISSIONS["view_channel"]:
                raise DiscordError(403, "Missing Access", 50001)
            if not perms & PERMISSIONS["send_messages"]:
                raise DiscordError(403, "Missing Permissions", 50013)
        _validate_message(body, require_content=True, interaction=False)
        msg = self._store_message(cid, self.bot_user, body, flags=int(body.get("flags", 0) or 0))
        await self._echo(msg)
        return _json_response(msg)

    async def _get_message(self, request: web.Request) -> web.Response:
        return _json_response(self._channel_message_or_404(request))

    def _channel_message_or_404(self, request: web.Request) -> dict[str, Any]:
        ch = self._channel_or_404(request.match_info["cid"])
        mid = _snowflake(request.match_info["mid"])
        msg = self._messages.get(mid)
        if msg is None or msg["channel_id"] != ch["id"] or self._message_meta[mid]["deleted"]:
            raise DiscordError(404, "Unknown Message", 10008)
        if self._message_meta[mid]["ephemeral"]:
            raise DiscordError(404, "Unknown Message", 10008)
        return msg

    async def _edit_message(self, request: web.Request) -> web.Response:
        msg = self._channel_message_or_404(request)
        if msg["author"]["id"] != str(self.application_id):
            raise DiscordError(403, "Cannot edit a message authored by another user", 50005)
        body = request[_BODY] or {}
        _validate_message(body, require_content=False, interaction=False)
        self._apply_edit(msg, body)
        return _json_response(msg)

    async def _delete_message(self, request: web.Request) -> web.Response:
        msg = self._channel_message_or_404(request)
        self._message_meta[int(msg["id"])]["deleted"] = True
        return web.Response(status=204)

    def _store_message(
        self,
        channel_id: int,
        author: dict[str, Any],
        body: dict[str, Any],
        *,
        flags: int = 0,
        interaction: InteractionRecord | None = None,
    ) -> dict[str, Any]:
        mid = self._next_id()
        content = body.get("content") or ""
        am = body.get("allowed_mentions")
        everyone, users, roles = _pinged(content, am, detail=True)
        ch = self._channels[channel_id]
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": [self._user(u) for u in users],
            "mention_roles": [str(r) for r in roles],
            "attachments": body.get("_attachments", []),
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
            "components": body.get("components") or [],
        }
        if body.get("message_reference"):
            msg["message_reference"] = body["message_reference"]
            msg["type"] = 19
        if interaction is not None:
            msg["webhook_id"] = str(self.application_id)
            msg["application_id"] = str(self.application_id)
            msg["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": self._user(interaction.user_id),
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if interaction.type == INTERACTION_APPLICATION_COMMAND:
                msg["type"] = 20
        if ch["type"] != CHANNEL_DM:
            ch["last_message_id"] = str(mid)
        self._messages[mid] = msg
        self._channel_messages.setdefault(channel_id, []).append(mid)
        self._message_meta[mid] = {
            "allowed_mentions": am,
            "created_content": content,
            "ephemeral": bool(flags & FLAG_EPHEMERAL),
            "deleted": False,
            "interaction_id": interaction.id if interaction else None,
            "at": time.monotonic(),
        }
        return msg

    def _apply_edit(self, msg: dict[str, Any], body: dict[str, Any]) -> None:
        """Apply an edit; the first edit of a deferred ("thinking") message is its real content."""
        was_loading = bool(msg["flags"] & FLAG_LOADING)
        new = dict(msg)
        for key in ("content", "embeds", "components"):
            if key in body and body[key] is not None:
                new[key] = body[key]
        flags = int(msg["flags"]) & ~FLAG_LOADING
        if body.get("flags") is not None:
            keep = flags & (FLAG_EPHEMERAL | FLAG_IS_COMPONENTS_V2)
            flags = keep | (int(body["flags"]) & FLAG_SUPPRESS_EMBEDS)
        new["flags"] = flags
        if was_loading and not (new["content"] or new["embeds"] or new["components"]):
            raise DiscordError(400, "Cannot send an empty message", 50006)
        mid = int(msg["id"])
        if was_loading:
            # It notifies now, so it counts as the message's creation for would_ping.
            self._message_meta[mid]["created_content"] = new["content"]
            if "allowed_mentions" in body:
                self._message_meta[mid]["allowed_mentions"] = body["allowed_mentions"]
        else:
            new["edited_timestamp"] = _now_iso()
        msg.update(new)

    async def _echo(self, msg: dict[str, Any]) -> None:
        """Send MESSAGE_CREATE for the bot's own message, like Discord does."""
        if not self.echo_own_messages or msg["flags"] & FLAG_EPHEMERAL:
            return
        ch = self._channels[int(msg["channel_id"])]
        event = dict(msg)
        if ch["type"] == CHANNEL_DM:
            await self._dispatch("MESSAGE_CREATE", event, intent=INTENT_DIRECT_MESSAGES)
        else:
            event["guild_id"] = ch["guild_id"]
            event["member"] = _strip_user(self._guilds[int(ch["guild_id"])]["members"][self.application_id])
            await self._dispatch("MESSAGE_CREATE", event, intent=INTENT_GUILD_MESSAGES, content_gated=True)

    # ------------------------------------------------------------------ REST: interactions

    async def _callback(self, request: web.Request) -> web.Response:
        iid = _snowflake(request.match_info["iid"])
        rec = self._interactions.get(iid)
        body = request[_BODY] or {}
        try:
            if rec is None or rec.token != request.match_info["token"]:
                raise DiscordError(404, "Unknown interaction", 10062)
            if rec.acknowledged:
                raise DiscordError(400, "Interaction has already been acknowledged.", 40060)
            loop = asyncio.get_running_loop()
            if loop.time() - rec.dispatched_at > self.interaction_timeout:
                raise DiscordError(404, "Unknown interaction", 10062)
            result = self._apply_callback(rec, body)
        except DiscordError as exc:
            if rec is not None:
                rec.rejections.append({"kind": "callback", "status": exc.status, **exc.body})
            raise
        with_response = request.query.get("with_response", "").lower() in ("1", "true")
        if result is not None:
            await self._echo(result)
        if not with_response:
            return web.Response(status=204)
        cb_type = int(body["type"])
        interaction_info: dict[str, Any] = {"id": str(rec.id), "type": rec.type}
        resource: dict[str, Any] = {"type": cb_type}
        if rec.original_message_id is not None and cb_type in (4, 5, 7):
            msg = self._messages[rec.original_message_id]
            interaction_info["response_message_id"] = msg["id"]
            interaction_info["response_message_loading"] = bool(msg["flags"] & FLAG_LOADING)
            interaction_info["response_message_ephemeral"] = bool(msg["flags"] & FLAG_EPHEMERAL)
            resource["message"] = msg
        return _json_response({"interaction": interaction_info, "resource": resource})

    def _apply_callback(self, rec: InteractionRecord, body: dict[str, Any]) -> dict[str, Any] | None:
        """Validate and apply a callback; returns a new public message to echo, if any."""
        try:
            cb_type = int(body["type"])
        except (KeyError, TypeError, ValueError):
            raise _form_error({"type": ("BASE_TYPE_REQUIRED", "This field is required")}) from None
        data = body.get("data") or {}
        component_like = rec.type in (INTERACTION_MESSAGE_COMPONENT, INTERACTION_MODAL_SUBMIT)
        allowed = {
            INTERACTION_PING: {CALLBACK_PONG},
            INTERACTION_APPLICATION_COMMAND: {4, 5, 9},
            INTERACTION_MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
            INTERACTION_AUTOCOMPLETE: {CALLBACK_AUTOCOMPLETE_RESULT},
            INTERACTION_MODAL_SUBMIT: {4, 5, 6, 7},
        }[rec.type]
        if cb_type not in allowed:
            raise DiscordError(400, "Interaction response type is not valid", 50035)
        if cb_type in (CALLBACK_UPDATE_MESSAGE, CALLBACK_DEFERRED_UPDATE_MESSAGE) and (
            not component_like or rec.component_message_id is None
        ):
            raise DiscordError(400, "Interaction response type is not valid", 50035)
        flags = int(data.get("flags", 0) or 0)
        ephemeral = bool(flags & FLAG_EPHEMERAL)
        new_message: dict[str, Any] | None = None
        entry: dict[str, Any] = {"kind": "callback", "type": cb_type, "data": data}
        if cb_type == CALLBACK_CHANNEL_MESSAGE:
            _validate_message(data, require_content=True, interaction=True)
            msg = self._store_message(rec.channel_id, self.bot_user, data, flags=flags, interaction=rec)
            rec.original_message_id = int(msg["id"])
            new_message = msg
        elif cb_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            msg = self._store_message(
                rec.channel_id,
                self.bot_user,
                {},
                flags=FLAG_LOADING | (flags & FLAG_EPHEMERAL),
                interaction=rec,
            )
            rec.original_message_id = int(msg["id"])
        elif cb_type == CALLBACK_DEFERRED_UPDATE_MESSAGE:
            rec.original_message_id = rec.component_message_id
            ephemeral = self._is_ephemeral(rec.original_message_id)
        elif cb_type == CALLBACK_UPDATE_MESSAGE:
            _validate_message(data, require_content=False, interaction=True)
            assert rec.component_message_id is not None
            rec.original_message_id = rec.component_message_id
            self._apply_edit(self._messages[rec.component_message_id], data)
            ephemeral = self._is_ephemeral(rec.original_message_id)
        elif cb_type == CALLBACK_MODAL:
            _validate_modal(data)
            ephemeral = False
        elif cb_type == CALLBACK_AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise _form_error(
                    {"data.choices": ("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")}
                )
        rec.acknowledged = True
        rec.ack_type = cb_type
        entry["ephemeral"] = ephemeral
        entry["message"] = self._messages[rec.original_message_id] if rec.original_message_id else None
        entry["status"] = 204
        rec.responses.append(entry)
        return new_message

    def _is_ephemeral(self, message_id: int | None) -> bool:
        return bool(message_id and self._message_meta[message_id]["ephemeral"])

    def _interaction_for_webhook(self, request: web.Request) -> InteractionRecord:
        rec = self._interaction_by_token.get(request.match_info["token"])
        if rec is None or _snowflake(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(404, "Unknown Webhook", 10015)
        if not rec.acknowledged:
            raise DiscordError(404, "Unknown Webhook", 10015)
        loop = asyncio.get_running_loop()
        if loop.time() - rec.dispatched_at > self.followup_ttl:
            raise DiscordError(401, "Invalid Webhook Token", 50027)
        return rec

    async def _followup(self, request: web.Request) -> web.Response:
        if self.message_delay > 0:
            await asyncio.sleep(self.message_delay)
        rec = self._interaction_for_webhook(request)
        body = request[_BODY] or {}
        _validate_message(body, require_content=True, interaction=True)
        flags = int(body.get("flags", 0) or 0)
        entry: dict[str, Any] = {"kind": "followup", "type": None, "data": body}
        original = self._messages.get(rec.original_message_id or 0)
        public: dict[str, Any] | None = None
        if (
            rec.ack_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original["flags"] & FLAG_LOADING
        ):
            # Discord: the first follow-up after a deferred response replaces the "thinking"
            # message and keeps the defer's visibility; its own ephemeral flag is ignored.
            self._apply_edit(original, {**body, "flags": None})
            msg = original
            entry["replaced_original"] = True
            if not msg["flags"] & FLAG_EPHEMERAL:
                public = msg
        else:
            msg = self._store_message(rec.channel_id, self.bot_user, body, flags=flags, interaction=rec)
            public = msg
            entry["replaced_original"] = False
        rec.followup_ids.append(int(msg["id"]))
        entry["ephemeral"] = bool(msg["flags"] & FLAG_EPHEMERAL)
        entry["message"] = msg
        rec.responses.append(entry)
        if public is not None:
            await self._echo(public)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return _json_response(msg)
        return web.Response(status=204)

    def _webhook_message(self, rec: InteractionRecord, raw_mid: str) -> dict[str, Any]:
        if raw_mid == "@original":
            mid = rec.original_message_id
        else:
            mid = _snowflake(raw_mid)
            if mid not in rec.followup_ids and mid != rec.original_message_id:
                mid = None
        if mid is None or self._message_meta[mid]["deleted"]:
            raise DiscordError(404, "Unknown Message", 10008)
        return self._messages[mid]

    async def _webhook_get(self, request: web.Request) -> web.Response:
        rec = self._interaction_for_webhook(request)
        return _json_response(self._webhook_message(rec, request.match_info["mid"]))

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        rec = self._interaction_for_webhook(request)
        msg = self._webhook_message(rec, request.match_info["mid"])
        body = request[_BODY] or {}
        _validate_message(body, require_content=False, interaction=True)
        was_loading = bool(msg["flags"] & FLAG_LOADING)
        self._apply_edit(msg, body)
        kind = "edit_original" if request.match_info["mid"] == "@original" else "edit_followup"
        rec.responses.append(
            {
                "kind": kind,
                "type": None,
                "data": body,
                "ephemeral": bool(msg["flags"] & FLAG_EPHEMERAL),
                "message": msg,
            }
        )
        if was_loading:
            await self._echo(msg)
        return _json_response(msg)

    async def _webhook_delete(self, request: web.Request) -> web.Response:
        rec = self._interaction_for_webhook(request)
        msg = self._webhook_message(rec, request.match_info["mid"])
        self._message_meta[int(msg["id"])]["deleted"] = True
        kind = "delete_original" if request.match_info["mid"] == "@original" else "delete_followup"
        rec.responses.append({"kind": kind, "type": None, "data": None, "ephemeral": False, "message": msg})
        return web.Response(status=204)

    # ------------------------------------------------------------------ gateway

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Decode error: only json is supported")
            return ws
        conn = _GatewayConn(ws, request.query.get("compress"))
        self._conns.add(conn)
        self.gateway_connections.append({"query": dict(request.query), "compress": conn.compress})
        try:
            await conn.send(
                {
                    "op": 10,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                    "s": None,
                    "t": None,
                }
            )
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_gateway(conn, payload)
        finally:
            self._conns.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
        return ws

    async def _on_gateway(self, conn: _GatewayConn, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        d = payload.get("d")
        if op == 1:
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif op == 8:
            await self._request_members(conn, d or {})
        elif op in (3, 4):
            return
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _GatewayConn, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        token = str(d.get("token", ""))
        if token.removeprefix("Bot ") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if "intents" not in d:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        intents = int(d["intents"])
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.identify_payloads.append(d)
        self.intents = intents
        session = _Session(secrets.token_hex(16), intents, d.get("shard"))
        self._sessions[session.id] = session
        session.conn = conn
        conn.session = session
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.bot_user,
            "user_settings": {},
            "guilds": [{"id": str(g), "unavailable": True} for g in self._guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        await self._send_dispatch(session, "READY", ready)
        if intents & INTENT_GUILDS:
            for gid in self._guilds:
                await self._send_dispatch(session, "GUILD_CREATE", self._guild_create(gid, intents))
        assert self._ready_event is not None
        self._ready_event.set()
        await self._changed()

    def _guild_create(self, gid: int, intents: int) -> dict[str, Any]:
        g = self._guilds[gid]
        members = g["members"]
        if not intents & INTENT_GUILD_MEMBERS:
            members = {self.application_id: members[self.application_id]}
        channels = []
        for cid in g["channel_ids"]:
            ch = dict(self._channels[cid])
            ch.pop("guild_id", None)
            channels.append(ch)
        return {
            "id": str(gid),
            "name": g["name"],
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(g["owner_id"]),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": g["roles"],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": g["locale"],
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": g["joined_at"],
            "large": False,
            "unavailable": False,
            "member_count": len(g["members"]),
            "voice_states": [],
            "members": list(members.values()),
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    async def _resume(self, conn: _GatewayConn, d: dict[str, Any]) -> None:
        session = self._sessions.get(str(d.get("session_id")))
        if session is None or str(d.get("token", "")).removeprefix("Bot ") != self.token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        seq = int(d.get("seq") or 0)
        session.conn = conn
        conn.session = session
        for event in session.events:
            if event["s"] > seq:
                await conn.send(event)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _request_members(self, conn: _GatewayConn, d: dict[str, Any]) -> None:
        session = conn.session
        if session is None:
            return
        gid = _snowflake(str(d.get("guild_id")))
        guild = self._guilds.get(gid)
        if guild is None:
            return
        if not session.intents & INTENT_GUILD_MEMBERS and not d.get("user_ids"):
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        wanted = d.get("user_ids")
        members = [m for uid, m in guild["members"].items() if not wanted or str(uid) in map(str, wanted)]
        chunk = {
            "guild_id": str(gid),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce"):
            chunk["nonce"] = d["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_dispatch(self, session: _Session, event: str, data: dict[str, Any]) -> bool:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        if session.conn is None:
            return False
        await session.conn.send(payload)
        return True

    async def _dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        intent: int = 0,
        content_gated: bool = False,
    ) -> bool:
        """Dispatch to every session whose intents allow it; True if any live connection got it."""
        delivered = False
        for session in list(self._sessions.values()):
            if intent and not session.intents & intent:
                continue
            payload = data
            if content_gated and not session.intents & INTENT_MESSAGE_CONTENT:
                mentioned = any(u["id"] == str(self.application_id) for u in data.get("mentions", []))
                if data.get("author", {}).get("id") != str(self.application_id) and not mentioned:
                    payload = {
                        **data,
                        "content": "",
                        "embeds": [],
                        "attachments": [],
                        "components": [],
                    }
            delivered = await self._send_dispatch(session, event, payload) or delivered
        return delivered

    async def disconnect(self, code: int = 4000, *, invalidate: bool = False) -> None:
        """Close live gateway connections; the client reconnects (RESUME unless invalidated)."""
        for session in list(self._sessions.values()):
            conn = session.conn
            if conn is None:
                continue
            if invalidate:
                del self._sessions[session.id]
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
            else:
                await conn.ws.close(code=code, message=b"fake disconnect")

    # ------------------------------------------------------------------ simulated people

    def _require_connection(self) -> None:
        if not self.connected:
            raise RuntimeError("no bot is connected to the fake gateway")

    def _channel_context(
        self, user_id: int, guild_id: int | None, channel_id: int | None
    ) -> tuple[int | None, int]:
        if channel_id is not None and guild_id is None:
            ch = self._channels[channel_id]
            guild_id = int(ch["guild_id"]) if ch["type"] != CHANNEL_DM else None
        if guild_id is None:
            return None, channel_id or self.dm_channel_id(user_id)
        guild = self._guilds[guild_id]
        if user_id not in guild["members"]:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        return guild_id, channel_id or guild["channel_ids"][0]

    def _interaction_base(
        self,
        itype: int,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        locale: str,
    ) -> dict[str, Any]:
        iid = self._next_id()
        ch = self._channels[channel_id]
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(48)}",
            "version": 1,
            "channel_id": str(channel_id),
            "channel": ch,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            guild = self._guilds[guild_id]
            member = dict(guild["members"][user_id])
            member["permissions"] = str(self.permissions(guild_id, user_id, channel_id))
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": guild["locale"], "features": []},
                guild_locale=guild["locale"],
                member=member,
                app_permissions=str(self.permissions(guild_id, self.application_id, channel_id)),
                context=0,
                authorizing_integration_owners={"0": str(guild_id)},
            )
        else:
            payload.update(
                user=self._user(user_id),
                app_permissions=str(DM_APP_PERMISSIONS),
                context=1,
                authorizing_integration_owners={"0": "0"},
            )
        return payload

    async def _send_interaction(
        self,
        payload: dict[str, Any],
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        component_message_id: int | None = None,
    ) -> InteractionRecord:
        loop = asyncio.get_running_loop()
        rec = InteractionRecord(
            id=int(payload["id"]),
            token=payload["token"],
            type=payload["type"],
            payload=payload,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            dispatched_at=loop.time(),
            component_message_id=component_message_id,
        )
        self._interactions[rec.id] = rec
        self._interaction_by_token[rec.token] = rec
        await self._dispatch("INTERACTION_CREATE", payload)
        rec.dispatched_at = loop.time()
        await self._changed()
        return rec

    def _find_command(self, name: str, guild_id: int | None) -> dict[str, Any] | None:
        if guild_id is not None:
            for cmd in self.commands.get(guild_id, []):
                if cmd["name"] == name and cmd["type"] == 1:
                    return cmd
        for cmd in self.commands.get(None, []):
            if cmd["name"] == name and cmd["type"] == 1:
                return cmd
        return None

    async def slash(
        self,
        user_id: int,
        name: str,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        locale: str = "en-US",
        resolved: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """A person runs ``/name`` (in a guild if ``guild_id``/``channel_id`` given, else in DMs).

        ``options``: ``{"name": value}`` (types inferred) or raw Discord option dicts.
        With ``strict_commands`` the command must have been synced, usable in that context and
        allowed by its ``default_member_permissions``, or this raises ``LookupError``.
        """
        self._require_connection()
        self._user(user_id)
        gid, cid = self._channel_context(user_id, guild_id, channel_id)
        cmd = self._find_command(name, gid)
        if self.strict_commands:
            self._check_command_usable(cmd, name, user_id, gid, cid)
        payload = self._interaction_base(INTERACTION_APPLICATION_COMMAND, user_id, gid, cid, locale)
        data: dict[str, Any] = {
            "id": cmd["id"] if cmd else str(self._next_id()),
            "name": name,
            "type": 1,
        }
        if cmd is not None and cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        opts = _options(options)
        if opts:
            data["options"] = opts
        if resolved:
            data["resolved"] = resolved
        payload["data"] = data
        return await self._send_interaction(payload, user_id, gid, cid)

    def _check_command_usable(
        self, cmd: dict[str, Any] | None, name: str, user_id: int, gid: int | None, cid: int
    ) -> None:
        if cmd is None:
            raise LookupError(f"/{name} was never synced: Discord would not offer it")
        contexts = cmd.get("contexts")
        if gid is None and (cmd.get("dm_permission") is False or (contexts and 1 not in contexts)):
            raise LookupError(f"/{name} is not available in DMs")
        if gid is not None and contexts and 0 not in contexts:
            raise LookupError(f"/{name} is not available in guilds")
        needed = cmd.get("default_member_permissions")
        if gid is not None and needed is not None:
            have = self.permissions(gid, user_id, cid)
            if int(needed) & ~have and not have & PERMISSIONS["administrator"]:
                raise LookupError(f"/{name} needs permissions {needed}: hidden from this user")

    async def click(
        self,
        user_id: int,
        message: dict[str, Any] | int,
        custom_id: str,
        *,
        guild_id: int | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """A person clicks a button (or picks ``values`` in a select) on a bot message."""
        self._require_connection()
        self._user(user_id)
        mid = int(message["id"]) if isinstance(message, dict) else int(message)
        msg = self._messages.get(mid)
        if msg is None or self._message_meta[mid]["deleted"]:
            raise LookupError(f"unknown message {mid}")
        component = _find_component(msg.get("components") or [], custom_id)
        if component is None:
            raise LookupError(f"message {mid} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise LookupError(f"component {custom_id!r} is disabled")
        channel_id = int(msg["channel_id"])
        gid, cid = self._channel_context(user_id, guild_id, channel_id)
        payload = self._interaction_base(INTERACTION_MESSAGE_COMPONENT, user_id, gid, cid, locale)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in _SELECT_TYPES:
            data["values"] = values or []
        payload["data"] = data
        payload["message"] = msg
        return await self._send_interaction(payload, user_id, gid, cid, component_message_id=mid)

    async def submit_modal(
        self,
        user_id: int,
        custom_id: str,
        fields: dict[str, str],
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """A person submits a modal: ``fields`` maps text-input custom ids to values."""
        self._require_connection()
        self._user(user_id)
        gid, cid = self._channel_context(user_id, guild_id, channel_id)
        payload = self._interaction_base(INTERACTION_MODAL_SUBMIT, user_id, gid, cid, locale)
        payload["data"] = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                for k, v in fields.items()
            ],
        }
        return await self._send_interaction(payload, user_id, gid, cid)

    async def dm(self, user_id: int, text: str) -> dict[str, Any]:
        """A person writes ``text`` to the bot in DMs (MESSAGE_CREATE without guild_id)."""
        self._require_connection()
        author = self._user(user_id)
        cid = self.dm_channel_id(user_id)
        msg = self._store_message(cid, author, {"content": text, "allowed_mentions": None})
        event = dict(msg)
        event["channel_type"] = CHANNEL_DM
        await self._dispatch("MESSAGE_CREATE", event, intent=INTENT_DIRECT_MESSAGES)
        await self._changed()
        return msg

    async def say(self, user_id: int, channel_id: int, text: str) -> dict[str, Any]:
        """A person writes in a guild channel (content blank without the message-content intent)."""
        self._require_connection()
        author = self._user(user_id)
        ch = self._channels[channel_id]
        gid = int(ch["guild_id"])
        msg = self._store_message(channel_id, author, {"content": text})
        event = dict(msg)
        event["guild_id"] = str(gid)
        event["channel_type"] = CHANNEL_GUILD_TEXT
        event["member"] = _strip_user(self._guilds[gid]["members"][user_id])
        await self._dispatch("MESSAGE_CREATE", event, intent=INTENT_GUILD_MESSAGES, content_gated=True)
        await self._changed()
        return msg


# ---------------------------------------------------------------------- helpers


def _snowflake(raw: str | None) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise _form_error({"id": ("NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')}) from None


def _strip_user(member: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in member.items() if k != "user"}


def _perm_bits(names: Iterable[str]) -> int:
    value = 0
    for n in names:
        value |= PERMISSIONS[n]
    return value


def _options(options: dict[str, Any] | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not options:
        return []
    if isinstance(options, list):
        return options
    out = []
    for name, value in options.items():
        if isinstance(value, bool):
            otype = 5
        elif isinstance(value, int):
            otype = 4
        elif isinstance(value, float):
            otype = 10
        else:
            otype = 3
        out.append({"name": name, "type": otype, "value": value})
    return out


def _iter_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for comp in components:
        yield comp
        for key in ("components",):
            yield from _iter_components(comp.get(key) or [])
        if isinstance(comp.get("accessory"), dict):
            yield comp["accessory"]
        if isinstance(comp.get("component"), dict):
            yield comp["component"]


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for comp in _iter_components(components):
        if comp.get("custom_id") == custom_id:
            return comp
    return None


def _pinged(content: str, allowed: dict[str, Any] | None, *, detail: bool = False) -> Any:
    """Who the content pings under ``allowed_mentions`` (None = Discord default: parse all)."""
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    allowed_users = {int(u) for u in (allowed or {}).get("users") or []}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles") or []}
    everyone = bool(_MENTION_EVERYONE.search(content)) and "everyone" in parse
    users = [
        int(u)
        for u in dict.fromkeys(_MENTION_USER.findall(content))
        if "users" in parse or int(u) in allowed_users
    ]
    roles = [
        int(r)
        for r in dict.fromkeys(_MENTION_ROLE.findall(content))
        if "roles" in parse or int(r) in allowed_roles
    ]
    if detail:
        return everyone, users, roles
    return everyone or bool(users) or bool(roles)


async def _read_body(request: web.Request) -> Any:
    if request.method in ("GET", "HEAD") or not request.can_read_body:
        return None
    ctype = request.content_type
    if ctype == "application/json":
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return {"_invalid_json": True}
    if ctype.startswith("multipart/"):
        reader = await request.multipart()
        body: dict[str, Any] = {}
        attachments: list[dict[str, Any]] = []
        async for part in reader:
            if part is None or not hasattr(part, "name"):
                continue
            if part.name == "payload_json":
                body.update(json.loads(await part.text()))  # type: ignore[union-attr]
            else:
                data = await part.read()  # type: ignore[union-attr]
                attachments.append(
                    {
                        "id": str(len(attachments)),
                        "filename": getattr(part, "filename", None) or part.name,
                        "size": len(data),
                        "url": "https://cdn.invalid/attachment",
                        "proxy_url": "https://cdn.invalid/attachment",
                    }
                )
        body["_attachments"] = attachments
        if len(attachments) > 10:
            raise _form_error({"files": ("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")})
        return body
    return await request.text()


def _max_len(problems: dict[str, tuple[str, str]], path: str, value: Any, limit: int) -> None:
    if value is not None and len(value) > limit:
        problems[path] = ("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _validate_message(body: Any, *, require_content: bool, interaction: bool) -> None:
    """Enforce Discord's message limits; raise DiscordError like Discord would."""
    if not isinstance(body, dict) or body.get("_invalid_json"):
        raise DiscordError(400, "400: Bad Request", 50109)
    problems: dict[str, tuple[str, str]] = {}
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        problems["content"] = ("BASE_TYPE_STRING", "Must be a string.")
        content = None
    _max_len(problems, "content", content, 2000)
    flags = int(body.get("flags", 0) or 0)
    allowed_flags = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_VOICE_MESSAGE
    allowed_flags |= FLAG_IS_COMPONENTS_V2
    if interaction:
        allowed_flags |= FLAG_EPHEMERAL
    if flags & ~allowed_flags:
        problems["flags"] = ("MESSAGE_FLAGS_INVALID", "Invalid message flags.")
    embeds = body.get("embeds") or []
    _max_len(problems, "embeds", embeds, 10)
    total = 0
    for i, e in enumerate(embeds):
        p = f"embeds.{i}"
        _max_len(problems, f"{p}.title", e.get("title"), 256)
        _max_len(problems, f"{p}.description", e.get("description"), 4096)
        fields = e.get("fields") or []
        _max_len(problems, f"{p}.fields", fields, 25)
        for j, f in enumerate(fields):
            _max_len(problems, f"{p}.fields.{j}.name", f.get("name"), 256)
            _max_len(problems, f"{p}.fields.{j}.value", f.get("value"), 1024)
            total += len(f.get("name") or "") + len(f.get("value") or "")
        footer = (e.get("footer") or {}).get("text")
        author = (e.get("author") or {}).get("name")
        _max_len(problems, f"{p}.footer.text", footer, 2048)
        _max_len(problems, f"{p}.author.name", author, 256)
        for part in (e.get("title"), e.get("description"), footer, author):
            total += len(part or "")
    if total > 6000:
        problems["embeds"] = ("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    components = body.get("components") or []
    if flags & FLAG_IS_COMPONENTS_V2:
        if content or embeds:
            problems["content"] = (
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used with components v2",
            )
        _validate_components_v2(components, problems)
    else:
        _validate_action_rows(components, problems)
    _validate_allowed_mentions(body.get("allowed_mentions"), problems)
    if problems:
        raise _form_error(problems)
    has_any = content or embeds or components or body.get("_attachments") or body.get("poll")
    if require_content and not (has_any or body.get("sticker_ids")):
        raise DiscordError(400, "Cannot send an empty message", 50006)


def _check_button(comp: dict[str, Any], path: str, problems: dict[str, tuple[str, str]]) -> None:
    style = comp.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        problems[f"{path}.style"] = ("BASE_TYPE_CHOICES", "Value must be one of 1-6.")
    if style == 5:
        if not comp.get("url"):
            problems[f"{path}.url"] = ("BASE_TYPE_REQUIRED", "This field is required")
        if comp.get("custom_id"):
            problems[f"{path}.custom_id"] = (
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A custom id cannot be set for this button style",
            )
    elif style != 6:
        _check_custom_id(comp, path, problems)
    _max_len(problems, f"{path}.label", comp.get("label"), 80)
    if style != 6 and not comp.get("label") and not comp.get("emoji"):
        problems[f"{path}.label"] = ("BASE_TYPE_REQUIRED", "A label or emoji is required")


def _check_custom_id(comp: dict[str, Any], path: str, problems: dict[str, tuple[str, str]]) -> None:
    cid = comp.get("custom_id")
    if not cid:
        problems[f"{path}.custom_id"] = ("BASE_TYPE_REQUIRED", "This field is required")
    else:
        _max_len(problems, f"{path}.custom_id", cid, 100)


def _check_select(comp: dict[str, Any], path: str, problems: dict[str, tuple[str, str]]) -> None:
    _check_custom_id(comp, path, problems)
    _max_len(problems, f"{path}.placeholder", comp.get("placeholder"), 150)
    if comp["type"] == 3:
        options = comp.get("options") or []
        if not 1 <= len(options) <= 25:
            problems[f"{path}.options"] = ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25.")
        for k, opt in enumerate(options):
            _max_len(problems, f"{path}.options.{k}.label", opt.get("label"), 100)
            _max_len(problems, f"{path}.options.{k}.value", opt.get("value"), 100)
            _max_len(problems, f"{path}.options.{k}.description", opt.get("description"), 100)
    for key, lo in (("min_values", 0), ("max_values", 1)):
        val = comp.get(key)
        if val is not None and not lo <= int(val) <= 25:
            problems[f"{path}.{key}"] = ("INT_TYPE_OUT_OF_RANGE", f"Must be between {lo} and 25.")


def _validate_action_rows(rows: Any, problems: dict[str, tuple[str, str]]) -> None:
    if not isinstance(rows, list):
        problems["components"] = ("BASE_TYPE_ARRAY", "Must be an array.")
        return
    _max_len(problems, "components", rows, 5)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        path = f"components.{i}"
        if row.get("type") != 1:
            problems[f"{path}.type"] = (
                "UNION_TYPE_CHOICES",
                "Top-level components must be action rows (type 1) without the components v2 flag",
            )
            continue
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            problems[f"{path}.components"] = (
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            )
        has_select = any(c.get("type") in _SELECT_TYPES for c in children)
        if has_select and len(children) > 1:
            problems[f"{path}.components"] = (
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, comp in enumerate(children):
            cpath = f"{path}.components.{j}"
            ctype = comp.get("type")
            if ctype == 2:
                _check_button(comp, cpath, problems)
            elif ctype in _SELECT_TYPES:
                _check_select(comp, cpath, problems)
            else:
                problems[f"{cpath}.type"] = ("UNION_TYPE_CHOICES", "Invalid component type.")
            cid = comp.get("custom_id")
            if cid:
                if cid in seen:
                    problems[f"{cpath}.custom_id"] = (
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(cid)


def _validate_components_v2(components: Any, problems: dict[str, tuple[str, str]]) -> None:
    if not isinstance(components, list):
        problems["components"] = ("BASE_TYPE_ARRAY", "Must be an array.")
        return
    seen: set[str] = set()
    count = 0
    for comp in _iter_components(components):
        count += 1
        if comp.get("type") == 2:
            _check_button(comp, "components", problems)
        elif comp.get("type") in _SELECT_TYPES:
            _check_select(comp, "components", problems)
        cid = comp.get("custom_id")
        if cid:
            if cid in seen:
                problems["components"] = (
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            seen.add(cid)
    if count > 40:
        problems["components"] = ("BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")


def _validate_allowed_mentions(am: Any, problems: dict[str, tuple[str, str]]) -> None:
    if am is None:
        return
    parse = am.get("parse") or []
    for p in parse:
        if p not in ("users", "roles", "everyone"):
            problems["allowed_mentions.parse"] = (
                "BASE_TYPE_CHOICES",
                "Value must be one of users, roles, everyone.",
            )
    for kind in ("users", "roles"):
        ids = am.get(kind) or []
        _max_len(problems, f"allowed_mentions.{kind}", ids, 100)
        if ids and kind in parse:
            problems[f"allowed_mentions.{kind}"] = (
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def _validate_modal(data: dict[str, Any]) -> None:
    problems: dict[str, tuple[str, str]] = {}
    title = data.get("title")
    if not title:
        problems["data.title"] = ("BASE_TYPE_REQUIRED", "This field is required")
    _max_len(problems, "data.title", title, 45)
    _check_custom_id(data, "data", problems)
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        problems["data.components"] = ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    for comp in _iter_components(rows):
        if comp.get("type") == 4:
            _check_custom_id(comp, "data.components", problems)
            _max_len(problems, "data.components.label", comp.get("label"), 45)
            _max_len(problems, "data.components.placeholder", comp.get("placeholder"), 100)
            for key in ("min_length", "max_length"):
                if comp.get(key) is not None and not 0 <= int(comp[key]) <= 4000:
                    problems[f"data.components.{key}"] = (
                        "INT_TYPE_OUT_OF_RANGE",
                        "Must be between 0 and 4000.",
                    )
        elif comp.get("type") == 18:
            _max_len(problems, "data.components.label", comp.get("label"), 45)
    if problems:
        raise _form_error(problems)


# Discord's locale codes (https://discord.com/developers/docs/reference#locales); others are refused.
DISCORD_LOCALES = frozenset(
    {
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    }
)


def _validate_localizations(
    found: Any, path: str, problems: dict[str, tuple[str, str]], limit: int = 100
) -> None:
    """`name_localizations` / `description_localizations`: known locale codes, 1-`limit` characters each."""
    if found is None:
        return
    for code, text in dict(found).items():
        if code not in DISCORD_LOCALES:
            problems[f"{path}.{code}"] = ("INVALID_LOCALE", f"Invalid locale {code!r}")
        elif not isinstance(text, str) or not 1 <= len(text) <= limit:
            problems[f"{path}.{code}"] = ("BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length.")


def _validate_command_options(
    options: list[dict[str, Any]], path: str, problems: dict[str, tuple[str, str]]
) -> None:
    _max_len(problems, path, options, 25)
    seen_optional = False
    names: set[str] = set()
    for i, opt in enumerate(options):
        p = f"{path}.{i}"
        name = opt.get("name") or ""
        if not _COMMAND_NAME.match(name) or name != name.lower():
            problems[f"{p}.name"] = ("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if name in names:
            problems[f"{p}.name"] = ("APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate")
        names.add(name)
        desc = opt.get("description") or ""
        if not 1 <= len(desc) <= 100:
            problems[f"{p}.description"] = ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100.")
        _validate_localizations(
            opt.get("description_localizations"), f"{p}.description_localizations", problems
        )
        if opt.get("type") in (1, 2):
            _validate_command_options(opt.get("options") or [], f"{p}.options", problems)
            continue
        if opt.get("required"):
            if seen_optional:
                problems[f"{p}.required"] = (
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        _max_len(problems, f"{p}.choices", choices, 25)
        for k, ch in enumerate(choices):
            _max_len(problems, f"{p}.choices.{k}.name", ch.get("name"), 100)
            _validate_localizations(
                ch.get("name_localizations"), f"{p}.choices.{k}.name_localizations", problems
            )
            if isinstance(ch.get("value"), str):
                _max_len(problems, f"{p}.choices.{k}.value", ch["value"], 100)


def _validate_commands(cmds: list[dict[str, Any]]) -> None:
    problems: dict[str, tuple[str, str]] = {}
    counts = {1: 0, 2: 0, 3: 0}
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(cmds):
        ctype = int(cmd.get("type", 1))
        counts[ctype] = counts.get(ctype, 0) + 1
        name = cmd.get("name") or ""
        if ctype == 1:
            if not _COMMAND_NAME.match(name) or name != name.lower():
                problems[f"{i}.name"] = (
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                )
            desc = cmd.get("description") or ""
            if not 1 <= len(desc) <= 100:
                problems[f"{i}.description"] = (
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            _validate_localizations(
                cmd.get("description_localizations"), f"{i}.description_localizations", problems
            )
            _validate_command_options(cmd.get("options") or [], f"{i}.options", problems)
        else:
            if not 1 <= len(name) <= 32:
                problems[f"{i}.name"] = ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32.")
            if cmd.get("description"):
                problems[f"{i}.description"] = (
                    "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
                    "Context menu commands cannot have a description",
                )
        if (ctype, name) in seen:
            problems[f"{i}.name"] = (
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique ({name})",
            )
        seen.add((ctype, name))
    if counts[1] > 100:
        problems["_root"] = ("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer chat input commands.")
    if counts.get(2, 0) > 5 or counts.get(3, 0) > 5:
        problems["_root"] = ("BASE_TYPE_MAX_LENGTH", "At most 5 user and 5 message commands.")
    if problems:
        raise _form_error(problems)


@contextlib.contextmanager
def point_discord_py_at(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at the fake (restored on exit).

    Both are class attributes, so this affects every client in the process: do not run
    tests that talk to the real Discord concurrently.
    """
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    old = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = fake.api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old
