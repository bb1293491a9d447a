"""The reflection: how therapy ended, the reasons it may have stalled, and the plan to try again.

Pure data and functions: which step follows which, what each step asks, what the plan holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain import Flow, Person
from bot.engine.say import ANY_STEP, Choice, Say, payload
from bot.knowledge.routes import routes_for

COUNTRY_STEP = "country"
ENDING_STEP = "ending"
ENDING_VALID_STEP = "ending_valid"
DONE_STEP = "done"
PAUSED_STEP = "paused"
CRISIS_STEP = "crisis"
RISK_CHECK_STEP = "risk_check"  # a possible sign: one direct question before anything else

COUNTRIES = ("US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "ES", "MX", "IN")
ENDINGS = ("stopped", "therapist_ended", "ran_out", "felt_better", "on_my_own", "unsure")
VALID_ENDINGS = ("felt_better", "on_my_own")  # endings to respect, not to fix
REASONS = ("ready", "rapport", "specialist", "focus", "practice", "practical")
ANSWERS = ("yes", "partly", "no", "unsure")
RECOGNISED = ("yes", "partly")

ENDING_REASON = {"ran_out": "practical"}
"""An ending that already names a reason: the reflection suggests it instead of asking the whole list."""
ROUTED_REASONS = ("practical", "specialist")
"""Reasons whose next steps include the verified routes in the person's country."""

REASON_STEPS = tuple(f"reason:{r}" for r in REASONS)
SUGGEST_STEPS = tuple(f"suggest:{r}" for r in REASONS)  # after the ending: "is this the main thing?"
CONFIRM_STEPS = tuple(f"confirm:{r}" for r in REASONS)  # a story mid-list named a reason: "shall I note it?"
QUESTION_STEPS = (COUNTRY_STEP, ENDING_STEP, ENDING_VALID_STEP, *REASON_STEPS, *SUGGEST_STEPS, *CONFIRM_STEPS)


def suggested(step: str) -> str:
    """The reason a suggestion step puts forward ("suggest:practical" -> "practical")."""
    return REASONS[SUGGEST_STEPS.index(step)]


def is_question(step: str | None) -> bool:
    return step in QUESTION_STEPS


def nav_row(step: str, *, back: bool = True, skip: bool = True) -> tuple[Choice, ...]:
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


def question(step: str) -> Say:
    """The question a step asks, with its buttons."""
    if step == COUNTRY_STEP:
        return Say("ask_country", buttons=country_choices())
    if step == ENDING_STEP:
        rows = tuple((Choice(f"ending_{e}", payload(step, e)),) for e in ENDINGS)
        return Say("ask_ending", buttons=(*rows, nav_row(step)))
    if step == ENDING_VALID_STEP:
        return Say(
            "ending_valid",
            buttons=(
                (Choice("look_through", payload(step, "look")),),
                (Choice("straight_to_plan", payload(step, "plan")),),
                nav_row(step, skip=False),
            ),
        )
    if step in SUGGEST_STEPS or step in CONFIRM_STEPS:
        kind, reason = step.split(":", 1)
        values = ("main", "more", "no") if kind == "suggest" else ("yes", "no")
        rows = tuple((Choice(f"{kind}_{v}", payload(step, v)),) for v in values)
        return Say(f"{kind}_reason", values={"reason": reason}, buttons=(*rows, nav_row(step, skip=False)))
    if step in REASON_STEPS:
        reason = step.split(":", 1)[1]
        answers = [Choice(f"answer_{a}", payload(step, a)) for a in ANSWERS]
        number = REASONS.index(reason) + 1
        return Say(
            f"reasons/{reason}",
            values={"number": number, "total": len(REASONS)},
            buttons=(tuple(answers[:2]), tuple(answers[2:]), nav_row(step)),
        )
    raise ValueError(f"{step} asks nothing")


def advance(flow: Flow, to: str) -> Flow:
    """Move forward, remembering where we were so Back can return."""
    return replace(flow, step=to, history=(*flow.history, flow.step)[-20:])


def after_ending(flow: Flow, named: str | None = None) -> str:
    """What follows the ending: respect a valid one; suggest a reason the answer already names
    (`named`, read from their words, or the ending itself); else the whole list."""
    if flow.ending in VALID_ENDINGS:
        return ENDING_VALID_STEP
    reason = named or ENDING_REASON.get(flow.ending or "")
    return f"suggest:{reason}" if reason in REASONS else REASON_STEPS[0]


def origin(flow: Flow) -> str:
    """The question a suggestion or confirmation was asked from (the last question before it)."""
    return next((s for s in reversed(flow.history) if is_question(s)), ENDING_STEP)


def _settled(flow: Flow | None, step: str) -> bool:
    """A reason they already said yes to when it was suggested: not asked again in the list."""
    if flow is None:
        return False
    reason = step.split(":", 1)[1]
    return flow.answers.get(reason) == "yes" and f"suggest:{reason}" in (*flow.history, flow.step)


def first_reason(flow: Flow | None = None) -> str:
    """The first reason question to ask (the suggested reason they confirmed is left out)."""
    return next((s for s in REASON_STEPS if not _settled(flow, s)), REASON_STEPS[0])


def after_reason(step: str, flow: Flow | None = None) -> str | None:
    """The reason question after `step` (leaving out a confirmed suggestion); None after the last."""
    index = REASON_STEPS.index(step)
    return next((s for s in REASON_STEPS[index + 1 :] if not _settled(flow, s)), None)


def go_back(flow: Flow) -> Flow:
    """Return to the previous question; at the first question, stay."""
    history = list(flow.history)
    while history:
        previous = history.pop()
        if is_question(previous):
            return replace(flow, step=previous, history=tuple(history))
    return flow


def fresh_flow(flow: Flow) -> Flow:
    """A reflection started over: answers cleared, at the first question about therapy."""
    return replace(
        flow, step=ENDING_STEP, ending=None, answers={}, history=(), paused_step=None, checked_from=None
    )


def plan_values(person: Person) -> dict[str, Any]:
    answers = person.flow.answers
    recognised = [r for r in REASONS if answers.get(r) in RECOGNISED]
    return {
        "recognised": recognised,
        "routes": {
            r: routes_for(person.country, r, person.locale) if r in recognised else [] for r in ROUTED_REASONS
        },
        "partly": [r for r in REASONS if answers.get(r) == "partly"],
        "unsure": [r for r in REASONS if answers.get(r) == "unsure"],
        "ending": person.flow.ending or "",
        "valid_ending": person.flow.ending in VALID_ENDINGS,
        "has_note": bool(person.note),
        "note": person.note or "",
    }


NOTE_BUTTON = ((Choice("therapist_note", payload(ANY_STEP, "tnote")),),)
"""Under the plan shown by /plan: the note for a new therapist, as a file."""


def plan(person: Person, *, offer_note: bool = False) -> list[Say]:
    """The plan to try again, in two short messages: what you found and next steps; questions to ask
    (with the offer of a note for a new therapist when `offer_note`)."""
    values = plan_values(person)
    found = [route for reason in ROUTED_REASONS for route in values["routes"][reason]]
    first: dict[str, Any] = {}
    for route in found:  # a route serving both reasons is listed once
        first.setdefault(route.name, route)
    routes = list(first.values())[:3]
    extra = [Say("plan_routes", values={"routes": routes})] if routes else []
    questions = Say("plan_questions", values=values, buttons=NOTE_BUTTON if offer_note else ())
    return [Say("plan", values=values), *extra, questions]


def finish(person: Person, now: datetime) -> Person:
    return replace(
        person,
        plan_at=now,
        flow=replace(advance(person.flow, DONE_STEP), paused_step=None),
    )
