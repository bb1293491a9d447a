"""Buttons: a payload checked against the step it answers, the global buttons, and the answers that move
the reflection on (read from its transition table, `reflection.TRANSITIONS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.engine import nudging as n
from bot.engine import reflection as r
from bot.engine import safety_plan as sp
from bot.engine.commands import Commands
from bot.engine.say import ANY_STEP, FLOW_VERSION, YES_NO, Choice, parse_payload, payload
from bot.engine.steps import CRISIS, DONE, ENDING, PAUSED, Step, advance, parse_or_none


class Buttons(Commands):
    """A turn that answers buttons (and commands)."""

    def button(self, _text: str) -> None:
        """The button the event's payload names: global, or an answer to the step the person is at."""
        parsed = parse_payload(self.event.payload)
        if parsed is None or parsed[0] != FLOW_VERSION:
            self.say("stale_button")
            self.restate()
            return
        _, step_, value = parsed
        if step_ == ANY_STEP:
            self._global_button(value)
        elif self.person is None or step_ != self.flow.step:
            self.say("stale_button")
            self.restate()
        else:
            self._answer(self.at, value)

    def _global_button(self, value: str) -> None:
        """A button that works at any step (`*|action.arg`), pressed now or days later."""
        action, _, arg = value.partition(".")
        for_anyone: dict[str, Callable[[str], None]] = {
            "consent": lambda _: self._consent(),
            "privacy": lambda _: self._privacy(),
            "forget_yes": lambda _: self._forget(),
            "forget_no": lambda _: self._kept(),
            "safe": lambda _: self._safe(),
            "check": self._risk_answer,
            "not_safe": lambda _: self._care(lambda care: care.not_safe()),
            "g": lambda arg: self._care(lambda care: care.grounding(arg)),
            "sp": lambda arg: self._care(lambda care: care.button(arg)),
            "fu": lambda arg: self._care(lambda care: care.followup_button(arg)),
            "n": self._nudge_button,
        }
        for_a_person: dict[str, Callable[[str], None]] = {
            "country": self._country,
            "resume": lambda _: self._resume(),
            "start_over": self._restart,
            "not_now": lambda _: self._not_now(),
            "tnote": lambda _: self._therapist_note(),
        }
        if action in for_anyone:
            for_anyone[action](arg)
        elif self.person is None:
            self.say("start_hint")
        elif action in for_a_person:
            for_a_person[action](arg)
        else:
            self.say("stale_button")
            self.restate()

    def _consent(self) -> None:
        if self.person is not None:
            self.say("already_started")
            self.restate()
            return
        self.person = self._new_person()
        self.say("consent_thanks")
        self.restate()

    def _privacy(self) -> None:
        self.say("privacy", retention_days=self.ctx.retention_days)
        if self.person is None:
            self._welcome()

    def _forget(self) -> None:
        self.forget = self.person is not None or self.data.schedule is not None
        self.say("forgotten" if self.forget else "forget_nothing")

    def _kept(self) -> None:
        self.say("forget_kept")
        self.restate()

    def _nudge_button(self, arg: str) -> None:
        if self.person is None:
            self.say("nudges/stale", stopped=arg == "stop")
        else:
            self._nudging(lambda nudges: nudges.button(arg))

    def _safe(self) -> None:
        if self.person is None or self.at != CRISIS:
            self.say("crisis_safe", resumable=False)
            return
        resumable = r.is_question(parse_or_none(self.flow.paused_step))
        if not resumable:
            self.say("crisis_safe", resumable=False)
            self._set_flow(replace(self.flow, step=self.flow.paused_step or str(DONE), paused_step=None))
            return
        self.say(
            "crisis_safe",
            resumable=True,
            buttons=(
                (Choice("carry_on", payload(ANY_STEP, "resume")),),
                (Choice("not_now", payload(ANY_STEP, "not_now")),),
            ),
            typed=YES_NO,
        )
        self._set_flow(replace(self.flow, step=str(PAUSED)))  # paused at the question, until they choose

    def _resume(self) -> None:
        flow = self.flow
        target = flow.step if r.is_question(self.at) else flow.paused_step
        if target is not None and r.is_question(parse_or_none(target)):
            self._set_flow(replace(flow, step=target, paused_step=None))
        self.restate()

    def _not_now(self) -> None:
        if self.at == CRISIS:
            self._set_flow(replace(self.flow, step=str(PAUSED)))
        self.say("paused")

    def _answer(self, at: Step, value: str) -> None:
        """An answer to the step the person is at: a nudge or plan question, or the reflection's."""
        if n.is_step(at):
            self._nudging(lambda nudges: nudges.answer(value))
            return
        if sp.is_step(at):
            self._care(lambda care: care.answer(value))
            return
        flow = self.flow
        rule = r.rule(at)
        if value == "back":
            self._set_flow(r.go_back(flow))
        elif value == "stop":
            self._set_flow(replace(flow, step=str(PAUSED), paused_step=flow.step))
            self.say("paused")
            return
        elif rule is not None and value in rule.takes:
            flow, following = rule.then(flow, at, value, self.named)
            if following is None:
                self._set_flow(flow)
                self._finish()
                return
            self._set_flow(advance(flow, following))
            if at == ENDING and flow.ending in r.VALID_ENDINGS:
                self.say("ending_respected")
        else:
            self.say("stale_button")
        self.restate()
