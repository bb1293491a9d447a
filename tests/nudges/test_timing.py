"""Due-time computation: properties over random zones, times, rhythms and instants, DST days included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import Rhythm
from bot.nudges.timing import (
    hhmm,
    in_quiet_hours,
    local_anchor,
    next_due,
    resolve,
    slot_allowed,
)

ZONES = sorted(available_timezones())


def exists(day: date, at: time, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, at)
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """UTC instants in `year` where the zone's offset changes (to the second)."""
    found = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=6)
    while t < end:
        nxt = t + step
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = int(t.timestamp()), int(nxt.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (
                    datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset()
                    == t.astimezone(zone).utcoffset()
                ):
                    lo = mid
                else:
                    hi = mid
            found.append(datetime.fromtimestamp(hi, UTC))
        t = nxt
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, time, Rhythm, datetime, date]:
    """A zone, a local time, a rhythm, an instant — half of them on or next to a DST transition."""
    name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(name)
    rhythm = draw(st.sampled_from(list(Rhythm)))
    year = draw(st.integers(2000, 2037))
    near = transitions(zone, year) if draw(st.booleans()) else []
    if near:
        edge = draw(st.sampled_from(near))
        instant = edge + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
        # The wall clock as it read just before the change, moved a little: lands in the skipped hour of
        # a spring-forward day and in the repeated hour of a fall-back day.
        before = (edge - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None) + timedelta(seconds=1)
        wall = before + timedelta(minutes=draw(st.integers(-90, 90)))
        at = time(wall.hour, wall.minute)
    else:
        instant = datetime(year, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
        at = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))
    anchor = (instant - timedelta(days=draw(st.integers(0, 60)))).astimezone(zone).date()
    return name, at, rhythm, instant, anchor


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_next_due_is_the_first_allowed_slot_after_now(case: tuple[str, time, Rhythm, datetime, date]) -> None:
    name, at, rhythm, now, anchor = case
    zone = ZoneInfo(name)
    due = next_due(rhythm, hhmm(at), name, now, anchor)
    assert due > now
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    # It belongs to an allowed local day: the wall time itself, or (in a gap) the transition right after it.
    local = due.astimezone(zone)
    day = _slot_day(due, at, zone)
    assert slot_allowed(rhythm, day, anchor)
    if exists(day, at, zone):
        assert local.time().replace(second=0) == at
        assert due == datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)  # first of two
    else:
        before = datetime.fromtimestamp(due.timestamp() - 1, UTC).astimezone(zone).replace(tzinfo=None)
        assert before < datetime.combine(day, at) < local.replace(tzinfo=None)  # the first valid instant
    # Nothing allowed was skipped between now and the answer.
    probe = now.astimezone(zone).date() - timedelta(days=2)
    while probe <= local.date():
        if slot_allowed(rhythm, probe, anchor):
            instant = resolve(probe, at, zone)
            assert not (now < instant < due), f"skipped the slot on {probe}"
        probe += timedelta(days=1)


def _slot_day(due: datetime, at: time, zone: ZoneInfo) -> date:
    """The local day whose (missing) wall time `at` resolved to `due`."""
    for back in range(3):
        day = due.astimezone(zone).date() - timedelta(days=back)
        if resolve(day, at, zone) == due:
            return day
    raise AssertionError("no slot day resolves to this instant")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ZONES),
    st.integers(0, 23),
    st.sampled_from([0, 15, 30, 45, 59]),
    st.sampled_from(list(Rhythm)),
    st.integers(2000, 2036),
)
def test_a_year_of_slots_has_exactly_one_per_local_slot(
    name: str, hour: int, minute: int, rhythm: Rhythm, year: int
) -> None:
    zone = ZoneInfo(name)
    at = time(hour, minute)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    anchor = local_anchor(start, name)
    got = []
    t = start
    while True:
        t = next_due(rhythm, hhmm(at), name, t, anchor)
        if t.astimezone(zone).year > year or t >= datetime(year + 1, 1, 2, tzinfo=UTC):
            break
        got.append(t)
    expected = []
    day = date(year, 1, 1)
    while day.year == year:
        if slot_allowed(rhythm, day, anchor):
            instant = resolve(day, at, zone)
            if instant > start and instant.astimezone(zone).year == year:
                expected.append(instant)
        day += timedelta(days=1)
    assert got == expected  # one per allowed local day: none skipped, none doubled
    assert len(set(got)) == len(got)


def test_spring_forward_gap_goes_out_at_the_transition() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29; 02:30 that day goes out at 03:00 CEST (01:00 UTC).
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    due = next_due(Rhythm.DAILY, "02:30", "Europe/Berlin", after, date(2026, 3, 1))
    assert due == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    following = next_due(Rhythm.DAILY, "02:30", "Europe/Berlin", due, date(2026, 3, 1))
    assert following == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # back to 02:30 CEST


def test_fall_back_repeated_time_goes_out_once() -> None:
    # New York repeats 01:00-02:00 on 2026-11-01; 01:30 goes out at the first (EDT) one only.
    after = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    due = next_due(Rhythm.DAILY, "01:30", "America/New_York", after, date(2026, 10, 1))
    assert due == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    following = next_due(Rhythm.DAILY, "01:30", "America/New_York", due, date(2026, 10, 1))
    assert following == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # not 06:30 UTC the same day


def test_rhythms_send_on_their_days() -> None:
    anchor = date(2026, 3, 4)  # a Wednesday
    days = [anchor + timedelta(days=i) for i in range(42)]
    assert all(slot_allowed(Rhythm.DAILY, d, anchor) for d in days)
    assert {d.weekday() for d in days if slot_allowed(Rhythm.FEW_WEEKLY, d, anchor)} == {0, 2, 4}
    assert {d.weekday() for d in days if slot_allowed(Rhythm.WEEKLY, d, anchor)} == {2}
    taper = [d for d in days if slot_allowed(Rhythm.TAPERING, d, anchor)]
    assert taper[:7] == days[:7]  # daily for a week
    assert {d.weekday() for d in taper if 7 <= (d - anchor).days < 28} == {0, 2, 4}
    assert {d.weekday() for d in taper if (d - anchor).days >= 28} == {2}


def test_quiet_hours_wrap_midnight() -> None:
    assert in_quiet_hours(time(21, 0), "21:00", "09:00")
    assert in_quiet_hours(time(3, 0), "21:00", "09:00")
    assert in_quiet_hours(time(8, 59), "21:00", "09:00")
    assert not in_quiet_hours(time(9, 0), "21:00", "09:00")
    assert not in_quiet_hours(time(20, 59), "21:00", "09:00")
    assert in_quiet_hours(time(13, 0), "12:00", "14:00")
    assert not in_quiet_hours(time(14, 0), "12:00", "14:00")
