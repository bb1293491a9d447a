"""Community features any server platform can offer, decided here so adapters only translate.

- A general encouragement anyone may post in a channel: public on purpose, nothing personal in it, never the
  one that channel saw last.
- The crisis lines for whoever asks, with no stored data needed.
- A channel's weekly post, turned on or off by a server admin (the adapter says whether the person may and
  whether the bot can post there: only the platform knows).
"""

from __future__ import annotations

import logging
import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain import Outgoing, Rhythm, Schedule, TargetKind
from bot.nudges import timing
from bot.store import StoreError

if TYPE_CHECKING:
    from bot.engine.engine import Engine

logger = logging.getLogger(__name__)

ENCOURAGEMENTS = "community/encourage_"
COMMUNITY_ZONE = "UTC"
NO_QUIET_HOURS = "00:00"  # a channel's members live in many zones; the admin chose the time
MAX_REMEMBERED_CHANNELS = 10_000


@dataclass(frozen=True)
class Channel:
    """A community channel: where a weekly post goes and in which language."""

    platform: str
    channel_id: str
    chat_id: str  # the address the platform's Sender posts to
    locale: str  # the server's language, for the weekly post


@dataclass(frozen=True)
class SetupRequest:
    """An admin's /setup, with what only the platform can tell: may this person, can the bot post here."""

    channel: Channel | None  # None outside a server channel
    weekly: bool
    allowed: bool
    can_post: bool


def weekly_schedule(channel: Channel, now: datetime) -> Schedule:
    """A weekly post in a channel, on this weekday at about this time (UTC, to the quarter hour)."""
    wall = timing.local_now(now, COMMUNITY_ZONE)
    rounded = wall - timedelta(minutes=wall.minute % 15)
    local_time = timing.hhmm(rounded.time())
    anchor = timing.local_anchor(now, COMMUNITY_ZONE)
    return Schedule(
        platform=channel.platform,
        target_kind=TargetKind.CHANNEL,
        target_id=channel.channel_id,
        chat_id=channel.chat_id,
        rhythm=Rhythm.WEEKLY,
        local_time=local_time,
        timezone=COMMUNITY_ZONE,
        next_due_at=timing.next_due(Rhythm.WEEKLY, local_time, COMMUNITY_ZONE, now, anchor),
        quiet_start=NO_QUIET_HOURS,
        quiet_end=NO_QUIET_HOURS,
        locale=channel.locale,
        created_at=now,
    )


class Community:
    """The engine's community side: what a channel gets, whatever the platform."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._last: OrderedDict[tuple[str, str], str] = OrderedDict()

    def encouragement(self, platform: str, channel_id: str, locale: str) -> Outgoing:
        """A general encouragement for a channel, never the one it saw last."""
        pool = [n for n in self.engine.templates.template_names() if n.startswith(ENCOURAGEMENTS)]
        key = (platform, channel_id)
        last = self._last.pop(key, None)
        choice = random.choice([n for n in pool if n != last] or pool)
        self._last[key] = choice
        while len(self._last) > MAX_REMEMBERED_CHANNELS:
            self._last.popitem(last=False)
        return self.engine.notice(choice, platform, locale)

    def resources(self, platform: str, locale: str) -> Outgoing:
        """The crisis lines for the operator's default country (nothing about the person is needed)."""
        found = self.engine.resources.for_person(None, locale, self.engine.settings.default_country)
        return self.engine.notice("resources", platform, locale, resources=found)

    async def setup(self, platform: str, request: SetupRequest, locale: str) -> Outgoing:
        """Turn a channel's weekly post on or off; the reply (in `locale`) says what happened."""
        channel = request.channel
        try:
            if channel is None or not request.allowed:
                template = "setup_not_allowed"
            elif not request.weekly:
                store = self.engine.store
                removed = await store.delete_channel_schedule(channel.platform, channel.channel_id)
                template = "setup_off" if removed else "setup_was_off"
            elif not request.can_post:
                template = "setup_cannot_post"
            else:
                await self.engine.store.upsert_channel_schedule(weekly_schedule(channel, self.engine.clock()))
                template = "setup_done"
        except StoreError as error:
            logger.warning("community: /setup not saved platform=%s: %s", platform, error)
            template = "store_unavailable"
        return self.engine.notice(template, platform, locale)
