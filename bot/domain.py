"""The vocabulary every layer shares: who is talking, what came in, what goes out, what is stored.

Nothing here does I/O or knows a platform library. Engine, store and adapters all speak these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

R = TypeVar("R")

REASONS = ("ready", "rapport", "specialist", "focus", "practice", "practical")
"""The reasons the reflection asks about, in the order it asks them. The one list: the reflection, the
nudges' tiny steps, the routes and the words that name a reason all read it (their words are in
messages/<locale>/)."""
ENDINGS = ("stopped", "therapist_ended", "ran_out", "felt_better", "on_my_own", "unsure")
"""How therapy ended, as the reflection's first question offers it (the one list)."""
ANSWERS = ("yes", "partly", "no", "unsure")
"""The answers each reason's question offers (the one list)."""


def copy_with(record: R, **changes: Any) -> R:
    """`dataclasses.replace` for the frozen records below, at about a third of its cost (a turn makes
    several, on its hot path).

    The same result: none of these records has `__post_init__`, an init-only field or slots, so a copy
    of its fields with `changes` over them is what `replace` builds. An unknown field is a TypeError.
    """
    fields = record.__dict__
    if not changes.keys() <= fields.keys():
        raise TypeError(f"{type(record).__name__} has no field {sorted(changes.keys() - fields.keys())}")
    copied = object.__new__(type(record))
    copied.__dict__.update(fields)
    copied.__dict__.update(changes)
    return copied


class Markup(StrEnum):
    """How a platform wants text escaped."""

    PLAIN = "plain"
    HTML = "html"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class UserKey:
    """A person, as one platform identifies them."""

    platform: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Who:
    """The person and the chat a message came from (and where replies go)."""

    platform: str
    user_id: str
    chat_id: str

    @property
    def key(self) -> UserKey:
        return UserKey(self.platform, self.user_id)


class Kind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    COMMAND = "command"
    UNSUPPORTED = "unsupported"  # a photo, sticker, voice note, file, location… (text: any caption)
    EDITED = "edited"  # an edit of an earlier message (text: the new wording)


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: text, a button, a command, or something we can't read."""

    who: Who
    kind: Kind
    text: str = ""  # free text (never stored, never logged)
    command: str = ""  # command name without the slash, lower case
    args: str = ""  # text after the command (e.g. a deep-link payload)
    payload: str = ""  # opaque button token
    locale: str = "en"
    private: bool = True  # False in a group or public channel
    update_key: str | None = None  # the platform's delivery id, for at-most-once handling


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Attachment:
    """A file to send where the platform takes files (the /mydata export)."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """One rendered reply: escaped text for the target, buttons in rows, and where it may be shown."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    private: bool = True
    attachment: Attachment | None = None
    urgent: bool = False  # a crisis reply: jumps the chat's send queue; stale queued replies are dropped

    @property
    def payloads(self) -> list[str]:
        return [b.payload for row in self.buttons for b in row]


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
    typed: tuple[str, ...] = ()  # the plain answers its buttons stand for, in order: ("yes", "no")

    def choices(self) -> list[Choice]:
        return [choice for row in self.buttons for choice in row]


class Delivery(StrEnum):
    """What became of one send."""

    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot, closed DMs, chat gone: stop sending
    FAILED = "failed"  # a temporary failure after retries: try again later


class Sender(Protocol):
    """Sends a message outside a conversation turn (nudges, community posts)."""

    platform: str

    async def send(self, chat_id: str, message: Outgoing) -> Delivery: ...


class Renderer(Protocol):
    """Turns unrendered replies into text and buttons for one platform (the engine is one)."""

    def render(self, says: list[Say], platform: str, locale: str) -> list[Outgoing]: ...


@dataclass(frozen=True)
class Flow:
    """Where a person is in the conversation. Stored as JSON; `version` lets us recover from old shapes."""

    version: int
    step: str = "new"
    ending: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    paused_step: str | None = None  # the step a crisis reply or a pause interrupted
    checked_from: str | None = None  # the step a check question ("thoughts of ending your life?") interrupted
    offered: tuple[tuple[str, str, str], ...] = ()  # (plain answer, label, payload): the question just asked

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "step": self.step,
            "ending": self.ending,
            "answers": dict(self.answers),
            "history": list(self.history),
            "paused_step": self.paused_step,
            "checked_from": self.checked_from,
            "offered": [list(button) for button in self.offered],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Flow:
        return cls(
            version=int(data.get("version", 0)),
            step=str(data.get("step", "new")),
            ending=data.get("ending"),
            answers={str(k): str(v) for k, v in (data.get("answers") or {}).items()},
            history=tuple(data.get("history") or ()),
            paused_step=data.get("paused_step"),
            checked_from=data.get("checked_from"),
            offered=tuple(
                (str(said), str(label), str(sent)) for said, label, sent in data.get("offered") or []
            ),
        )


@dataclass(frozen=True)
class SafetyPlan:
    """A person's own safety plan: the one place their typed words are kept, because they asked.

    `steps` maps a step name (warning, coping, distract, people, pros, safer) to what they wrote;
    `with_lines` keeps their country's helplines in the "professionals and services" step.
    """

    steps: dict[str, str] = field(default_factory=dict)
    with_lines: bool = True
    made_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": dict(self.steps),
            "with_lines": self.with_lines,
            "made_at": self.made_at.isoformat() if self.made_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SafetyPlan:
        made = data.get("made_at")
        return cls(
            steps={str(k): str(v) for k, v in (data.get("steps") or {}).items()},
            with_lines=bool(data.get("with_lines", True)),
            made_at=datetime.fromisoformat(made) if made else None,
        )


@dataclass(frozen=True)
class Person:
    """Everything stored about one person, except their nudge schedules."""

    key: UserKey
    chat_id: str
    locale: str
    flow: Flow
    created_at: datetime
    last_seen_at: datetime
    country: str | None = None
    youth: bool = False
    consented_at: datetime | None = None
    plan_at: datetime | None = None
    note: str | None = None
    safety_plan: SafetyPlan | None = None


class Rhythm(StrEnum):
    DAILY = "daily"
    FEW_WEEKLY = "few_weekly"  # Monday, Wednesday, Friday
    WEEKLY = "weekly"
    TAPERING = "tapering"  # daily for a week, then a few times a week, then weekly


class TargetKind(StrEnum):
    PERSON = "person"
    CHANNEL = "channel"
    FOLLOWUP = "followup"  # a one-off check-in the day after a crisis reply, asked for by the person


@dataclass(frozen=True)
class Schedule:
    """A nudge schedule: a person's encouragement, or a community channel's weekly post."""

    platform: str
    target_kind: TargetKind
    target_id: str  # user id for a person, channel id for a channel
    chat_id: str
    rhythm: Rhythm
    local_time: str  # "HH:MM"
    timezone: str  # IANA name
    next_due_at: datetime | None  # UTC; None while paused indefinitely
    quiet_start: str = "21:00"
    quiet_end: str = "09:00"
    locale: str = "en"
    created_at: datetime | None = None
    paused_until: datetime | None = None
    unanswered: int = 0
    sent_count: int = 0
    recent_templates: tuple[str, ...] = ()
    milestone: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class UserData:
    """A person's record plus their own nudge schedule and check-in: what one turn loads and saves."""

    person: Person | None = None
    schedule: Schedule | None = None
    followup: Schedule | None = None  # the check-in after a crisis reply (target_kind FOLLOWUP)
