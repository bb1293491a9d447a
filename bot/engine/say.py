"""What flow steps return: unrendered replies (`Say`) with choices, and the button payload format."""

from __future__ import annotations

from bot.domain import Choice, Say
from bot.engine.steps import Step

__all__ = ["ANY_STEP", "FLOW_VERSION", "YES_NO", "Choice", "Say", "parse_payload", "payload"]

FLOW_VERSION = 1
ANY_STEP = "*"
YES_NO = ("yes", "no")
"""`Say.typed` of a question whose two buttons are a yes and a no: a typed "yes" or "no" presses one."""


def payload(step: Step | str, value: str) -> str:
    """A short opaque token: flow version, the step it answers (or `ANY_STEP`), and the value (≤ 64 bytes)."""
    return f"{FLOW_VERSION}|{step}|{value}"


def parse_payload(data: str) -> tuple[int, str, str] | None:
    """Split a payload; None when it is not one of ours."""
    parts = data.split("|")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1], parts[2]
