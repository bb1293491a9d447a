"""Opting in to nudges and managing them: small pure steps, one question at a time.

Setting up asks how often, then what time, then the time zone (a city or zone name typed, or worked out
from the person's local time now, then confirmed): the order is the table `SETUP`. The choices made so
far ride in the step (`Nudge("zone", "f", "1800")` = few times a week at 18:00, asking the zone), so
nothing half-chosen is stored anywhere else and any process can take the next message. Buttons on a
nudge are global (`*|n.stop`), so they keep working days later, whatever step the person is in.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

from bot.domain import Flow, Person, Rhythm, Schedule, TargetKind
from bot.engine.say import ANY_STEP, Choice, Say, payload
from bot.engine.steps import DONE, PAUSED, Nudge, Step, advance, parse
from bot.nudges import zone_names, zones
from bot.nudges.content import MILESTONE_BOOKED
from bot.nudges.timing import hhmm, in_quiet_hours, next_for, parse_hhmm
from bot.nudges.words import NudgeWords, normalise

OFFER = Nudge("offer")  # the invitation after the plan, waiting for yes or no (its buttons are global)
OFTEN = Nudge("often")
QUIET = Nudge("quiet")
CODES = {"d": Rhythm.DAILY, "f": Rhythm.FEW_WEEKLY, "w": Rhythm.WEEKLY, "t": Rhythm.TAPERING}
FEWER = {Rhythm.DAILY: Rhythm.FEW_WEEKLY, Rhythm.TAPERING: Rhythm.WEEKLY, Rhythm.FEW_WEEKLY: Rhythm.WEEKLY}
TIMES = ("09:30", "13:00", "18:00", "20:00")
QUIET_CHOICES = ("21:00-09:00", "22:00-08:00", "20:00-10:00", "23:00-07:00")
DEFAULT_QUIET = ("21:00", "09:00")
PAUSE = timedelta(days=7)


TEXT_STAGES = ("time", "zone", "clock", "quiet")
"""Nudge steps that read what is typed (a time, a place, a range); the others are answered by buttons."""


SAVE = "save"
SETUP: dict[tuple[str, str], str] = {
    # (the stage asked, what the person gave) -> the stage asked next; SAVE: set up, and back
    ("often", "rhythm"): "time",  # how often -> what time
    ("time", "time"): "zone",  # a time outside quiet hours (one inside is offered a time next to them)
    ("zone", "zone"): SAVE,  # a zone named plainly
    ("zone", "unsure"): "zok",  # an offset, an abbreviation, a country, a name of several places: confirm
    ("zone", "clock"): "clock",  # "I'll tell you my time instead"
    ("clock", "zone"): "zok",  # a zone worked out from their clock, to confirm
    ("zok", "yes"): SAVE,
    ("zok", "no"): "zone",
    ("zok", "clock"): "clock",
}
"""The nudge set-up in order. The quiet hours (`QUIET`) are one question of their own."""

PLAIN: dict[str, dict[str, str]] = {
    # What a plain reply means at a nudge question answered by buttons (the stage -> meaning -> value).
    "offer": {"yes": "setup", "partly": "setup", "no": "no"},  # "not sure" asks again rather than guess
    "often": {"no": "cancel"},  # "nah" at how often: never mind
    "zok": {"yes": "yes", "no": "no"},  # "is this your time zone?"
}


def is_step(step: Step | None) -> bool:
    return isinstance(step, Nudge)


def reads_text(step: Step | None) -> bool:
    """True at a nudge step that parses free text itself (a time, a zone, quiet hours)."""
    return isinstance(step, Nudge) and step.stage in TEXT_STAGES


def plain_meanings(step: Step | None) -> dict[str, str] | None:
    """What a plain yes or no means at this nudge step; None where plain words answer nothing."""
    return PLAIN.get(step.stage) if isinstance(step, Nudge) else None


def offer() -> Say:
    """The invitation after the plan (and from /nudges when none are set up)."""
    return Say(
        "nudges/offer",
        buttons=(
            (Choice("nudge_yes", payload(ANY_STEP, "n.setup")),),
            (Choice("nudge_no", payload(ANY_STEP, "n.no")),),
        ),
    )


def nudge_buttons(schedule: Schedule) -> tuple[tuple[Choice, ...], ...]:
    """The buttons every personal nudge carries."""
    rows: list[tuple[Choice, ...]] = [
        (
            Choice("nudge_helpful", payload(ANY_STEP, "n.helpful")),
            Choice("nudge_snooze", payload(ANY_STEP, "n.snooze")),
        ),
        (
            Choice("nudge_change", payload(ANY_STEP, "n.change")),
            Choice("nudge_stop", payload(ANY_STEP, "n.stop")),
        ),
    ]
    if schedule.milestone is None:
        rows.append((Choice("nudge_booked", payload(ANY_STEP, "n.booked")),))
    return tuple(rows)


def fewer_buttons(schedule: Schedule) -> tuple[tuple[Choice, ...], ...]:
    """The buttons on the nudge that asks whether to send fewer."""
    first = (
        Choice("nudge_fewer", payload(ANY_STEP, "n.fewer"))
        if schedule.rhythm in FEWER
        else Choice("nudge_pause", payload(ANY_STEP, "n.pause"))
    )
    return (
        (first,),
        (Choice("nudge_keep", payload(ANY_STEP, "n.keep")),),
        (Choice("nudge_stop", payload(ANY_STEP, "n.stop")),),
    )


def parse_clock(text: str, words: NudgeWords) -> time | None:
    """'18:30', '7pm', 'at 7.30 p.m.', 'a las 9 de la noche', '0930', '9' -> a time of day; None when it
    isn't one."""
    said = normalise(text).replace(" ", "")
    halves = [(w.replace(" ", ""), "am") for w in words.am] + [(w.replace(" ", ""), "pm") for w in words.pm]
    half = None
    for suffix, name in sorted(halves, key=lambda pair: -len(pair[0])):
        if suffix and said.endswith(suffix):
            said, half = said[: -len(suffix)], name
            break
    for lead in sorted((w.replace(" ", "") for w in words.before), key=len, reverse=True):
        if lead and said.startswith(lead):
            said = said[len(lead) :]
            break
    match = re.fullmatch(r"(\d{1,2})(?:[:.h]?(\d{2}))?", said)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_range(text: str, words: NudgeWords) -> tuple[time, time] | None:
    """'22:00-08:00', '10pm to 8am' -> (start, end)."""
    said = normalise(re.sub(r"[-–—]", " 0sep0 ", text))  # a token normalising keeps, unlike a dash
    for word in words.range_words:
        said = re.sub(rf"\b{re.escape(word)}\b", "0sep0", said)
    parts = [p for p in said.split("0sep0") if p.strip()]
    if len(parts) != 2:
        return None
    start, end = parse_clock(parts[0], words), parse_clock(parts[1], words)
    if start is None or end is None or start == end:
        return None
    return start, end


def suggest_outside(at: time, quiet_start: str, quiet_end: str) -> str:
    """A time just outside quiet hours, on the side `at` is nearer to."""
    minutes = at.hour * 60 + at.minute
    start, end = parse_hhmm(quiet_start), parse_hhmm(quiet_end)
    since_start = (minutes - (start.hour * 60 + start.minute)) % 1440
    until_end = ((end.hour * 60 + end.minute) - minutes) % 1440
    if until_end <= since_start:
        return quiet_end
    before = (start.hour * 60 + start.minute - 30) % 1440
    return f"{before // 60:02d}:{before % 60:02d}"


def _code(value: str) -> str:
    return value.replace(":", "")


def _time_from_code(code: str) -> str:
    return f"{code[:2]}:{code[2:]}"


class Nudges:
    """One turn's worth of nudge handling for a person: read what changed from `flow`, `schedule`, `says`."""

    def __init__(self, person: Person, schedule: Schedule | None, now: datetime, words: NudgeWords) -> None:
        self.person = person
        self.flow: Flow = person.flow
        self.schedule = schedule
        self.now = now
        self.words = words
        self.says: list[Say] = []
        self.returned = False  # setup ended: the caller may restate the step the person came back to

    @property
    def at(self) -> Step:
        """The step the person is at now."""
        return parse(self.flow.step)

    def say(self, template: str, buttons: tuple[tuple[Choice, ...], ...] = (), **values: object) -> None:
        self.says.append(Say(template, values=values, buttons=buttons))

    # ---- entry points ---------------------------------------------------------------------------
    def command(self) -> None:
        """/nudges: what is set up now, with buttons to change, pause or stop; or the offer."""
        if self.schedule is None:
            if self.at in (DONE, PAUSED) or is_step(self.at):
                self.open_offer()  # nothing else pending: the offer is the question now
            else:
                self.says.append(offer())  # mid-reflection: its buttons work, the reflection stays
            return
        s = self.schedule
        paused = s.next_due_at is None
        resting = s.paused_until is not None and s.paused_until > self.now
        rows: list[tuple[Choice, ...]] = [
            (Choice("nudge_change", payload(ANY_STEP, "n.change")),),
            (Choice("nudge_quiet", payload(ANY_STEP, "n.quiet")),),
        ]
        if paused or resting:
            rows.append((Choice("nudge_resume", payload(ANY_STEP, "n.resume")),))
        else:
            rows.append((Choice("nudge_pause", payload(ANY_STEP, "n.pause")),))
        rows.append((Choice("nudge_stop", payload(ANY_STEP, "n.stop")),))
        self.say("nudges/status", buttons=tuple(rows), **self._summary(s), paused=paused, resting=resting)

    def button(self, action: str) -> None:
        """A global nudge button, pressed now or days after the message that carried it."""
        if action in ("setup", "change"):
            self._begin()
        elif action == "no":
            self.decline()
        elif action == "quiet":
            self._begin_quiet()
        elif self.schedule is None:
            self.say("nudges/stale", stopped=action == "stop")
        elif action == "helpful":
            self.say("nudges/thanks")
        elif action in ("snooze", "pause"):
            self._pause()
        elif action == "resume":
            resumed = replace(self.schedule, paused_until=None)
            self._set(replace(resumed, next_due_at=next_for(resumed, self.now)))
            self.say("nudges/resumed", **self._summary(self.schedule))
        elif action == "stop":
            self.stop()
        elif action == "booked":
            self._set(replace(self.schedule, milestone=MILESTONE_BOOKED))
            self.say("nudges/milestone")
        elif action == "fewer":
            self._fewer()
        elif action == "keep":
            self.say("nudges/kept")
        else:
            self.say("stale_button")

    def open_offer(self) -> None:
        """Ask whether they would like nudges, as a step of its own: typed words answer it, a question
        asked meanwhile gets its answer and then this again."""
        if is_step(self.at):
            self.flow = replace(self.flow, step=str(OFFER))
        else:
            self.flow = advance(self.flow, OFFER)
        self.question()

    def decline(self, *, quietly: bool = False) -> None:
        """No nudges, thanks: leave the offer if it is the pending step; say so unless `quietly`."""
        if self.at == OFFER:
            self._leave()
            self.returned = False  # nothing to ask again: they answered
        if not quietly:
            self.say("nudges/declined")

    def stop(self) -> None:
        """Stop every nudge at once (a button, or "stop" typed in any words)."""
        had = self.schedule is not None
        self.schedule = None
        if is_step(self.at):
            self._leave()
        self.say("nudges/stopped" if had else "nudges/stale", stopped=True)
        self.returned = True  # whatever they were in the middle of is still there

    def answer(self, value: str) -> None:
        """A button that answers the nudge question the person is at."""
        at = self.at
        assert isinstance(at, Nudge)
        if value == "cancel":
            self._leave()
            self.say("nudges/setup_cancelled", changed=False)
            return
        if at.stage == "offer" and value in ("setup", "no"):
            self.button(value)  # the same as its (global) buttons
        elif at.stage == "often" and value in CODES:
            self._go("rhythm", rhythm=value)
        elif at.stage == "time" and re.fullmatch(r"\d{4}", value):
            self._chose_time(_time_from_code(value))
        elif at.stage in ("zone", "zok") and value == "clock":
            self._go("clock")
        elif at.stage == "zone" and value in zones.all_zones():
            self._go("zone", zone=value)
        elif at.stage == "zok" and value in ("yes", "no"):
            self._go(value)
        elif at.stage == "quiet" and re.fullmatch(r"\d{4}-\d{4}", value):
            start, end = value.split("-")
            self._set_quiet(_time_from_code(start), _time_from_code(end))
        else:
            self.say("stale_button")
            self.question()

    def text(self, text: str) -> None:
        """Free text at a nudge question: a time, a place, a time range."""
        at = self.at
        stage = at.stage if isinstance(at, Nudge) else ""
        if stage == "time":
            clock = parse_clock(text, self.words)
            if clock is None:
                self.say("nudges/time_unclear")
                self.question()
            else:
                self._chose_time(hhmm(clock))
        elif stage == "zone":
            found = zones.read_zone(text, self.now, self.person.country)
            if found is None:
                self.say("nudges/zone_unknown")
                self.question()
            else:  # to confirm: an offset, an abbreviation, a country or a name of several places
                self._go("unsure" if found.confirm else "zone", zone=found.zone)
        elif stage == "clock":
            clock = parse_clock(text, self.words)
            zone = zones.guess_from_clock(clock, self.now, self.person.country) if clock else None
            if zone is None:
                self.say("nudges/clock_unclear")
                self.question()
            else:
                self._go("zone", zone=zone)
        elif stage == "quiet":
            span = parse_range(text, self.words)
            if span is None:
                self.say("nudges/quiet_unclear")
                self.question()
            else:
                self._set_quiet(hhmm(span[0]), hhmm(span[1]))
        else:
            self.say("text_not_expected", long=len(text) > 1000)
            self.question()

    def question(self) -> None:
        """Ask (again) the question of the nudge step the person is at."""
        at = self.at
        assert isinstance(at, Nudge)
        self.says.append(question(at, self.person, self.schedule, self.now))

    # ---- the steps ------------------------------------------------------------------------------
    def _ask(self, step: Nudge) -> None:
        self.flow = replace(self.flow, step=str(step))
        self.question()

    def _go(self, given: str, *, rhythm: str = "", time: str = "", zone: str = "") -> None:
        """Move on in the set-up as the table `SETUP` says, carrying what was chosen so far."""
        at = self.at
        assert isinstance(at, Nudge)
        nxt = SETUP[(at.stage, given)]
        if nxt == SAVE:
            self._finish(at.rhythm, _time_from_code(at.at), zone or at.zone)
        else:
            self._ask(Nudge(nxt, rhythm or at.rhythm, time or at.at, zone if nxt == "zok" else ""))

    def _begin(self) -> None:
        if not is_step(self.at):
            self.flow = advance(self.flow, OFTEN)
        self._ask(OFTEN)

    def _begin_quiet(self) -> None:
        if self.schedule is None:
            self.say("nudges/stale", stopped=False)
            return
        if not is_step(self.at):
            self.flow = advance(self.flow, QUIET)
        self._ask(QUIET)

    def _leave(self) -> None:
        """Back to where the person was before setting nudges up."""
        history = list(self.flow.history)
        back = str(DONE if self.person.plan_at else PAUSED)
        while history:
            previous = history.pop()
            if not is_step(parse(previous)):
                back = previous
                break
        self.flow = replace(self.flow, step=back, history=tuple(history))
        self.returned = True

    def _quiet(self) -> tuple[str, str]:
        s = self.schedule
        return (s.quiet_start, s.quiet_end) if s else DEFAULT_QUIET

    def _chose_time(self, at: str) -> None:
        step = self.at
        quiet_start, quiet_end = self._quiet()
        if in_quiet_hours(parse_hhmm(at), quiet_start, quiet_end):
            other = suggest_outside(parse_hhmm(at), quiet_start, quiet_end)
            buttons = (
                (Choice("nudge_at", payload(step, _code(other)), {"time": other}),),
                (Choice("nudge_cancel", payload(step, "cancel")),),
            )
            values = {"time": at, "quiet_start": quiet_start, "quiet_end": quiet_end, "suggestion": other}
            # "yes" to "How about 09:00?" takes it; "no" is not "never mind", so it asks the time again
            self.says.append(Say("nudges/time_quiet", values=values, buttons=buttons, typed=("yes",)))
            return
        self._go("time", time=_code(at))

    def _finish(self, code: str, at: str, zone: str) -> None:
        rhythm = CODES[code]
        person, old = self.person, self.schedule
        quiet_start, quiet_end = self._quiet()
        schedule = Schedule(
            platform=person.key.platform,
            target_kind=TargetKind.PERSON,
            target_id=person.key.user_id,
            chat_id=person.chat_id,
            rhythm=rhythm,
            local_time=at,
            timezone=zone,
            next_due_at=None,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            locale=person.locale,
            created_at=old.created_at if old and old.rhythm is rhythm and old.created_at else self.now,
            sent_count=old.sent_count if old else 0,
            recent_templates=old.recent_templates if old else (),
            milestone=old.milestone if old else None,
            id=old.id if old else None,
        )
        saved = self._set(replace(schedule, next_due_at=next_for(schedule, self.now)))
        self._leave()
        self.say("nudges/on", new=old is None, **self._summary(saved))

    def _set_quiet(self, start: str, end: str) -> None:
        s = self.schedule
        if s is None:
            self._leave()
            self.say("nudges/stale", stopped=False)
            return
        if in_quiet_hours(parse_hhmm(s.local_time), start, end):
            self.say("nudges/quiet_conflict", time=s.local_time, quiet_start=start, quiet_end=end)
            self.question()
            return
        self._set(replace(s, quiet_start=start, quiet_end=end))
        self._leave()
        self.say("nudges/quiet_set", quiet_start=start, quiet_end=end)

    def _pause(self) -> None:
        s = self.schedule
        assert s is not None
        until = self.now + PAUSE
        paused = replace(s, paused_until=until)
        saved = self._set(replace(paused, next_due_at=next_for(paused, self.now)))
        self.say("nudges/snoozed", **self._summary(saved))

    def _fewer(self) -> None:
        s = self.schedule
        assert s is not None
        fewer = FEWER.get(s.rhythm)
        if fewer is None:
            self.say("nudges/fewer_least", buttons=fewer_buttons(s)[1:])
            return
        changed = replace(s, rhythm=fewer, created_at=self.now, unanswered=0)
        saved = self._set(replace(changed, next_due_at=next_for(changed, self.now)))
        self.say("nudges/fewer_done", **self._summary(saved))

    def _set(self, schedule: Schedule) -> Schedule:
        """Keep the changed schedule (saved by the caller) and hand it back."""
        self.schedule = schedule
        return schedule

    def _summary(self, s: Schedule) -> _Summary:
        """Values every summary template uses: rhythm, time, zone, quiet hours, the next one locally."""
        zone = ZoneInfo(s.timezone)
        following = s.next_due_at.astimezone(zone) if s.next_due_at else None
        locale, country = self.person.locale, self.person.country
        return {
            "rhythm": s.rhythm.value,
            "local_time": zone_names.clock_text(parse_hhmm(s.local_time), locale, country),
            "timezone": zone_names.zone_label(s.timezone, locale),  # "Berlin, Germany", "UTC+2"
            "quiet_start": s.quiet_start,
            "quiet_end": s.quiet_end,
            "next_weekday": following.weekday() if following else -1,
            "next_date": following.strftime("%Y-%m-%d") if following else "",
            "next_time": zone_names.clock_text(following, locale, country) if following else "",
        }


class _Summary(TypedDict):
    """The values of `Nudges._summary`, typed so that `say(..., **summary)` is checked key by key."""

    rhythm: str
    local_time: str
    timezone: str
    quiet_start: str
    quiet_end: str
    next_weekday: int
    next_date: str
    next_time: str


def question(step: Nudge, person: Person | None, schedule: Schedule | None, now: datetime) -> Say:
    """The question a nudge step asks, with its buttons."""
    stage = step.stage
    cancel = (Choice("nudge_cancel", payload(step, "cancel")),)
    if stage == "offer":
        return offer()
    if stage == "often":
        rows = tuple((Choice(f"nudge_rhythm_{code}", payload(step, code)),) for code in CODES)
        return Say("nudges/ask_rhythm", buttons=(*rows, cancel))
    if stage == "time":
        quiet = (schedule.quiet_start, schedule.quiet_end) if schedule else DEFAULT_QUIET
        times = [t for t in TIMES if not in_quiet_hours(parse_hhmm(t), *quiet)]
        locale, country = (person.locale, person.country) if person else (None, None)
        row = tuple(
            Choice(
                "nudge_at",
                payload(step, _code(t)),
                {"time": zone_names.clock_text(parse_hhmm(t), locale, country)},
            )
            for t in times
        )
        return Say(
            "nudges/ask_time",
            values={"rhythm": CODES[step.rhythm].value, "quiet_start": quiet[0], "quiet_end": quiet[1]},
            buttons=(row, cancel) if row else (cancel,),
        )
    if stage == "zone":
        offered: list[str] = []
        if schedule is not None:
            offered.append(schedule.timezone)
        for zone in zones.suggestions(person.country if person else None):
            if zone not in offered:
                offered.append(zone)
        locale = person.locale if person else None
        rows = tuple(
            (Choice("nudge_zone", payload(step, z), {"zone": zone_names.zone_label(z, locale)}),)
            for z in offered[:2]
        )
        clock = (Choice("nudge_by_clock", payload(step, "clock")),)
        return Say("nudges/ask_zone", buttons=(*rows, clock, cancel))
    if stage == "clock":
        return Say("nudges/ask_clock", buttons=(cancel,))
    if stage == "zok":
        zone = step.zone
        locale, country = (person.locale, person.country) if person else (None, None)
        local = zone_names.clock_text(now.astimezone(ZoneInfo(zone)), locale, country)
        fixed = zone_names.is_fixed(zone)  # an offset: no summer time, and never shown as "Etc/GMT-2"
        return Say(
            "nudges/confirm_offset" if fixed else "nudges/confirm_zone",
            values={"zone": zone_names.zone_label(zone, locale), "now_there": local},
            buttons=(
                (Choice("nudge_zone_yes", payload(step, "yes")),),
                (Choice("nudge_zone_no", payload(step, "no")),),
                cancel,
            ),
        )
    if stage == "quiet":
        current = f"{schedule.quiet_start}-{schedule.quiet_end}" if schedule else "-".join(DEFAULT_QUIET)
        rows = tuple(
            (Choice("nudge_quiet_range", payload(step, _code(q)), {"start": q[:5], "end": q[6:]}),)
            for q in QUIET_CHOICES
            if q != current
        )
        return Say(
            "nudges/ask_quiet",
            values={"quiet_start": current[:5], "quiet_end": current[6:]},
            buttons=(*rows, cancel),
        )
    raise ValueError(f"{step} asks nothing")


def sample_steps() -> list[Nudge]:
    """One step of each kind, with the longest values, for `keepgoing check`."""
    longest = max(zones.zone_countries(), key=len)
    return [
        OFFER,
        OFTEN,
        Nudge("time", "f"),
        Nudge("zone", "f", "1800"),
        Nudge("clock", "f", "1800"),
        Nudge("zok", "t", "1800", longest),
        Nudge("zok", "t", "1800", "Etc/GMT-14"),
        QUIET,
    ]
