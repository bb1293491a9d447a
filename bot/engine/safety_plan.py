"""Crisis care beyond a phone number: the ways forward a crisis reply offers, and the safety plan.

- The crisis reply's buttons: safe / not safe, a grounding exercise, the safety plan, and a check-in
  tomorrow (asked, never assumed).
- "I'm not safe": the emergency number first, then one concrete step, then the people and services from
  the person's own safety plan, if they made one. No method details anywhere.
- The personal safety plan (Stanley & Brown): six steps, one question at a time, each skippable. It is the
  one place where what a person types is kept, so it starts only after they are told so and confirm;
  for someone who had not agreed to anything yet, that confirmation is their agreement.
- The check-in: one caring message the next day, at a reasonable hour where they live, through the nudge
  dispatcher (a schedules row of kind FOLLOWUP, sent once).

Like `nudging`, a class acts for one turn and hands back person, schedule, check-in and replies.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.domain import Flow, Person, Rhythm, SafetyPlan, Schedule, TargetKind, Who
from bot.engine import grounding as g
from bot.engine import nudging as n
from bot.engine import reflection as r
from bot.engine.say import ANY_STEP, FLOW_VERSION, YES_NO, Choice, Say, payload
from bot.engine.steps import COUNTRY, CRISIS, DONE, PlanStep, Step, advance, parse
from bot.nudges import zone_names, zones
from bot.nudges.timing import in_quiet_hours, next_due, parse_hhmm
from bot.nudges.words import NudgeWords
from bot.safety import CrisisResources

if TYPE_CHECKING:
    from collections.abc import Callable

STEPS = ("warning", "coping", "distract", "people", "pros", "safer")
NEXT = dict(zip(STEPS, (*STEPS[1:], None), strict=True))
"""The plan's transition table: the part asked after each (None: the plan is made). A part changed on
its own (`editing`) goes back to the plan instead."""
ANSWER_LIMIT = 250  # characters per part: the whole plan then fits one Discord message (2,000)
EXPORT_NAME = "keepgoing-safety-plan.txt"
CHECK_IN_AT = "11:00"  # local time of the check-in for someone without a nudge time of their own
CHECK_IN_QUIET = ("21:00", "09:00")
CHECK_IN_AFTER = timedelta(hours=8)  # "tomorrow": the first slot at least this far off (after some sleep)


def is_step(step: Step | None) -> bool:
    return isinstance(step, PlanStep)


def is_care_step(step: Step | None) -> bool:
    """A step of a crisis-care sub-flow (the plan or grounding), which a new crisis reply interrupts."""
    return is_step(step) or g.is_step(step)


def beneath(step: str, history: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The step a care sub-flow was started from, and the history before it (a crisis returns there),
    as stored."""
    if not is_care_step(parse(step)):
        return step, history
    rest = list(history)
    while rest:
        previous = rest.pop()
        if not is_care_step(parse(previous)):
            return previous, tuple(rest)
    return str(DONE), ()


def pending(followup: Schedule | None) -> bool:
    """A check-in that is still to be sent."""
    return followup is not None and followup.next_due_at is not None


def crisis_buttons(person: Person | None, followup: Schedule | None) -> tuple[tuple[Choice, ...], ...]:
    """The crisis reply's buttons: at most five rows of one (Discord allows five)."""
    has_plan = person is not None and person.safety_plan is not None
    rows = [
        *g.safe_rows(),
        (g.start_choice(),),
        (
            Choice("sp_see", payload(ANY_STEP, "sp.show"))
            if has_plan
            else Choice("sp_make", payload(ANY_STEP, "sp.offer")),
        ),
    ]
    if not pending(followup):
        rows.append((Choice("followup_yes", payload(ANY_STEP, "fu.yes")),))
    return tuple(rows)


def step_buttons(step: PlanStep) -> tuple[tuple[Choice, ...], ...]:
    nav = (Choice("skip", payload(step, "skip")), Choice("stop", payload(step, "stop")))
    if step.key == "pros":
        keep = (
            Choice("sp_keep_lines", payload(step, "keep")),
            Choice("sp_drop_lines", payload(step, "drop")),
        )
        return (keep, nav)
    return (nav,)


def plan_values(person: Person | None, resources: CrisisResources) -> dict[str, object]:
    """What the plan templates show: every step (empty when skipped) and the country's lines."""
    plan = person.safety_plan if person else None
    steps = plan.steps if plan else {}
    return {
        "plan": {key: steps.get(key, "") for key in STEPS},
        "plan_lines": plan.with_lines if plan else True,
        "resources": resources,
    }


def question(step: PlanStep, person: Person | None, resources: CrisisResources) -> Say:
    """The question a plan step asks, with what they wrote before when they are changing it."""
    key, editing = step.key, step.editing
    if key not in STEPS:
        raise ValueError(f"{step} asks nothing")
    return Say(
        f"safety_plan/ask_{key}",
        values={
            **plan_values(person, resources),
            "number": STEPS.index(key) + 1,
            "total": len(STEPS),
            "editing": editing,
            "current": (person.safety_plan.steps.get(key, "") if person and person.safety_plan else ""),
        },
        buttons=step_buttons(step),
        typed=YES_NO if key == "pros" else (),  # "keep the lines?": a typed "no" leaves them out
    )


def main_zone(country: str | None) -> str:
    """A country's most populous zone (the first of its zones otherwise); UTC when unknown."""
    found = zones.zones_for_country(country)
    popular = [z for z in zones.POPULAR if z in found]
    return popular[0] if popular else (found[0] if found else "UTC")


def check_in(
    who: Who, locale: str, country: str | None, schedule: Schedule | None, now: datetime
) -> Schedule:
    """Tomorrow's check-in: at their nudge time and zone if they have one, else 11:00 in their country."""
    if schedule is not None and schedule.target_kind is TargetKind.PERSON:
        zone, at, quiet = schedule.timezone, schedule.local_time, (schedule.quiet_start, schedule.quiet_end)
    else:
        zone, at, quiet = main_zone(country), CHECK_IN_AT, CHECK_IN_QUIET
    if in_quiet_hours(parse_hhmm(at), *quiet):
        at = quiet[1]  # the first minute after quiet hours
    after = now + CHECK_IN_AFTER
    due = next_due(Rhythm.DAILY, at, zone, after, after.astimezone(ZoneInfo(zone)).date())
    return Schedule(
        platform=who.platform,
        target_kind=TargetKind.FOLLOWUP,
        target_id=who.user_id,
        chat_id=who.chat_id,
        rhythm=Rhythm.DAILY,  # a missed or quiet slot moves to the next day; once sent, it is switched off
        local_time=at,
        timezone=zone,
        next_due_at=due,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        locale=locale,
        created_at=now,
    )


def check_in_values(followup: Schedule | None, locale: str | None) -> dict[str, object] | None:
    """The check-in as /mydata and the confirmation show it (local date, time and zone label), or None."""
    if followup is None:
        return None
    due = followup.next_due_at
    local = due.astimezone(ZoneInfo(followup.timezone)) if due else None
    return {
        "pending": due is not None,
        "date": local.strftime("%Y-%m-%d") if local else "",
        "time": local.strftime("%H:%M") if local else followup.local_time,
        "timezone": zone_names.zone_label(followup.timezone, locale),  # "UTC+2", never "Etc/GMT-2"
    }


def followup_buttons() -> tuple[tuple[Choice, ...], ...]:
    """The check-in message's buttons: the nudges' labels, acting on the check-in and any nudges."""
    return (
        (
            Choice("nudge_helpful", payload(ANY_STEP, "fu.ok")),
            Choice("nudge_snooze", payload(ANY_STEP, "fu.snooze")),
        ),
        (Choice("nudge_stop", payload(ANY_STEP, "fu.stop")),),
    )


def export_text(person: Person, resources: CrisisResources, label: Callable[[str], str]) -> bytes:
    """The plan as a plain text file, headings from the locale's labels."""
    plan = person.safety_plan or SafetyPlan()
    lines = [label("sp_file_title"), ""]
    for number, key in enumerate(STEPS, start=1):
        lines.append(f"{number}. {label(f'sp_step_{key}')}")
        if key == "pros" and plan.with_lines:
            primary = resources.primary
            lines.append(
                f"{primary.name}: {primary.contact}" + (f" ({primary.hours})" if primary.hours else "")
            )
            lines.append(f"{resources.international.name}: {resources.international.contact}")
        text = plan.steps.get(key, "")
        if text or not (key == "pros" and plan.with_lines):
            lines.append(text or label("sp_file_empty"))
        lines.append("")
    lines.append(f"{label('sp_file_emergency')}: {resources.emergency.contact}")
    return ("\n".join(lines) + "\n").encode()


class Care:
    """One turn's worth of crisis care: read back `person`, `schedule`, `followup`, `says`, `restate`."""

    def __init__(
        self,
        person: Person | None,
        schedule: Schedule | None,
        followup: Schedule | None,
        *,
        who: Who,
        locale: str,
        now: datetime,
        resources: CrisisResources,
        label: Callable[[str], str],
        words: NudgeWords,
    ) -> None:
        self.person = person
        self.schedule = schedule
        self.followup = followup
        self.who = who
        self.locale = locale
        self.now = now
        self.resources = resources
        self.label = label
        self.words = words
        self.says: list[Say] = []
        self.restate = False  # the caller should ask again whatever the person is at now

    def say(self, template: str, buttons: tuple[tuple[Choice, ...], ...] = (), **values: object) -> None:
        self.says.append(Say(template, values=values, buttons=buttons))

    # ---- plumbing -------------------------------------------------------------------------------
    @property
    def plan(self) -> SafetyPlan | None:
        return self.person.safety_plan if self.person else None

    @property
    def at(self) -> Step | None:
        """The step the person is at (None for someone who has agreed to nothing)."""
        return parse(self.person.flow.step) if self.person else None

    def _flow(self, flow: Flow) -> None:
        assert self.person is not None
        self.person = replace(self.person, flow=flow)

    def _adopt(self) -> bool:
        """Someone who had not agreed to anything: their confirmation now is their agreement."""
        if self.person is not None:
            return False
        self.person = Person(
            key=self.who.key,
            chat_id=self.who.chat_id,
            locale=self.locale,
            flow=Flow(version=FLOW_VERSION, step=str(COUNTRY)),
            created_at=self.now,
            last_seen_at=self.now,
            consented_at=self.now,
        )
        return True

    def _back_in_crisis(self) -> bool:
        return self.at == CRISIS

    # ---- "I'm not safe" -------------------------------------------------------------------------
    def not_safe(self) -> None:
        """The emergency number first, one concrete step, then the person's own plan, if any."""
        plan = self.plan
        self.says.append(
            Say(
                "crisis_emergency",
                values={
                    **plan_values(self.person, self.resources),
                    "has_plan": plan is not None,
                    "people": plan.steps.get("people", "") if plan else "",
                    "pros": plan.steps.get("pros", "") if plan else "",
                },
                buttons=(g.safe_rows()[0], (g.start_choice(),)),
                urgent=True,
            )
        )

    # ---- grounding ------------------------------------------------------------------------------
    def grounding(self, arg: str) -> None:
        flow, says = g.press(self.person.flow if self.person else None, arg)
        if flow is not None:
            self._flow(flow)
        self.says.extend(says)

    # ---- the check-in ---------------------------------------------------------------------------
    def followup_button(self, action: str) -> None:
        if action == "yes":
            self._check_in()
        elif action == "ok":
            self.say("followup/thanks")
        elif action == "snooze" and self.schedule is not None and self.person is not None:
            self._nudges(lambda nudges: nudges.button("snooze"))
        elif action == "snooze":
            self.say("followup/snoozed")
        elif action == "stop":
            self.stop_all()
        else:
            self.say("stale_button")
            self.restate = True

    def _check_in(self) -> None:
        adopted = self._adopt()
        assert self.person is not None
        if not pending(self.followup):
            country = self.person.country or self.resources.country
            self.followup = check_in(self.who, self.locale, country, self.schedule, self.now)
        buttons = crisis_buttons(self.person, self.followup)
        values = check_in_values(self.followup, self.locale) or {}
        self.say("followup/set", buttons=buttons, adopted=adopted, **values)

    def stop_all(self) -> None:
        """Stop messages: a pending check-in, and nudges if there are any ("stop" typed works too)."""
        had = pending(self.followup)
        if had:
            self.followup = None
        if self.person is not None and (self.schedule is not None or n.is_step(self.at)):
            self._nudges(lambda nudges: nudges.stop())
        else:
            self.say("followup/stopped", had=had)
            self.restate = self.person is not None

    def _nudges(self, act: Callable[[n.Nudges], None]) -> None:
        assert self.person is not None
        nudges = n.Nudges(self.person, self.schedule, self.now, self.words)
        act(nudges)
        self._flow(nudges.flow)
        self.schedule = nudges.schedule
        self.says.extend(nudges.says)
        self.restate = nudges.returned and r.is_question(self.at)

    # ---- the safety plan ------------------------------------------------------------------------
    def command(self) -> None:
        """/safetyplan: the plan with what can be done with it, or the offer to make one."""
        if self.plan is None:
            self.offer()
        else:
            self.show()

    def offer(self) -> None:
        """Say what is kept before the first question; start only if they confirm."""
        buttons = (
            (Choice("sp_begin", payload(ANY_STEP, "sp.begin")),),
            (Choice("sp_not_now", payload(ANY_STEP, "sp.no")),),
        )
        values = {"consented": self.person is not None}
        self.says.append(Say("safety_plan/offer", values=values, buttons=buttons, typed=YES_NO))

    def show(self, template: str = "safety_plan/show") -> None:
        if self.plan is None:
            self.offer()
            return
        self.say(
            template,
            buttons=(
                (
                    Choice("sp_change", payload(ANY_STEP, "sp.edit")),
                    Choice("sp_export", payload(ANY_STEP, "sp.export")),
                ),
                (Choice("sp_delete", payload(ANY_STEP, "sp.delete")),),
            ),
            **plan_values(self.person, self.resources),
        )

    def button(self, value: str) -> None:
        """A global plan button (from a crisis reply, /safetyplan or the plan itself)."""
        action, _, arg = value.partition(".")
        if action == "offer":
            self.command()
        elif action == "begin":
            self._begin()
        elif action == "no":
            self.say("safety_plan/not_now")
            self.restate = self.person is not None
        elif self.plan is None:
            self.say("safety_plan/none")
        elif action == "show":
            self.show()
        elif action == "edit" and arg in STEPS:
            self._ask(PlanStep(arg, editing=True))
        elif action == "edit":
            self._choose_step()
        elif action == "export":
            assert self.person is not None
            content = export_text(self.person, self.resources, self.label)
            self.says.append(Say("safety_plan/export", attachment=(EXPORT_NAME, content)))
        elif action == "delete":
            yes = Choice("sp_delete_yes", payload(ANY_STEP, "sp.delete_yes"))
            no = Choice("sp_delete_no", payload(ANY_STEP, "sp.delete_no"))
            self.says.append(Say("safety_plan/delete_confirm", buttons=((yes,), (no,)), typed=YES_NO))
        elif action == "delete_yes":
            self._delete()
        elif action == "delete_no":
            self.say("safety_plan/kept")
        else:
            self.say("stale_button")
            self.restate = True

    def _choose_step(self) -> None:
        buttons = [Choice(f"sp_step_{key}", payload(ANY_STEP, f"sp.edit.{key}")) for key in STEPS]
        rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
        self.say(
            "safety_plan/choose_step",
            buttons=(*rows, (Choice("nudge_cancel", payload(ANY_STEP, "sp.show")),)),
        )

    def _begin(self) -> None:
        if self.plan is not None and self.plan.steps:
            self.show()  # already made: a second press of an old button changes nothing
            return
        if self._adopt():
            self.say("safety_plan/agreed")
        assert self.person is not None
        if self.plan is None:
            self.person = replace(self.person, safety_plan=SafetyPlan(made_at=self.now))
        self._ask(PlanStep(STEPS[0]))

    def _ask(self, step: PlanStep) -> None:
        assert self.person is not None
        flow = self.person.flow
        self._flow(replace(flow, step=str(step)) if is_step(parse(flow.step)) else advance(flow, step))
        self.question()

    def question(self) -> None:
        """Ask (again) the plan question the person is at."""
        self.says.append(question(self._at(), self.person, self.resources))

    def _leave(self) -> None:
        assert self.person is not None
        flow = self.person.flow
        back, history = beneath(flow.step, flow.history)
        self._flow(replace(flow, step=back, history=history))

    def answer(self, value: str) -> None:
        """A button at a plan question: skip, stop, or (professionals) keep or leave out the lines."""
        at = self._at()
        if value == "stop":
            self._leave()
            self.say("safety_plan/paused")
            self._after_plan()
            return
        if at.key == "pros" and value in ("keep", "drop"):
            self._set(replace(self.plan or SafetyPlan(), with_lines=value == "keep"))
        elif value != "skip":
            self.say("stale_button")
            self.question()
            return
        self._next(at)

    def _at(self) -> PlanStep:
        at = self.at
        assert isinstance(at, PlanStep)
        return at

    def text(self, text: str) -> None:
        """What the person wrote for the step they are at: kept, as they asked."""
        at = self._at()
        if len(text) > ANSWER_LIMIT:
            self.say("safety_plan/too_long", limit=ANSWER_LIMIT)
            self.question()
            return
        plan = self.plan or SafetyPlan(made_at=self.now)
        self._set(replace(plan, steps={**plan.steps, at.key: text}))
        self._next(at)

    def _set(self, plan: SafetyPlan) -> None:
        assert self.person is not None
        self.person = replace(self.person, safety_plan=plan)

    def _next(self, at: PlanStep) -> None:
        following = NEXT[at.key]
        if at.editing:
            self._leave()
            self.show("safety_plan/changed")
            self._after_plan()
        elif following is not None:
            self._ask(PlanStep(following))
        else:
            self._leave()
            self.show("safety_plan/saved")
            self._after_plan()

    def _after_plan(self) -> None:
        """Back from the plan: in a crisis, ask gently how they are; otherwise where they were."""
        if self._back_in_crisis():
            self.says.append(Say("grounding/how_now", buttons=g.safe_rows(), typed=YES_NO))
        else:
            self.restate = True

    def _delete(self) -> None:
        assert self.person is not None
        if is_step(self.at):
            self._leave()
        self.person = replace(self.person, safety_plan=None)
        self.say("safety_plan/deleted")
