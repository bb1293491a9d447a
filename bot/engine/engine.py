"""The turn runner: load state, step the conversation, save, render the replies — in one transaction."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from bot.domain import Attachment, Incoming, Kind, Outgoing, UserData, UserKey
from bot.engine import mydata
from bot.engine.community import Community
from bot.engine.conversation import step
from bot.engine.say import Say
from bot.engine.turn import Context, Offered, TurnResult
from bot.knowledge.routes import book as routes_book
from bot.nudges.words import load_words
from bot.ops.metrics import observe_turn
from bot.platforms import markup_for
from bot.safety import CrisisDetector, ResourceBook
from bot.store import Store, StoreError
from bot.store.records import UPDATE_ID_RETENTION
from bot.templates import Templates

logger = logging.getLogger(__name__)
T = TypeVar("T")

NOTHING_TO_FORGET = "forget_nothing"  # /forget with no record kept: their recent update ids still go


def utcnow() -> datetime:
    return datetime.now(UTC)


def merge(replies: list[Outgoing]) -> list[Outgoing]:
    """Fewer, fuller messages: text without buttons or a file joins the message after it.

    A turn's "thanks" and its next question become one message, and the plan goes out as one message
    with its questions and the offer that follows, instead of four (adapters still split at the platform's
    limit). A message with buttons or a file ends a group, so buttons always sit under their question.
    """
    merged: list[Outgoing] = []
    waiting: list[Outgoing] = []
    for reply in replies:
        waiting.append(reply)
        if reply.buttons or reply.attachment is not None:
            merged.append(_joined(waiting))
            waiting = []
    if waiting:
        merged.append(_joined(waiting))
    return merged


def _joined(group: list[Outgoing]) -> Outgoing:
    last = group[-1]
    if len(group) == 1:
        return last
    return replace(
        last,
        text="\n\n".join(reply.text for reply in group),
        urgent=any(reply.urgent for reply in group),
        private=all(reply.private for reply in group),
    )


class Recent(Generic[T]):
    """One small thing about each person's latest turn, in memory only and only for minutes.

    The last words of their message let the safety check notice a crisis split across two messages
    without ever storing what a person typed; the question last asked of someone with nothing stored
    lets a typed "yes" answer it. Bounded in size; a restart forgets them, which is the point.
    """

    def __init__(self, empty: T, ttl: timedelta = timedelta(minutes=10), size: int = 10_000) -> None:
        self.empty, self.ttl, self.size = empty, ttl, size
        self._kept: OrderedDict[UserKey, tuple[T, datetime]] = OrderedDict()

    def get(self, key: UserKey, now: datetime) -> T:
        found = self._kept.get(key)
        if found is None or now - found[1] > self.ttl:
            return self.empty
        return found[0]

    def put(self, key: UserKey, value: T, now: datetime) -> None:
        self._kept.pop(key, None)
        if value:
            self._kept[key] = (value, now)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


@dataclass(frozen=True)
class EngineSettings:
    default_country: str = "US"
    retention_days: int = 365


class Engine:
    """The platform-neutral heart: every adapter hands it an `Incoming` and sends what it returns."""

    def __init__(
        self,
        store: Store,
        templates: Templates,
        detector: CrisisDetector,
        resources: ResourceBook,
        settings: EngineSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.templates = templates
        self.detector = detector
        self.resources = resources
        self.settings = settings or EngineSettings()
        self.clock = clock
        self.tails = Recent("")
        self.asked: Recent[Offered] = Recent(())  # for people with nothing stored (see Flow.offered)
        self.community = Community(self)
        routes_book()  # the routes to therapy, checked now: a doubtful routes file stops start-up

    async def handle(self, event: Incoming) -> list[Outgoing]:
        """One turn. A redelivered update returns nothing; a store failure still answers kindly.

        Replies are rendered before the transaction commits, so a reply that cannot be rendered rolls the
        turn back (and a redelivery is handled afresh) instead of leaving a saved turn nobody saw.
        """
        started = time.perf_counter()
        ctx = self._context(event)
        try:
            async with self.store.turn(event.who.key, event.update_key) as turn:
                if turn.duplicate:
                    logger.info("duplicate update skipped platform=%s", event.who.platform)
                    return []
                result = step(turn.data, event, ctx)
                if any(say.template == mydata.TEMPLATE for say in result.says):
                    rows = await turn.rows()  # every stored row, for the /mydata file
                    result = replace(result, says=mydata.with_export(result.says, result.data, rows, ctx.now))
                replies = merge(self.render(result.says, event.who.platform, ctx.locale))
                if result.forget or any(say.template == NOTHING_TO_FORGET for say in result.says):
                    await turn.forget()  # with no record, what is left is their update ids: erased too
                elif result.data != turn.data and result.data.person is not None:
                    await turn.save(result.data)
        except StoreError as error:
            logger.warning("turn not saved platform=%s: %s", event.who.platform, error)
            result = self._without_store(event, ctx)
            replies = merge(self.render(result.says, event.who.platform, ctx.locale))
        if result.forget:
            await self._checkpoint()
        if event.kind is not Kind.BUTTON:
            self.tails.put(event.who.key, "" if result.forget else result.tail, ctx.now)
        self.asked.put(event.who.key, result.offered, ctx.now)
        logger.info("turn platform=%s kind=%s replies=%d", event.who.platform, event.kind.value, len(replies))
        observe_turn(event.who.platform, time.perf_counter() - started, [s.template for s in result.says])
        return replies

    async def _checkpoint(self) -> None:
        """After an erasure, fold the log too; if the file is busy now, the next checkpoint does it."""
        try:
            await self.store.checkpoint()
        except StoreError as error:
            logger.warning("checkpoint after an erasure postponed: %s", error)

    def _without_store(self, event: Incoming, ctx: Context) -> TurnResult:
        """The database is locked or unwritable: still answer a crisis, otherwise say so kindly."""
        result = step(UserData(), event, ctx)
        if any(say.template == "crisis" for say in result.says):
            return TurnResult(UserData(), [s for s in result.says if s.template == "crisis"])
        return TurnResult(UserData(), [Say("store_unavailable")])

    def _context(self, event: Incoming) -> Context:
        locale = self.templates.locale_for(event.locale)
        now = self.clock()
        return Context(
            now=now,
            locale=locale,
            detector=self.detector,
            resources=self.resources,
            default_country=self.settings.default_country,
            retention_days=self.settings.retention_days,
            label_text=lambda key: self.templates.label(key, locale),
            nudge_words=load_words(self.templates.root, locale),
            previous_tail=self.tails.get(event.who.key, now),
            asked=self.asked.get(event.who.key, now),
        )

    def render(self, says: list[Say], platform: str, locale: str) -> list[Outgoing]:
        """Turn unrendered replies into text and buttons for one platform."""
        markup = markup_for(platform)
        out = []
        for say in says:
            text = self.templates.render(say.template, locale, markup, **say.values)
            buttons = self.templates.buttons(say.buttons, locale)
            attachment = Attachment(*say.attachment) if say.attachment else None
            out.append(Outgoing(text=text, buttons=buttons, attachment=attachment, urgent=say.urgent))
        return out

    def notice(self, template: str, platform: str, locale: str, **values: object) -> Outgoing:
        """A message an adapter sends on its own (a group hint, closed DMs), from the templates."""
        return self.render([Say(template, values=values)], platform, locale)[0]

    async def expire_inactive(self) -> int:
        """Erase people inactive for longer than the retention period, and update ids older than
        de-duplication needs (`UPDATE_ID_RETENTION`, everyone's, whether they consented or not)."""
        now = self.clock()
        pruned = await self.store.prune_updates(now - UPDATE_ID_RETENTION)
        if pruned:
            logger.info("retention: pruned %d old update ids", pruned)
        cutoff = now - timedelta(days=self.settings.retention_days)
        removed = await self.store.expire_inactive(cutoff)
        if removed:
            logger.info("retention: erased %d inactive people", removed)
        return removed
