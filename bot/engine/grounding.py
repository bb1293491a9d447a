"""A short grounding exercise offered in a crisis reply: 5-4-3-2-1 senses, then slow breathing.

Pure data and functions. Each step is one short message with Next and Stop. The buttons are global and
carry the index of the step they lead to (`*|g.3`), so the exercise works for someone with nothing stored
(they have not agreed to anything yet) and after a restart; for a person, the step they are at is also kept
in the flow (`g:3`), so a typed message gets the same step again rather than a dead end.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain import Flow
from bot.engine.say import ANY_STEP, YES_NO, Choice, Say, payload
from bot.engine.steps import DONE, Ground, Step, advance, parse

STEPS = 7  # messages/<locale>/grounding/step_1.j2 … step_7.j2
START = f"g.{1}"  # the button value that begins the exercise


def is_step(step: Step | None) -> bool:
    return isinstance(step, Ground)


SAFE_MEANINGS = {"yes": "safe", "safe": "safe", "no": "not_safe", "not_safe": "not_safe"}
"""A plain reply to "are you safe right now?": yes or "I'm fine" is safe, no or "I'm not ok" is not
("kind of" asks again)."""


def safe_rows() -> tuple[tuple[Choice, ...], ...]:
    """The gentle question's answers: safe now, or not safe."""
    return (
        (Choice("safe_now", payload(ANY_STEP, "safe")),),
        (Choice("not_safe", payload(ANY_STEP, "not_safe")),),
    )


def start_choice() -> Choice:
    return Choice("grounding_start", payload(ANY_STEP, START))


def step_say(index: int) -> Say:
    """One step of the exercise, with Next (to the following step) and Stop."""
    return Say(
        f"grounding/step_{index}",
        values={"number": index, "total": STEPS},
        buttons=(
            (
                Choice("grounding_next", payload(ANY_STEP, f"g.{index + 1}")),
                Choice("grounding_stop", payload(ANY_STEP, "g.stop")),
            ),
        ),
    )


def question(step: Ground) -> Say:
    """The step a person is at, asked again."""
    return step_say(min(max(step.index, 1), STEPS))


def choices(step: Ground) -> list[Choice]:
    return question(step).choices()


def press(flow: Flow | None, arg: str) -> tuple[Flow | None, list[Say]]:
    """A grounding button: the step it names, or (after the last step, or Stop) how they are now."""
    if arg.isdigit() and 1 <= int(arg) <= STEPS:
        step = Ground(int(arg))
        if flow is not None:
            at = parse(flow.step)
            flow = replace(flow, step=str(step)) if is_step(at) else advance(flow, step)
        return flow, [step_say(int(arg))]
    finished = arg.isdigit() and int(arg) == STEPS + 1
    if flow is not None and is_step(parse(flow.step)):
        flow = leave(flow)
    template = "grounding/done" if finished else "grounding/stopped"
    return flow, [Say(template, buttons=safe_rows(), typed=YES_NO)]


def leave(flow: Flow) -> Flow:
    """Back to the step the exercise was started from (the crisis step, usually)."""
    history = list(flow.history)
    back = str(DONE)
    while history:
        previous = history.pop()
        if not is_step(parse(previous)):
            back = previous
            break
    return replace(flow, step=back, history=tuple(history))
