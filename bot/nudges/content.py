"""What a nudge says: a template chosen so wording rotates and a person is never asked too much.

Pure: given a schedule and the person's reflection answers, pick the template and its values. In the
spirit of "caring contacts": mostly short notes of care and hope; now and then one tiny step tied to a
reason the person recognised; after a milestone, encouragement for the first sessions; and after several
unanswered nudges, a question about sending fewer instead of any silent change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import REASONS, Schedule, TargetKind

CARE = tuple(f"nudges/care_{i}" for i in range(1, 9))
SESSION = tuple(f"nudges/session_{i}" for i in range(1, 5))
COMMUNITY = tuple(f"nudges/community_{i}" for i in range(1, 5))
RECOGNISED = ("yes", "partly")
STEP = {reason: f"nudges/step_{reason}" for reason in REASONS}
ASK_FEWER = "nudges/ask_fewer"

RECENT_KEEP = 4  # never repeat one of the last this many
ASK_FEWER_AFTER = 3  # unanswered nudges in a row before asking whether to send fewer
STEP_EVERY = 3  # one nudge in this many offers a tiny step (when the person recognised a reason)
MILESTONE_BOOKED = "booked"


@dataclass(frozen=True)
class NudgeContent:
    """A chosen nudge before rendering: template, its values, and whether it asks about sending fewer."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)
    asks_fewer: bool = False


def rotate(pool: Sequence[str], recent: Sequence[str], turn: int) -> str:
    """The next template in `pool`, skipping the ones sent most recently (all but one, for a short pool)."""
    window = min(RECENT_KEEP, len(pool) - 1)
    excluded = set(recent[-window:]) if window > 0 else set()
    candidates = [t for t in pool if t not in excluded] or list(pool)
    return candidates[turn % len(candidates)]


def recognised(answers: Mapping[str, str]) -> list[str]:
    return [r for r in REASONS if answers.get(r) in RECOGNISED]


def choose(schedule: Schedule, answers: Mapping[str, str]) -> NudgeContent:
    """The nudge this schedule gets next."""
    turn = schedule.sent_count
    recent = schedule.recent_templates
    if schedule.target_kind is TargetKind.CHANNEL:
        return NudgeContent(rotate(COMMUNITY, recent, turn))
    if schedule.unanswered >= ASK_FEWER_AFTER and schedule.unanswered % ASK_FEWER_AFTER == 0:
        return NudgeContent(ASK_FEWER, {"rhythm": schedule.rhythm.value}, asks_fewer=True)
    if schedule.milestone == MILESTONE_BOOKED:
        return NudgeContent(rotate(SESSION, recent, turn))
    reasons = recognised(answers)
    if reasons and turn % STEP_EVERY == STEP_EVERY - 1:
        steps = [STEP[r] for r in reasons]
        template = rotate(steps, recent, turn // STEP_EVERY)
        if template not in recent[-RECENT_KEEP:]:
            return NudgeContent(template)
    return NudgeContent(rotate(CARE, recent, turn))


def remember(recent: Sequence[str], template: str) -> tuple[str, ...]:
    """The recent-templates list after sending `template`."""
    return (*recent, template)[-RECENT_KEEP:]
