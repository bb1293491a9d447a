"""The dispatcher: claim due nudges with a lease, render, send through the right adapter, record, move on.

Nudges are rows, not timers, so a restart loses nothing: a claimed row whose worker died is claimable
again once its lease expires, and a slot is recorded in `nudge_log` in the same transaction that moves the
schedule on, so a recorded slot is never sent twice. The one duplicate left is a crash between the
platform's OK and our commit; with `concurrency` sends in flight per dispatcher, at most that many.

- Catch-up: after downtime, one nudge per person at most (the schedule then moves to the next slot after
  now), and none if the slot is older than the grace window or it is quiet hours where they are.
- UNREACHABLE (blocked, chat gone): the schedule is switched off (next_due_at NULL), never retried.
- FAILED (rate limit, network): the same slot is retried with a growing backoff until the grace window
  closes, then recorded as failed and the schedule moves on.
- A check-in after a crisis reply (target_kind FOLLOWUP) is the same row with one slot: once sent it is
  switched off (next_due_at NULL), so it goes out once; a missed, quiet or failed slot moves to the same
  local time the next day.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.domain import Delivery, Outgoing, Renderer, Say, Schedule, Sender, TargetKind
from bot.engine.nudging import fewer_buttons, nudge_buttons
from bot.engine.safety_plan import followup_buttons
from bot.nudges.content import NudgeContent, choose, remember
from bot.nudges.timing import local_now, next_for, quiet_now
from bot.ops.metrics import NUDGE_PASS_SECONDS, NUDGES
from bot.platforms import nudge_rates
from bot.store import Store
from bot.store.base import DueNudge, NudgeOutcome, NudgeRecord

logger = logging.getLogger(__name__)

FOLLOWUP_TEMPLATE = "followup/message"  # the check-in after a crisis reply

# Sends per second per platform, from the platform list (each under its platform's own limit).
DEFAULT_RATES: Mapping[str, float] = nudge_rates()


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DispatchSettings:
    lease: timedelta = timedelta(minutes=5)  # a crashed worker's claims are free again after this
    batch: int = 200  # rows claimed per round trip: bounds memory whatever the number of people
    grace: timedelta = timedelta(hours=6)  # older slots are skipped, not sent late
    concurrency: int = 4  # sends in flight per dispatcher
    retry_min: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(minutes=30)
    idle: float = 30.0  # longest sleep between passes (new schedules are noticed within this)
    poll: float = 1.0  # shortest sleep between passes
    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))


@dataclass
class PassReport:
    """What one pass did, by outcome (no personal data: counts only)."""

    sent: int = 0
    unreachable: int = 0
    retrying: int = 0
    failed: int = 0
    missed: int = 0
    quiet: int = 0
    lost: int = 0  # our lease was gone when we came to record (another worker took over)

    @property
    def handled(self) -> int:
        return self.sent + self.unreachable + self.retrying + self.failed + self.missed + self.quiet


class Pacer:
    """Evenly spaced sends for one platform: no bursts, so a per-second limit is never crossed."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Dispatcher:
    """Sends due nudges through the senders it has (one per platform)."""

    def __init__(
        self,
        store: Store,
        engine: Renderer,
        senders: Mapping[str, Sender] | Iterable[Sender],
        settings: DispatchSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.senders = dict(senders) if isinstance(senders, Mapping) else {s.platform: s for s in senders}
        self.settings = settings or DispatchSettings()
        self.clock = clock
        self.owner = owner or default_owner()
        self.pacers = {p: Pacer(self.settings.rates.get(p)) for p in self.senders}
        self._progress = self.now()  # when a pass last made progress (for /readyz)

    def now(self) -> datetime:
        return self.clock()

    def lag(self) -> float:
        """Seconds since a pass last made progress (finished, or handled a batch); /readyz reads it."""
        return (self.now() - self._progress).total_seconds()

    # ---- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Pass after pass until cancelled; our unsent claims are released on the way out."""
        try:
            while True:
                try:
                    with NUDGE_PASS_SECONDS.time():
                        report = await self.run_once()
                    if report.handled:
                        logger.info("nudges: %s", report)
                    delay = await self._idle_for()
                except Exception:
                    logger.exception("nudge pass failed; will retry")
                    delay = self.settings.idle
                await asyncio.sleep(delay)
        finally:
            try:
                await asyncio.shield(self.store.release_nudges(self.owner))
            except Exception:
                logger.warning("could not release nudge claims; their leases will expire")

    async def _idle_for(self) -> float:
        earliest = await self.store.earliest_due(list(self.senders))
        if earliest is None:
            return self.settings.idle
        wait = (earliest - self.now()).total_seconds()
        return min(self.settings.idle, max(self.settings.poll, wait))

    async def run_once(self) -> PassReport:
        """Claim and handle every nudge due now, a batch at a time."""
        report = PassReport()
        platforms = list(self.senders)
        gate = asyncio.Semaphore(self.settings.concurrency)
        while True:
            now = self.now()
            batch = await self.store.claim_due(
                now, self.owner, now + self.settings.lease, self.settings.batch, platforms
            )
            if not batch:
                self._progress = self.now()
                return report
            await asyncio.gather(*(self._handle(due, gate, report) for due in batch))
            self._progress = self.now()

    # ---- one nudge ------------------------------------------------------------------------------
    def prepare(self, due: DueNudge) -> tuple[NudgeContent, Outgoing]:
        """Choose the nudge and render it for its platform."""
        s = due.schedule
        if s.target_kind is TargetKind.FOLLOWUP:
            content = NudgeContent(FOLLOWUP_TEMPLATE)
            say = Say(content.template, buttons=followup_buttons())
            return content, self.engine.render([say], s.platform, s.locale)[0]
        content = choose(s, due.answers)
        if s.target_kind is TargetKind.CHANNEL:
            buttons: tuple = ()
        else:
            buttons = fewer_buttons(s) if content.asks_fewer else nudge_buttons(s)
        say = Say(content.template, values=content.values, buttons=buttons)
        message = self.engine.render([say], s.platform, s.locale)[0]
        if s.target_kind is TargetKind.CHANNEL:
            message = replace(message, private=False)
        return content, message

    async def _handle(self, due: DueNudge, gate: asyncio.Semaphore, report: PassReport) -> None:
        s = due.schedule
        now = self.now()
        slot = catch_up_slot(s, due.slot_at, now, self.settings.grace)
        if slot is None:
            await self._record(due, NudgeOutcome.MISSED, report, next_due=next_for(s, now))
            return
        if quiet_now(s, now):
            await self._record(due, NudgeOutcome.QUIET, report, next_due=next_for(s, now))
            return
        content, message = self.prepare(due)
        async with gate:
            await self.pacers[s.platform].wait()
            delivery = await self._send(s, message)
            now = self.now()
            if delivery is Delivery.SENT:
                once = s.target_kind is TargetKind.FOLLOWUP  # a check-in goes out once, then is off
                await self._record(
                    due,
                    NudgeOutcome.SENT,
                    report,
                    next_due=None if once else next_for(s, max(now, slot)),
                    template=content.template,
                    recent=None if once else remember(s.recent_templates, content.template),
                )
            elif delivery is Delivery.UNREACHABLE:
                await self._record(due, NudgeOutcome.UNREACHABLE, report, next_due=None)
            elif now - slot > self.settings.grace:
                await self._record(due, NudgeOutcome.FAILED, report, next_due=next_for(s, now))
            else:
                backoff = min(self.settings.retry_max, max(self.settings.retry_min, now - slot))
                assert s.id is not None
                if await self.store.retry_nudge(s.id, self.owner, now + backoff):
                    report.retrying += 1
                    NUDGES.labels(s.platform, "retrying").inc()
                else:
                    report.lost += 1

    async def _send(self, s: Schedule, message: Outgoing) -> Delivery:
        try:
            return await self.senders[s.platform].send(s.chat_id, message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # an adapter bug must not stop everyone else's nudges
            logger.warning("nudge send raised platform=%s: %s", s.platform, type(error).__name__)
            return Delivery.FAILED

    async def _record(
        self,
        due: DueNudge,
        outcome: NudgeOutcome,
        report: PassReport,
        *,
        next_due: datetime | None,
        template: str | None = None,
        recent: tuple[str, ...] | None = None,
    ) -> None:
        s = due.schedule
        assert s.id is not None
        recorded = await self.store.record_nudge(
            NudgeRecord(
                s.id,
                due.slot_at,
                self.owner,
                outcome,
                self.now(),
                next_due_at=next_due,
                template=template,
                recent_templates=recent,
            )
        )
        if not recorded:
            report.lost += 1
            logger.warning("nudge lease lost before recording platform=%s outcome=%s", s.platform, outcome)
            return
        setattr(report, outcome.value, getattr(report, outcome.value) + 1)
        NUDGES.labels(s.platform, outcome.value).inc()


def catch_up_slot(s: Schedule, slot: datetime, now: datetime, grace: timedelta) -> datetime | None:
    """The slot to send for now: the one claimed, or after downtime the latest within the grace window.

    The nudge is still recorded under the claimed slot, so a re-claim after a crash decides the same way.
    """
    if now - slot <= grace:
        return slot
    latest = next_for(replace(s, paused_until=None), now - grace)
    return latest if latest <= now else None


# ---- the dry run: who would receive what, without sending -------------------------------------
@dataclass(frozen=True)
class Planned:
    at: datetime  # UTC
    platform: str
    target: str  # masked
    local: str  # the target's local date and time
    template: str


def mask(target_id: str) -> str:
    """Enough of an id to tell rows apart in a listing, not enough to identify anyone."""
    if len(target_id) <= 4:
        return "*" * len(target_id)
    return f"{target_id[:2]}…{target_id[-2:]}"


async def dry_run(
    store: Store, now: datetime, hours: float, grace: timedelta = DispatchSettings.grace
) -> AsyncIterator[Planned]:
    """Every nudge that would go out in the next `hours`, following each schedule slot by slot."""
    end = now + timedelta(hours=hours)
    after_id = 0
    while True:
        page = await store.schedules_due_before(end, after_id=after_id, limit=500)
        if not page:
            return
        for due in page:
            for planned in _plan(due, now, end, grace):
                yield planned
        after_id = page[-1].schedule.id or after_id


def _plan(due: DueNudge, now: datetime, end: datetime, grace: timedelta) -> Iterable[Planned]:
    s, slot = due.schedule, catch_up_slot(due.schedule, due.slot_at, now, grace)
    if slot is None:
        slot = next_for(s, now)
    while slot < end:
        at = max(slot, now)
        if quiet_now(s, at):
            slot = next_for(s, at)
            continue
        once = s.target_kind is TargetKind.FOLLOWUP
        template = FOLLOWUP_TEMPLATE if once else choose(s, due.answers).template
        local = local_now(at, s.timezone).strftime("%Y-%m-%d %H:%M %Z")
        yield Planned(at, s.platform, mask(s.target_id), local, template)
        if once:
            return
        content = NudgeContent(template)
        s = replace(
            s,
            sent_count=s.sent_count + 1,
            unanswered=s.unanswered + 1,
            recent_templates=remember(s.recent_templates, content.template),
        )
        slot = next_for(s, at)


class OneChat:
    """A sender that delivers to one chat only (the console's person); others wait for their own session.

    Their nudges come back FAILED, so they are retried and, past the grace window, skipped, never opted
    out: another person chatting in the same console database has not blocked anyone.
    """

    def __init__(self, sender: Sender, chat_id: str) -> None:
        self.sender = sender
        self.chat_id = chat_id
        self.platform = sender.platform

    async def send(self, chat_id: str, message: Outgoing) -> Delivery:
        if chat_id != self.chat_id:
            return Delivery.FAILED
        return await self.sender.send(chat_id, message)
