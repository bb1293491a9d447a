"""What flow steps return: unrendered replies (`Say`) with choices, and the button payload format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FLOW_VERSION = 1
ANY_STEP = "*"


@dataclass(frozen=True)
class Choice:
    """A button: a label key from `labels.toml` and the opaque payload it sends back."""

    label: str
    payload: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    """A reply before rendering: a template name, its values, and buttons in rows."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Choice, ...], ...] = ()
    attachment: tuple[str, bytes] | None = None  # (filename, content)
    urgent: bool = False  # a crisis reply: sent before anything still waiting for this chat

    def choices(self) -> list[Choice]:
        return [choice for row in self.buttons for choice in row]


def payload(step: str, value: str) -> str:
    """A short opaque token: flow version, the step it answers, and the value (≤ 64 bytes)."""
    return f"{FLOW_VERSION}|{step}|{value}"


def parse_payload(data: str) -> tuple[int, str, str] | None:
    """Split a payload; None when it is not one of ours."""
    parts = data.split("|")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1], parts[2]
