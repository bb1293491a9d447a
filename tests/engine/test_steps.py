"""The typed steps read and write exactly the text records already hold, so existing databases keep
working; and each flow's order is the one its table says."""

from __future__ import annotations

import pytest

from bot.domain import REASONS, Flow
from bot.engine import nudging as n
from bot.engine import reflection as r
from bot.engine import safety_plan as sp
from bot.engine.steps import (
    CRISIS,
    DONE,
    ENDING,
    AskReason,
    Confirm,
    Ground,
    Named,
    Nudge,
    PlanStep,
    Suggest,
    parse,
)

STORED = [
    "new", "country", "ending", "ending_valid", "done", "paused", "crisis", "risk_check", "harm_check",
    "reason:ready", "suggest:practical", "confirm:rapport",
    "n:offer", "n:often", "n:quiet", "n:time:f", "n:zone:f:1800", "n:clock:d:0930",
    "n:zok:t:1800:America/Argentina/Buenos_Aires", "n:zok:w:2000:Etc/GMT-14",
    "sp:warning", "sp:pros:e", "g:1", "g:7",
    "legacy-step", "reason:unknown", "g:x",
]  # fmt: skip


@pytest.mark.parametrize("text", STORED)
def test_every_stored_step_is_written_back_exactly_as_it_was_read(text: str) -> None:
    assert str(parse(text)) == text


def test_steps_read_as_their_kind() -> None:
    assert parse("reason:ready") == AskReason("ready")
    assert parse("suggest:practical") == Suggest("practical")
    assert parse("confirm:focus") == Confirm("focus")
    assert parse("n:zok:t:1800:Europe/Berlin") == Nudge("zok", "t", "1800", "Europe/Berlin")
    assert parse("sp:pros:e") == PlanStep("pros", editing=True)
    assert parse("g:3") == Ground(3)
    assert parse("crisis") == CRISIS
    assert parse("reason:unknown") == Named("reason:unknown")  # not a question this version asks


def test_the_reflection_asks_every_reason_in_the_one_order() -> None:
    flow = Flow(version=1, step=str(ENDING))
    asked, at = [], r.first_reason(flow)
    while at is not None:
        asked.append(at.reason)
        at = r.after_reason(at, flow)
    assert tuple(asked) == REASONS
    rule = r.rule(AskReason("practical"))
    assert rule is not None
    assert rule.then(flow, AskReason("practical"), "yes", None)[1] is None  # the last: the plan


def test_the_nudge_set_up_goes_through_its_table_to_saving() -> None:
    stage, path = "often", ["often"]
    for given in ("rhythm", "time", "clock", "zone", "yes"):
        stage = n.SETUP[(stage, given)]
        path.append(stage)
    assert path == ["often", "time", "zone", "clock", "zok", n.SAVE]


def test_the_safety_plan_asks_its_parts_in_order() -> None:
    key: str | None = sp.STEPS[0]
    asked = []
    while key is not None:
        asked.append(key)
        key = sp.NEXT[key]
    assert tuple(asked) == sp.STEPS
    assert str(PlanStep(sp.STEPS[0])) == "sp:warning" and str(DONE) == "done"
