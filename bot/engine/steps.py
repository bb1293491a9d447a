"""Flow steps as typed values, read from and written back to the text a record stores.

A person's place in the conversation is kept as short text: `Flow.step`, its `history`, `paused_step`
and `checked_from`, and the step a button payload answers ("country", "reason:ready", "suggest:practical",
"n:zone:f:1800", "sp:pros:e", "g:3"). Existing records hold that text, so its format stays exactly as it
is; this module is the only code that reads it (`parse`) or writes it (`str(step)`). The flows work on the
typed values below and never split the text themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.domain import REASONS, Flow, copy_with


class Step:
    """A place in the conversation. `str(step)` is its stored form; `parse` reads it back."""

    __slots__ = ()


@dataclass(frozen=True)
class Named(Step):
    """A step without arguments ("country", "done", "crisis"), or a stored step this version does not know
    (kept as it was, so an old state can be upgraded from it)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class AskReason(Step):
    """The reflection's question about one reason: "did this get in the way?"."""

    reason: str

    def __str__(self) -> str:
        return f"reason:{self.reason}"


@dataclass(frozen=True)
class Suggest(Step):
    """After the ending: "is this reason the main thing?"."""

    reason: str

    def __str__(self) -> str:
        return f"suggest:{self.reason}"


@dataclass(frozen=True)
class Confirm(Step):
    """A story mid-list named a reason: "shall I note it?"."""

    reason: str

    def __str__(self) -> str:
        return f"confirm:{self.reason}"


@dataclass(frozen=True)
class Nudge(Step):
    """A nudge set-up question, carrying what was chosen so far: a rhythm code ("f"), a time ("1800")
    and a zone to confirm, so nothing half-chosen is stored anywhere else."""

    stage: str
    rhythm: str = ""
    at: str = ""
    zone: str = ""

    def __str__(self) -> str:
        parts = [self.stage, self.rhythm, self.at, self.zone]
        while parts and not parts[-1]:
            parts.pop()
        return "n:" + ":".join(parts)


@dataclass(frozen=True)
class PlanStep(Step):
    """A safety plan question: which part, and whether they are changing what they wrote before."""

    key: str
    editing: bool = False

    def __str__(self) -> str:
        return f"sp:{self.key}{':e' if self.editing else ''}"


@dataclass(frozen=True)
class Ground(Step):
    """A step of the grounding exercise (1 to 7)."""

    index: int

    def __str__(self) -> str:
        return f"g:{self.index}"


COUNTRY = Named("country")
ENDING = Named("ending")
ENDING_VALID = Named("ending_valid")
DONE = Named("done")
PAUSED = Named("paused")
CRISIS = Named("crisis")
RISK_CHECK = Named("risk_check")  # a possible sign: one direct question before anything else
HARM_CHECK = Named("harm_check")  # the same, for a possible sign of harm from others: "are you safe?"
CHECKS = frozenset({RISK_CHECK, HARM_CHECK})

HISTORY_KEEP = 20  # steps of history a flow keeps

_BY_REASON = {"reason:": AskReason, "suggest:": Suggest, "confirm:": Confirm}


@lru_cache(maxsize=1024)  # a turn parses the same few texts several times; steps are immutable
def parse(text: str) -> Step:
    """The typed step a stored text names."""
    kind, sep, rest = text.partition(":")
    if not sep:
        return Named(text)
    if kind == "n":
        stage, rhythm, at, zone = [*rest.split(":", 3), "", "", ""][:4]
        return Nudge(stage, rhythm, at, zone)
    if kind == "sp":
        key, _, mode = rest.partition(":")
        return PlanStep(key, mode == "e")
    if kind == "g" and rest.isdigit():
        return Ground(int(rest))
    made = _BY_REASON.get(f"{kind}:")
    if made is not None and rest in REASONS:
        return made(rest)
    return Named(text)


def parse_or_none(text: str | None) -> Step | None:
    """`parse` for the optional steps a flow keeps (`paused_step`, `checked_from`)."""
    return None if text is None else parse(text)


def history(flow: Flow) -> list[Step]:
    """The steps a flow went through, oldest first."""
    return [parse(s) for s in flow.history]


def advance(flow: Flow, to: Step) -> Flow:
    """Move forward, remembering where we were so Back (and a sub-flow's end) can return."""
    return copy_with(flow, step=str(to), history=(*flow.history, flow.step)[-HISTORY_KEEP:])
