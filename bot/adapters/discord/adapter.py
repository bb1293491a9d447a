"""The Discord adapter: slash commands, buttons and DMs in, the engine's replies out, privately.

Where replies go:
- A personal command in a server is acknowledged at once (an ephemeral "thinking"), the conversation moves
  to the person's DMs, and an ephemeral note says so. If their DMs are closed, the replies come as
  ephemeral follow-ups instead (only they see them), and so do the replies to those messages' buttons.
- Commands, buttons and free text inside DMs are answered in the DM.
- Only /encourage posts publicly, and it carries nothing personal.

A person is addressed as `user:<id>` (their DMs), a community channel as `channel:<id>`: `send` turns a
person's address into a DM, never into a post in a server channel.

Order: one person's turns run one at a time (a per-person lock around the engine turn only); what a turn says
goes into that person's send queue (`bot.adapters.base.Outbox`), one message part per job. A crisis reply
goes to the front of the queue and the parts still waiting are dropped, so it never waits behind the rest
of a plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import discord

from bot.adapters.base import STOP_GRACE, Delivery, Job, Outbox, PlatformStopped, parse_command
from bot.adapters.discord.client import ApiEndpoints, KeepGoingClient
from bot.adapters.discord.layout import LABEL_LIMIT, Part, Rows, custom_id, parts
from bot.adapters.discord.settings import DiscordSettings
from bot.adapters.registry import OnFatal
from bot.config import Settings
from bot.domain import Incoming, Kind, Outgoing, Who
from bot.engine import Engine
from bot.engine.community import Channel, SetupRequest
from bot.ops.metrics import RATE_LIMITED
from bot.store import StoreError

logger = logging.getLogger(__name__)

PLATFORM = "discord"
USER_PREFIX = "user:"
CHANNEL_PREFIX = "channel:"
CANNOT_DM = 50007
# Discord error codes that mean "this will never arrive": closed DMs, unknown channel or user, no access,
# invalid recipient.
GONE = frozenset({CANNOT_DM, 10003, 10013, 50001, 50033})
OFFICIAL_API = "https://discord.com/api/v10"


class _RateLimits(logging.Filter):
    """discord.py waits out 429s inside its HTTP client and only logs them: count those log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.msg if isinstance(record.msg, str) else ""
        if "responded with 429" in text:  # once per 429, global or not
            RATE_LIMITED.labels(PLATFORM).inc()
        return True


_RATE_LIMIT_FILTER = _RateLimits()


def count_rate_limits() -> None:
    """Watch discord.py's HTTP logger for 429s (idempotent)."""
    library = logging.getLogger("discord.http")
    if _RATE_LIMIT_FILTER not in library.filters:
        library.addFilter(_RATE_LIMIT_FILTER)


# No voice here: discord.py's start-up warnings about voice libraries would be noise on stderr.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def person_chat(user_id: int) -> str:
    return f"{USER_PREFIX}{user_id}"


def channel_chat(channel_id: int) -> str:
    return f"{CHANNEL_PREFIX}{channel_id}"


def _locale(interaction: discord.Interaction) -> str:
    return interaction.locale.value if interaction.locale else "en"


def _view(rows: Rows) -> discord.ui.View:
    """Buttons for one message. The view is stopped at once so discord.py keeps no copy in memory: clicks are
    routed by the `kg:` DynamicItem template instead, which works the same after a restart."""
    view = discord.ui.View(timeout=None)
    for index, row in enumerate(rows):
        for button in row:
            view.add_item(
                discord.ui.Button(
                    label=button.label[:LABEL_LIMIT],
                    custom_id=custom_id(button.payload),
                    style=discord.ButtonStyle.primary,
                    row=index,
                )
            )
    view.stop()
    return view


def _spent_view(message: discord.Message, pressed: str | None) -> discord.ui.View:
    """The pressed message's buttons, all disabled, the chosen one highlighted: a record, not a 2nd press."""
    view = discord.ui.View.from_message(message, timeout=None)
    for item in view.children:
        if isinstance(item, discord.ui.Button):
            item.disabled = True
            chosen = item.custom_id == pressed
            item.style = discord.ButtonStyle.success if chosen else discord.ButtonStyle.secondary
    view.stop()
    return view


def _message_kwargs(part: Part) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if part.text:
        kwargs["content"] = part.text
    if part.rows:
        kwargs["view"] = _view(part.rows)
    if part.attachment is not None:
        kwargs["file"] = discord.File(io.BytesIO(part.attachment.content), filename=part.attachment.filename)
    return kwargs


def _parts(replies: Sequence[Outgoing]) -> list[tuple[Part, bool]]:
    """Every part of a turn's replies, each with its reply's urgency."""
    return [(part, reply.urgent) for reply in replies for part in parts(reply)]


class _Target(Protocol):
    async def send(self, part: Part) -> None: ...


@dataclass(frozen=True)
class _Channel:
    """A channel (in practice a DM) the bot posts in directly."""

    channel: discord.abc.Messageable

    async def send(self, part: Part) -> None:
        await self.channel.send(**_message_kwargs(part))


@dataclass(frozen=True)
class _Followup:
    """Follow-ups to an acknowledged interaction: ephemeral in a server, plain messages in DMs."""

    interaction: discord.Interaction
    ephemeral: bool

    async def send(self, part: Part) -> None:
        await self.interaction.followup.send(**_message_kwargs(part), ephemeral=self.ephemeral, wait=True)


class _Private:
    """A turn started in a server goes to the person's DMs, or, if those are closed, to ephemeral follow-ups
    (after a note saying so). `finish` then tells them in the server where to look."""

    def __init__(self, interaction: discord.Interaction, closed: Part, opened: Callable[[str], Part]) -> None:
        self.interaction = interaction
        self.here = _Followup(interaction, ephemeral=True)
        self.closed_note = closed
        self.opened_note = opened
        self.dm: discord.DMChannel | None = None
        self.closed = False

    async def send(self, part: Part) -> None:
        if not self.closed:
            try:
                if self.dm is None:
                    self.dm = await self.interaction.user.create_dm()
                await _Channel(self.dm).send(part)
                return
            except discord.Forbidden as error:
                logger.info("discord: DMs closed (code %s); answering ephemerally", error.code)
                self.closed = True
                await self.here.send(self.closed_note)
        await self.here.send(part)

    async def finish(self) -> None:
        """The first follow-up replaces the deferred "thinking" note, so one always comes."""
        if self.closed:
            return
        if self.dm is not None:
            await self.here.send(self.opened_note(self.dm.jump_url))
        else:  # nothing was sent (all of it dropped for a crisis reply)
            with contextlib.suppress(discord.HTTPException):
                await self.interaction.delete_original_response()


async def _defer(interaction: discord.Interaction, *, ephemeral: bool) -> bool:
    """Acknowledge within Discord's 3 seconds, before any work. False when it was too late."""
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    except (discord.HTTPException, discord.InteractionResponded) as error:
        logger.warning("discord: could not acknowledge an interaction: %s", type(error).__name__)
        return False
    return True


async def _acknowledge_click(interaction: discord.Interaction) -> bool:
    """Acknowledge a click by disabling the pressed message's buttons, in the same call."""
    try:
        if interaction.message is not None and interaction.message.components:
            raw = interaction.data.get("custom_id") if interaction.data else None
            pressed = raw if isinstance(raw, str) else None  # the stubs type the payload's values as object
            await interaction.response.edit_message(view=_spent_view(interaction.message, pressed))
        else:
            await interaction.response.defer()
    except (discord.HTTPException, discord.InteractionResponded) as error:
        logger.warning("discord: could not acknowledge a click: %s", type(error).__name__)
        return False
    return True


class DiscordAdapter:
    """Runs the Discord client on the shared loop and translates between Discord and the engine."""

    platform = PLATFORM

    def __init__(
        self,
        engine: Engine,
        settings: DiscordSettings,
        *,
        guild_ready_timeout: float = 2.0,
        ready_timeout: float = 30.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.ready_timeout = ready_timeout
        count_rate_limits()
        self.client = KeepGoingClient(
            self,
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) or None,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.endpoints = ApiEndpoints(settings.api_url)
        self._gateway: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.outbox = Outbox(PLATFORM)
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Log in (a bad token fails here), then connect the gateway in the background.

        Waits up to `ready_timeout` for the first READY so a refused connection (a privileged intent, a bad
        shard setting) stops start-up; a slow one only gets a warning and keeps connecting.
        """
        self.endpoints.apply_rest()
        api = self.settings.api_url or OFFICIAL_API
        try:
            await self.client.login(self.settings.token)
            await self.endpoints.apply_gateway(self.client)
        except discord.LoginFailure:
            await self._undo()
            raise PlatformStopped(
                "Discord rejected DISCORD_TOKEN: check the bot token in the Discord developer portal"
            ) from None
        except (OSError, aiohttp.ClientError, TimeoutError) as error:
            await self._undo()
            raise PlatformStopped(
                f"cannot reach the Discord API at {api} ({type(error).__name__}): "
                "check DISCORD_API_URL and the network"
            ) from None
        except BaseException:
            await self._undo()
            raise
        self._gateway = asyncio.create_task(self.client.connect(), name="discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._gateway, ready}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if self._gateway in done:
            ended = self._gateway.exception()
            await self.stop()
            why = f" ({type(ended).__name__})" if ended is not None else ""
            raise PlatformStopped(
                f"the Discord gateway connection ended during start-up{why}: check the bot's intents "
                "and shard settings in the developer portal"
            ) from None
        if ready not in done:
            logger.warning("discord: not ready after %.0f s; still connecting", self.ready_timeout)
        self._gateway.add_done_callback(self._gateway_ended)

    async def _undo(self) -> None:
        await self.client.close()
        self.endpoints.restore()

    def connected(self) -> bool:
        """For /readyz: the gateway is up and READY (discord.py clears it while reconnecting)."""
        gateway_up = self._gateway is not None and not self._gateway.done()
        return gateway_up and self.client.is_ready() and not self.client.is_closed()

    @staticmethod
    def _gateway_ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("discord: the gateway connection stopped: %s", type(task.exception()).__name__)

    async def stop(self, grace: float = 10.0) -> None:
        """Let turns in progress finish (up to `grace` seconds) and their replies go out (up to
        `STOP_GRACE` more), then disconnect."""
        busy = {t for t in self._in_flight if t is not asyncio.current_task()}
        if busy:
            await asyncio.wait(busy, timeout=grace)
        await self.outbox.close(min(grace, STOP_GRACE))
        await self.client.close()
        if self._gateway is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._gateway, 10)
            self._gateway = None
        self.endpoints.restore()

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """Mark the running handler as in flight, so `stop` waits for it to answer."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._in_flight.discard(task)

    @contextlib.asynccontextmanager
    async def _person(self, user_id: int) -> AsyncIterator[None]:
        """One person's turns one at a time, first come first served; the table holds only busy people."""
        key = str(user_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key], self._locks[key]

    # ---- the engine -----------------------------------------------------------------------------
    @staticmethod
    def _who(user: discord.abc.User) -> Who:
        return Who(PLATFORM, str(user.id), person_chat(user.id))

    def _queue(
        self,
        user_id: int,
        target: _Target,
        message_parts: Sequence[tuple[Part, bool]],
        locale: str,
        *,
        keep_first: bool = False,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Queue a turn's parts for one person. A part that fails drops the rest of the turn (and gets an
        apology unless the person can't be reached). `keep_first`: the first part replaces a deferred
        "thinking" note, so a crisis reply puts it behind itself instead of dropping it; `then` runs after
        the parts (it is never dropped either)."""
        turn = object()
        jobs = []
        for index, (part, urgent) in enumerate(message_parts):

            async def run(_interrupt: asyncio.Event | None, part: Part = part) -> Delivery:
                try:
                    await target.send(part)
                except discord.Forbidden as error:
                    logger.info("discord: could not answer (code %s)", error.code)
                    return Delivery.UNREACHABLE
                except Exception:
                    logger.exception("discord: a reply could not be sent")
                    await self._apologise(target, locale)
                    return Delivery.FAILED
                return Delivery.SENT

            jobs.append(Job(run, urgent=urgent, stale=not (keep_first and index == 0), turn=turn))
        if then is not None:
            after = then

            async def finish(_interrupt: asyncio.Event | None) -> Delivery:
                try:
                    await after()
                except Exception:
                    logger.exception("discord: a closing note could not be sent")
                    return Delivery.FAILED
                return Delivery.SENT

            jobs.append(Job(finish, stale=False))
        self.outbox.put(str(user_id), jobs)

    async def _stored_locale(self, who: Who) -> str:
        """A DM carries no locale: use the one the person's last slash command or click had."""
        try:
            data = await self.engine.store.load(who.key)
        except StoreError:
            return "en"
        return data.person.locale if data.person is not None else "en"

    def _notice(self, template: str, locale: str, **values: object) -> Part:
        return Part(self.engine.notice(template, PLATFORM, locale, **values).text)

    async def _apologise(self, target: _Target, locale: str) -> None:
        with contextlib.suppress(discord.HTTPException):
            await target.send(self._notice("something_went_wrong", locale))

    # ---- personal conversations -----------------------------------------------------------------
    async def on_personal_command(self, interaction: discord.Interaction, command: str, args: str) -> None:
        with self._turn():
            await self._on_personal_command(interaction, command, args)

    async def _on_personal_command(self, interaction: discord.Interaction, command: str, args: str) -> None:
        in_dm = interaction.guild_id is None
        if not await _defer(interaction, ephemeral=not in_dm):
            return
        locale = _locale(interaction)
        event = Incoming(
            self._who(interaction.user),
            Kind.COMMAND,
            command=command,
            args=args,
            locale=locale,
            update_key=f"i:{interaction.id}",
        )
        try:
            async with self._person(interaction.user.id):
                message_parts = _parts(await self.engine.handle(event))
            if not message_parts:  # a redelivered interaction: nothing new to say
                with contextlib.suppress(discord.HTTPException):
                    await interaction.delete_original_response()
            elif in_dm:
                target = _Followup(interaction, ephemeral=False)
                self._queue(interaction.user.id, target, message_parts, locale, keep_first=True)
            else:
                private = _Private(
                    interaction,
                    self._notice("discord_dms_closed", locale),
                    lambda link: self._notice("discord_dm_opened", locale, link=link),
                )
                self._queue(interaction.user.id, private, message_parts, locale, then=private.finish)
        except Exception:
            logger.exception("discord: /%s failed", command)
            await self._apologise(_Followup(interaction, ephemeral=True), locale)

    async def on_button(self, interaction: discord.Interaction, payload: str) -> None:
        with self._turn():
            await self._on_button(interaction, payload)

    async def _on_button(self, interaction: discord.Interaction, payload: str) -> None:
        if not await _acknowledge_click(interaction):
            return
        locale = _locale(interaction)
        # In DMs, plain messages; anywhere else only the ephemeral messages the person was shown have buttons.
        target = _Followup(interaction, ephemeral=interaction.guild_id is not None)
        event = Incoming(
            self._who(interaction.user),
            Kind.BUTTON,
            payload=payload,
            locale=locale,
            update_key=f"i:{interaction.id}",
        )
        try:
            async with self._person(interaction.user.id):
                replies = await self.engine.handle(event)
            self._queue(interaction.user.id, target, _parts(replies), locale)
        except Exception:
            logger.exception("discord: a button click failed")
            await self._apologise(target, locale)

    async def on_direct_message(self, message: discord.Message) -> None:
        """Free text (or a typed /command) in DMs; anything else a person sends there is UNSUPPORTED."""
        with self._turn():
            await self._on_direct_message(message)

    async def _on_direct_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        async with self._person(message.author.id):  # taken before any await: turns keep their order
            await self._direct_turn(message)

    async def _direct_turn(self, message: discord.Message) -> None:
        """The engine turn for one DM; its replies are queued (the caller holds the person's lock)."""
        who = self._who(message.author)
        locale = await self._stored_locale(who)
        key = f"m:{message.id}"
        text = message.content
        command = parse_command(text.strip())
        if command is not None:
            name, args = command
            event = Incoming(who, Kind.COMMAND, command=name, args=args, locale=locale, update_key=key)
        elif text.strip():
            event = Incoming(who, Kind.TEXT, text=text, locale=locale, update_key=key)
        else:
            event = Incoming(who, Kind.UNSUPPORTED, locale=locale, update_key=key)
        target = _Channel(message.channel)
        try:
            replies = await self.engine.handle(event)
        except Exception:
            logger.exception("discord: a DM failed")
            self.outbox.put(str(message.author.id), [self._apology_job(target, locale)])
            return
        self._queue(message.author.id, target, _parts(replies), locale)

    def _apology_job(self, target: _Target, locale: str) -> Job:
        async def run(_interrupt: asyncio.Event | None) -> Delivery:
            await self._apologise(target, locale)
            return Delivery.SENT

        return Job(run)

    # ---- community and resources ----------------------------------------------------------------
    async def on_encourage(self, interaction: discord.Interaction) -> None:
        """Public on purpose: a general encouragement with nothing about anyone in it."""
        locale = (interaction.guild_locale or interaction.locale).value
        text = self.engine.community.encouragement(PLATFORM, str(interaction.channel_id or 0), locale).text
        try:
            await interaction.response.send_message(text, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, discord.InteractionResponded) as error:
            logger.warning("discord: /encourage not answered: %s", type(error).__name__)

    async def on_resources(self, interaction: discord.Interaction) -> None:
        """Crisis lines for whoever asks, shown only to them, with no stored data needed."""
        locale = _locale(interaction)
        text = self.engine.community.resources(PLATFORM, locale).text
        try:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        except (discord.HTTPException, discord.InteractionResponded) as error:
            logger.warning("discord: /resources not answered: %s", type(error).__name__)

    async def on_setup(self, interaction: discord.Interaction, weekly: bool) -> None:
        """Server admins turn a channel's weekly community post on or off; everyone else is told kindly."""
        with self._turn():
            await self._on_setup(interaction, weekly)

    async def _on_setup(self, interaction: discord.Interaction, weekly: bool) -> None:
        if not await _defer(interaction, ephemeral=True):
            return
        locale = _locale(interaction)
        here = _Followup(interaction, ephemeral=True)
        in_server = interaction.guild_id is not None and interaction.channel_id is not None
        channel = (
            Channel(
                PLATFORM,
                str(interaction.channel_id),
                channel_chat(interaction.channel_id or 0),
                (interaction.guild_locale or interaction.locale).value,
            )
            if in_server
            else None
        )
        request = SetupRequest(
            channel=channel,
            weekly=weekly,
            allowed=in_server and interaction.permissions.manage_guild,
            can_post=interaction.app_permissions.view_channel and interaction.app_permissions.send_messages,
        )
        reply = await self.engine.community.setup(PLATFORM, request, locale)
        try:
            await here.send(Part(reply.text))
        except discord.HTTPException as error:
            logger.warning("discord: /setup not answered: %s", type(error).__name__)

    # ---- sending outside a turn (nudges, community posts) ---------------------------------------
    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        """Send to `user:<id>` (opens their DM) or `channel:<id>` (a community post).

        A bare number is taken as a user id, never as a channel, so a person's message can't land in a server
        channel by mistake. discord.py waits out rate limits itself; closed DMs (50007), a deleted channel or
        user, or lost access are UNREACHABLE (never retried: Discord bans bots that keep hitting 403s); any
        other failure is FAILED.
        """
        kind, _, raw = chat_id.rpartition(":")
        if not raw.isdigit() or kind not in ("", USER_PREFIX[:-1], CHANNEL_PREFIX[:-1]):
            logger.error("discord: cannot send to a malformed address")
            return Delivery.UNREACHABLE
        if kind == CHANNEL_PREFIX[:-1]:
            return await self._send_now(kind, raw, message)

        async def run(_interrupt: asyncio.Event | None) -> Delivery:
            return await self._send_now(kind, raw, message)

        # A person's nudge waits its turn in their queue: never in the middle of a turn's replies, and
        # dropped (FAILED, tried again later) if a crisis reply comes first.
        return await self.outbox.send(raw, Job(run, urgent=message.urgent))

    async def _send_now(self, kind: str, raw: str, message: Outgoing) -> Delivery:
        sent = 0
        try:
            target: discord.abc.Messageable
            if kind == CHANNEL_PREFIX[:-1]:
                target = self.client.get_partial_messageable(int(raw), type=discord.ChannelType.text)
            else:
                target = await self.client.create_dm(discord.Object(id=int(raw)))
            for part in parts(message):
                await _Channel(target).send(part)
                sent += 1
        except discord.HTTPException as error:
            if sent:
                logger.warning("discord: a message was only partly sent (code %s)", error.code)
                return Delivery.SENT
            if error.code in GONE or isinstance(error, discord.NotFound):
                logger.info("discord: unreachable (code %s)", error.code)
                return Delivery.UNREACHABLE
            logger.warning("discord: send failed (status %s, code %s)", error.status, error.code)
            return Delivery.FAILED
        except (OSError, TimeoutError, aiohttp.ClientError, discord.DiscordException) as error:
            logger.warning("discord: send failed: %s", type(error).__name__)
            return Delivery.SENT if sent else Delivery.FAILED
        return Delivery.SENT


def build(engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> DiscordAdapter:
    """The registry's way in (a Discord failure is raised from `start`, so `on_fatal` goes unused)."""
    return DiscordAdapter(engine, settings.section(DiscordSettings))
