"""The reflection: how therapy ended, the reasons it may have stalled, and the plan to try again.

Pure data and functions: which step follows which, what each step asks, what the plan holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.domain import ANSWERS, ENDINGS, REASONS, Flow, Person, copy_with
from bot.engine.say import ANY_STEP, Choice, Say, payload
from bot.engine.steps import (
    COUNTRY,
    DONE,
    ENDING,
    ENDING_VALID,
    AskReason,
    Confirm,
    Step,
    Suggest,
    advance,
    history,
    parse,
)
from bot.knowledge.routes import Route, routes_for

COUNTRIES = ("US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "ES", "MX", "IN")
VALID_ENDINGS = ("felt_better", "on_my_own")  # endings to respect, not to fix
RECOGNISED = ("yes", "partly")

ENDING_REASON = {"ran_out": "practical"}
"""An ending that already names a reason: the reflection suggests it instead of asking the whole list."""
ROUTED_REASONS = ("practical", "specialist")
"""Reasons whose next steps include the verified routes in the person's country."""

REASON_STEPS: tuple[AskReason, ...] = tuple(AskReason(r) for r in REASONS)
SUGGEST_STEPS: tuple[Suggest, ...] = tuple(Suggest(r) for r in REASONS)  # after the ending: "the main thing?"
CONFIRM_STEPS: tuple[Confirm, ...] = tuple(Confirm(r) for r in REASONS)  # a story named a reason: "note it?"
QUESTION_STEPS: tuple[Step, ...] = (
    COUNTRY,
    ENDING,
    ENDING_VALID,
    *REASON_STEPS,
    *SUGGEST_STEPS,
    *CONFIRM_STEPS,
)


def is_question(step: Step | None) -> bool:
    return step in QUESTION_STEPS


def nav_row(step: Step, *, back: bool = True, skip: bool = True) -> tuple[Choice, ...]:
    row = []
    if back:
        row.append(Choice("back", payload(step, "back")))
    if skip:
        row.append(Choice("skip", payload(step, "skip")))
    row.append(Choice("stop", payload(step, "stop")))
    return tuple(row)


def country_choices() -> tuple[tuple[Choice, ...], ...]:
    buttons = [Choice(f"country_{c}", payload(ANY_STEP, f"country.{c}")) for c in COUNTRIES]
    rows = [tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3)]
    rows.append(
        (
            Choice("country_other", payload(ANY_STEP, "country.other")),
            Choice("skip", payload(ANY_STEP, "country.skip")),
        )
    )
    return tuple(rows)


@lru_cache(maxsize=64)  # the reflection's questions are fewer; each is the same reply every time
def question(step: Step) -> Say:
    """The question a step asks, with its buttons (built once per step: a `Say` is immutable)."""
    if step == COUNTRY:
        return Say("ask_country", buttons=country_choices())
    if step == ENDING:
        rows = tuple((Choice(f"ending_{e}", payload(step, e)),) for e in ENDINGS)
        return Say("ask_ending", buttons=(*rows, nav_row(step)))
    if step == ENDING_VALID:
        return Say(
            "ending_valid",
            buttons=(
                (Choice("look_through", payload(step, "look")),),
                (Choice("straight_to_plan", payload(step, "plan")),),
                nav_row(step, skip=False),
            ),
        )
    if isinstance(step, Suggest | Confirm):
        kind = "suggest" if isinstance(step, Suggest) else "confirm"
        rows = tuple((Choice(f"{kind}_{v}", payload(step, v)),) for v in TRANSITIONS[type(step)].takes)
        return Say(
            f"{kind}_reason", values={"reason": step.reason}, buttons=(*rows, nav_row(step, skip=False))
        )
    if isinstance(step, AskReason):
        answers = [Choice(f"answer_{a}", payload(step, a)) for a in ANSWERS]
        number = REASONS.index(step.reason) + 1
        return Say(
            f"reasons/{step.reason}",
            values={"number": number, "total": len(REASONS)},
            buttons=(tuple(answers[:2]), tuple(answers[2:]), nav_row(step)),
        )
    raise ValueError(f"{step} asks nothing")


def after_ending(flow: Flow, named: str | None = None) -> Step:
    """What follows the ending: respect a valid one; suggest a reason the answer already names
    (`named`, read from their words, or the ending itself); else the whole list."""
    if flow.ending in VALID_ENDINGS:
        return ENDING_VALID
    reason = named or ENDING_REASON.get(flow.ending or "")
    return Suggest(reason) if reason in REASONS else REASON_STEPS[0]


def origin(flow: Flow) -> Step:
    """The question a suggestion or confirmation was asked from (the last question before it)."""
    return next((s for s in reversed(history(flow)) if is_question(s)), ENDING)


def _settled(flow: Flow | None, step: AskReason) -> bool:
    """A reason they already said yes to when it was suggested: not asked again in the list."""
    if flow is None:
        return False
    been = (*history(flow), parse(flow.step))
    return flow.answers.get(step.reason) == "yes" and Suggest(step.reason) in been


def first_reason(flow: Flow | None = None) -> AskReason:
    """The first reason question to ask (the suggested reason they confirmed is left out)."""
    return next((s for s in REASON_STEPS if not _settled(flow, s)), REASON_STEPS[0])


def after_reason(step: AskReason, flow: Flow | None = None) -> AskReason | None:
    """The reason question after `step` (leaving out a confirmed suggestion); None after the last."""
    index = REASON_STEPS.index(step)
    return next((s for s in REASON_STEPS[index + 1 :] if not _settled(flow, s)), None)


def go_back(flow: Flow) -> Flow:
    """Return to the previous question; at the first question, stay."""
    steps = list(flow.history)
    while steps:
        previous = steps.pop()
        if is_question(parse(previous)):
            return replace(flow, step=previous, history=tuple(steps))
    return flow


def fresh_flow(flow: Flow) -> Flow:
    """A reflection started over: answers cleared, at the first question about therapy."""
    return replace(
        flow, step=str(ENDING), ending=None, answers={}, history=(), paused_step=None, checked_from=None
    )


# ---- the transition table -----------------------------------------------------------------------
# The reflection in order: country (its buttons are global: any choice moves on to the ending), the
# ending, then the reasons one by one, then the plan. What each answer leads to is the table below; Back
# (to the previous question) and Stop (a pause) work the same at every question.

Then = Callable[[Flow, Any, str, str | None], tuple[Flow, Step | None]]
"""(flow, the step answered, the value, a reason their words named) -> (the flow with the answer kept,
the next question; None: the plan is ready)."""


@dataclass(frozen=True)
class Rule:
    """What one kind of reflection question takes and where each answer leads."""

    takes: tuple[str, ...]  # the values its buttons send
    then: Then
    plain: Mapping[str, str] | None = None  # what a plain yes / partly / no / unsure means here
    # (None: the plain words are matched against `takes` themselves)


def _ending(flow: Flow, _step: Step, value: str, named: str | None) -> tuple[Flow, Step | None]:
    flow = replace(flow, ending=value if value in ENDINGS else None)
    return flow, after_ending(flow, named)


def _ending_valid(flow: Flow, _step: Step, value: str, _named: str | None) -> tuple[Flow, Step | None]:
    return flow, REASON_STEPS[0] if value == "look" else None


def _suggested(flow: Flow, step: Suggest, value: str, _named: str | None) -> tuple[Flow, Step | None]:
    if value != "no":
        flow = replace(flow, answers={**flow.answers, step.reason: "yes"})
    return flow, None if value == "main" else first_reason(flow)


def _confirmed(flow: Flow, step: Confirm, value: str, _named: str | None) -> tuple[Flow, Step | None]:
    if flow.history and parse(flow.history[-1]) == DONE:  # told after the plan: yes makes it again
        return (
            (replace(flow, answers={**flow.answers, step.reason: "yes"}), None)
            if value == "yes"
            else (flow, DONE)
        )
    nxt: Step | None = origin(flow)
    if value == "yes":
        flow = replace(flow, answers={**flow.answers, step.reason: "yes"})
        if nxt == AskReason(step.reason):
            nxt = after_reason(AskReason(step.reason), flow)
    return flow, nxt


def _answered(flow: Flow, step: AskReason, value: str, _named: str | None) -> tuple[Flow, Step | None]:
    answers = {k: v for k, v in flow.answers.items() if k != step.reason}
    if value != "skip":
        answers[step.reason] = value
    flow = copy_with(flow, answers=answers)
    return flow, after_reason(step, flow)


TRANSITIONS: dict[object, Rule] = {
    ENDING: Rule((*ENDINGS, "skip"), _ending),
    ENDING_VALID: Rule(("look", "plan"), _ending_valid),
    Suggest: Rule(
        ("main", "more", "no"), _suggested, {"yes": "main", "partly": "more", "no": "no", "unsure": "no"}
    ),
    Confirm: Rule(("yes", "no"), _confirmed, {"yes": "yes", "partly": "yes", "no": "no", "unsure": "no"}),
    AskReason: Rule((*ANSWERS, "skip"), _answered),
}
"""Keyed by a step, or by the kind of step (one rule for every reason)."""


def rule(step: Step | None) -> Rule | None:
    """The rule of a reflection question (None at any other step)."""
    if not is_question(step):
        return None
    return TRANSITIONS.get(step) or TRANSITIONS.get(type(step))


def plan_values(person: Person) -> dict[str, Any]:
    answers = person.flow.answers
    recognised = [r for r in REASONS if answers.get(r) in RECOGNISED]
    return {
        "recognised": recognised,
        "partly": [r for r in REASONS if answers.get(r) == "partly"],
        "unsure": [r for r in REASONS if answers.get(r) == "unsure"],
        "ending": person.flow.ending or "",
        "valid_ending": person.flow.ending in VALID_ENDINGS,
        "has_note": bool(person.note),
        "note": person.note or "",
    }


NOTE_BUTTON = ((Choice("therapist_note", payload(ANY_STEP, "tnote")),),)
"""Under the plan shown by /plan: the note for a new therapist, as a file."""


def plan_routes(person: Person) -> list[Route]:
    """The first three verified routes in the person's country for the reasons they recognised
    (a route serving two of them listed once)."""
    answers = person.flow.answers
    first: dict[str, Route] = {}
    for reason in ROUTED_REASONS:
        if answers.get(reason) in RECOGNISED:
            for route in routes_for(person.country, reason, person.locale):
                first.setdefault(route.name, route)
    return list(first.values())[:3]


def plan(person: Person, *, offer_note: bool = False) -> list[Say]:
    """The plan to try again, in two short messages: what you found and next steps; questions to ask
    (with the offer of a note for a new therapist when `offer_note`)."""
    values = plan_values(person)
    routes = plan_routes(person)
    extra = [Say("plan_routes", values={"routes": routes})] if routes else []
    questions = Say("plan_questions", values=values, buttons=NOTE_BUTTON if offer_note else ())
    return [Say("plan", values=values), *extra, questions]


def finish(person: Person, now: datetime) -> Person:
    return replace(
        person,
        plan_at=now,
        flow=replace(advance(person.flow, DONE), paused_step=None),
    )
