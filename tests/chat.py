"""A test driver that talks to the engine as a person would: send text, press buttons by label."""

from __future__ import annotations

import itertools

from bot.domain import Button, Incoming, Kind, Outgoing, Who
from bot.engine import Engine

_updates = itertools.count(1)


class Chat:
    def __init__(
        self, engine: Engine, user_id: str = "u1", platform: str = "console", locale: str = "en"
    ) -> None:
        self.engine = engine
        self.who = Who(platform, user_id, user_id)
        self.locale = locale
        self.last: list[Outgoing] = []
        self.buttons: list[Button] = []

    async def _handle(self, event: Incoming) -> list[Outgoing]:
        self.last = await self.engine.handle(event)
        shown = [b for message in self.last for row in message.buttons for b in row]
        if shown:
            self.buttons = shown
        return self.last

    async def send(self, text: str) -> list[Outgoing]:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            event = Incoming(self.who, Kind.COMMAND, command=name, args=args, locale=self.locale)
        else:
            event = Incoming(self.who, Kind.TEXT, text=text, locale=self.locale)
        return await self._handle(event)

    async def press(self, label: str) -> list[Outgoing]:
        button = self.button(label)
        return await self.press_payload(button.payload)

    async def press_payload(self, payload: str, update_key: str | None = None) -> list[Outgoing]:
        event = Incoming(self.who, Kind.BUTTON, payload=payload, locale=self.locale, update_key=update_key)
        return await self._handle(event)

    async def unsupported(self) -> list[Outgoing]:
        return await self._handle(Incoming(self.who, Kind.UNSUPPORTED, locale=self.locale))

    def button(self, label: str) -> Button:
        for button in self.buttons:
            if button.label.lower().startswith(label.lower()):
                return button
        raise AssertionError(f"no button {label!r} among {[b.label for b in self.buttons]}")

    @property
    def text(self) -> str:
        return "\n---\n".join(m.text for m in self.last)

    @property
    def labels(self) -> list[str]:
        return [b.label for m in self.last for row in m.buttons for b in row]


async def reach_plan(chat: Chat, answers: dict[str, str] | None = None) -> list[Outgoing]:
    """Walk the whole reflection: consent, country, ending, the six reasons."""
    answers = answers or {}
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.press(answers.get("country", "Ireland"))
    await chat.press(answers.get("ending", "I stopped going"))
    for reason in ("ready", "rapport", "specialist", "focus", "practice", "practical"):
        await chat.press(answers.get(reason, "Not really"))
    return chat.last


async def go_to(chat: Chat, state: str) -> None:
    """Bring a fresh person to a named point of the conversation."""
    if state == "not started":
        return
    await chat.send("/start")
    if state == "welcome":
        return
    await chat.press("Yes, let's begin")
    if state == "country":
        return
    await chat.press("Ireland")
    if state == "ending":
        return
    if state == "ending_valid":
        await chat.press("I felt better")
        return
    await chat.press("I stopped going")
    reasons = ["ready", "rapport", "specialist", "focus", "practice", "practical"]
    if state.startswith("reason:"):
        for _ in range(reasons.index(state.split(":")[1])):
            await chat.press("Partly")
        return
    if state == "paused":
        await chat.press("Stop for now")
        return
    for _ in reasons:
        await chat.press("Partly")
    if state == "done":
        return
    await chat.press("Yes, set them up")  # the nudge set-up, one step after another
    for step, (kind, value) in NUDGE_STEPS:
        if state == step:
            return
        await (chat.press(value) if kind == "press" else chat.send(value))
    assert state == "nudges:confirm_zone", f"unknown state {state!r}"


NUDGE_STEPS = [  # each step of the nudge set-up, and what moves a person past it
    ("nudges:often", ("press", "Every day")),
    ("nudges:time", ("press", "18:00")),
    ("nudges:zone", ("press", "I'll tell you my time instead")),
    ("nudges:clock", ("send", "14:35")),
]
