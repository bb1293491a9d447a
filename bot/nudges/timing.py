"""When a nudge is due: the next UTC instant for a rhythm, a local time of day and an IANA time zone.

Pure and clock-free. The rules, so every chosen local slot gets exactly one nudge:
- a slot is a local calendar day the rhythm allows, at the chosen wall time, in the person's zone;
- a wall time that exists twice that day (autumn fall-back) means the first of the two (fold=0);
- a wall time that does not exist that day (spring-forward gap) goes out at the first valid instant after
  it, which is the transition itself (02:30 in Berlin on the last Sunday of March goes out at 03:00);
- weekly and tapering rhythms count from an anchor day (the local day the schedule was made).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import Rhythm, Schedule

FEW_WEEKLY_DAYS = frozenset({0, 2, 4})  # Monday, Wednesday, Friday
TAPER_DAILY_DAYS = 7  # tapering: daily for the first week,
TAPER_FEW_DAYS = 28  # then Monday/Wednesday/Friday until four weeks, then weekly
SEARCH_DAYS = 16  # every rhythm has a slot within a week; a little slack for huge gaps (Samoa 2011)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    """'18:30' -> time(18, 30); raises ValueError on anything else."""
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"not an HH:MM time: {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def in_quiet_hours(at: time, quiet_start: str, quiet_end: str) -> bool:
    """Whether a local wall time falls in the quiet window [start, end), which may wrap past midnight."""
    start, end = parse_hhmm(quiet_start), parse_hhmm(quiet_end)
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def slot_allowed(rhythm: Rhythm, day: date, anchor: date) -> bool:
    """Whether the rhythm sends on this local day."""
    if rhythm is Rhythm.DAILY:
        return True
    if rhythm is Rhythm.FEW_WEEKLY:
        return day.weekday() in FEW_WEEKLY_DAYS
    if rhythm is Rhythm.WEEKLY:
        return day.weekday() == anchor.weekday()
    age = (day - anchor).days
    if age < TAPER_DAILY_DAYS:
        return True
    if age < TAPER_FEW_DAYS:
        return day.weekday() in FEW_WEEKLY_DAYS
    return day.weekday() == anchor.weekday()


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def resolve(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of `at` on local `day`: fold=0 when ambiguous, the transition when it doesn't exist."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == wall:
        return first
    # In a gap, fold=0 reads the wall time with the offset before the transition (an instant after it)
    # and fold=1 with the offset after (an instant before it). Find the first second whose wall time is
    # past `wall`: that is the transition, the first valid instant after the missing time.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = int(min(first, other).timestamp()), int(max(first, other).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), zone) > wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def next_due(rhythm: Rhythm, local_time: str, timezone: str, after: datetime, anchor: date) -> datetime:
    """The first slot strictly after `after`, in UTC."""
    zone = ZoneInfo(timezone)
    at = parse_hhmm(local_time)
    start = after.astimezone(zone).date() - timedelta(days=2)
    for offset in range(SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if not slot_allowed(rhythm, day, anchor):
            continue
        instant = resolve(day, at, zone)
        if instant > after:
            return instant
    raise ValueError(f"no slot for {rhythm} within {SEARCH_DAYS} days")  # every rhythm is at least weekly


def local_anchor(created_at: datetime, timezone: str) -> date:
    """The local day a schedule was made: where weekly and tapering rhythms count from."""
    return created_at.astimezone(ZoneInfo(timezone)).date()


def next_for(schedule: Schedule, after: datetime) -> datetime:
    """A schedule's next slot after `after` (and after any pause)."""
    if schedule.paused_until is not None and schedule.paused_until > after:
        after = schedule.paused_until
    anchor = local_anchor(schedule.created_at or after, schedule.timezone)
    return next_due(schedule.rhythm, schedule.local_time, schedule.timezone, after, anchor)


def local_now(now: datetime, timezone: str) -> datetime:
    return now.astimezone(ZoneInfo(timezone))


def quiet_now(schedule: Schedule, now: datetime) -> bool:
    """Whether it is quiet hours for the schedule's target at this instant."""
    wall = local_now(now, schedule.timezone).time().replace(second=0, microsecond=0)
    return in_quiet_hours(wall, schedule.quiet_start, schedule.quiet_end)
