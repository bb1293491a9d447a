"""One turn's state and what every part of the conversation shares: the flow, the replies, the safety check.

`Turn` holds what is stored (`data`, `person`), what came in and what goes out; it runs the safety check
that comes first on every piece of free text, answers a crisis or a possible sign of one, says again what
is pending (`restate`), and lends the turn to the nudge and crisis-care steps. The commands
(`commands.py`), the buttons (`buttons.py`) and free text (`text.py`) build on it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.domain import Flow, Incoming, Person, UserData, copy_with
from bot.engine import grounding as g
from bot.engine import nudging as n
from bot.engine import reflection as r
from bot.engine import safety_plan as sp
from bot.engine.say import ANY_STEP, FLOW_VERSION, YES_NO, Choice, Say, payload
from bot.engine.steps import (
    CHECKS,
    COUNTRY,
    CRISIS,
    DONE,
    ENDING,
    HARM_CHECK,
    PAUSED,
    RISK_CHECK,
    Ground,
    Step,
    parse,
    parse_or_none,
)
from bot.knowledge import answers as ab
from bot.knowledge import kb
from bot.nudges.words import NudgeWords, load_words
from bot.safety import HARM_FROM_OTHERS, UNCLEAR, CrisisDetector, ResourceBook, Risk, Signal

Offered = tuple[tuple[str, str, str], ...]
"""(plain answer, label, payload) of the buttons of a question a typed "yes" or "no" answers."""

RISK_MEANINGS = {"yes": "yes", "partly": "yes", "no": "no"}
"""A possible sign of risk: "kind of" is a yes; anything unclear asks the question again."""


@dataclass(frozen=True)
class Context:
    """What a step may consult besides the stored data: time, locale, safety data, settings."""

    now: datetime
    locale: str
    detector: CrisisDetector
    resources: ResourceBook
    default_country: str
    retention_days: int
    label_text: Callable[[str], str]  # label key -> its text in this locale
    nudge_words: NudgeWords | None = None  # stop phrases and time words in this locale (English if None)
    previous_tail: str = ""  # last words of the person's previous message, held in memory only
    asked: Offered = ()  # with nothing stored about them: the question last asked, held in memory only


@dataclass(frozen=True)
class TurnResult:
    """What one turn hands back: what to store, what to say, whether to erase everything."""

    data: UserData
    says: list[Say]
    forget: bool = False
    tail: str = ""  # last words of this message, for spotting a crisis split over two messages
    offered: Offered = ()  # with nothing stored: the question this turn asked, for the next message


def clean_text(text: str) -> str:
    """Drop control and format characters (keeping new lines) so nothing odd reaches templates."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs", "Co", "Cn"})
    return "".join(kept).strip()


def _typed_answers(says: list[Say]) -> Offered:
    """(plain answer, label, payload) for the buttons of the last reply with buttons, if it takes typed
    answers ("Delete everything?": yes, no). A label filled in with values ("09:00") is kept as ""."""
    asked = next((say for say in reversed(says) if say.buttons), None)
    if asked is None:
        return ()
    return tuple(
        (said, "" if choice.values else choice.label, choice.payload)
        for said, choice in zip(asked.typed, asked.choices(), strict=False)
    )


class Turn:
    """The state of one turn, and the parts every handler shares."""

    def __init__(self, data: UserData, event: Incoming, ctx: Context) -> None:
        self.data = data
        self.person = data.person
        self.event = event
        self.ctx = ctx
        self.says: list[Say] = []
        self.forget = False
        self.tail = ""
        self.named: str | None = None  # a reason their own words named, for the ending's suggestion
        # The question the last reply asked ("Delete everything?"): a typed yes or no presses its button.
        asked = data.person.flow.offered if data.person else ctx.asked
        self.offered = {said: Choice(label, sent) for said, label, sent in asked}

    # ---- plumbing -------------------------------------------------------------------------------
    def result(self) -> TurnResult:
        if self.forget:
            return TurnResult(UserData(), self.says, forget=True, tail=self.tail)
        person, offered = self.person, _typed_answers(self.says)
        if person is not None:  # kept with what they chose; with nothing stored, in memory only
            person, offered = copy_with(person, flow=copy_with(person.flow, offered=offered)), ()
        return TurnResult(copy_with(self.data, person=person), self.says, tail=self.tail, offered=offered)

    @property
    def flow(self) -> Flow:
        assert self.person is not None
        return self.person.flow

    @property
    def at(self) -> Step:
        """The step the person is at (read from the stored flow)."""
        return parse(self.flow.step)

    def _set_flow(self, flow: Flow) -> None:
        assert self.person is not None
        self.person = copy_with(self.person, flow=flow)

    def say(
        self,
        template: str,
        buttons: tuple[tuple[Choice, ...], ...] = (),
        typed: tuple[str, ...] = (),
        **values: Any,
    ) -> None:
        self.says.append(Say(template, values=values, buttons=buttons, typed=typed))

    def upgrade_flow(self) -> None:
        """A state saved by an older version: keep the answers, pick up at a step that still exists."""
        flow = self.flow
        if flow.version == FLOW_VERSION:
            return
        answers = {k: v for k, v in flow.answers.items() if k in r.REASONS and v in r.ANSWERS}
        known = r.is_question(self.at) or self.at in (DONE, PAUSED)
        step_ = flow.step if known else str(PAUSED)
        unanswered = (s for s in r.REASON_STEPS if s.reason not in answers)
        paused = flow.step if known else str(next(unanswered, ENDING))
        self._set_flow(
            Flow(
                version=FLOW_VERSION,
                step=step_,
                ending=flow.ending if flow.ending in r.ENDINGS else None,
                answers=answers,
                paused_step=paused if step_ == str(PAUSED) else None,
            )
        )
        if not known:
            self.say("state_upgraded")

    def restate(self) -> None:
        """Say again what we are waiting for, so nobody is left at a dead end."""
        if self.person is None:
            self.say("start_hint")
            return
        at = self.at
        if r.is_question(at):
            self.says.append(r.question(at))
        elif at == CRISIS:
            self._crisis_check()
        elif at in CHECKS:
            self._ask_risk_check(at)
        elif at == PAUSED:
            self.say("paused_hint", resumable=r.is_question(parse_or_none(self.flow.paused_step)))
        elif n.is_step(at):
            self._nudging(lambda nudges: nudges.question())
        elif sp.is_step(at):
            self._care(lambda care: care.question())
        elif isinstance(at, Ground):
            self.says.append(g.question(at))
        else:
            self.say("nothing_pending", has_plan=self.person.plan_at is not None)

    def _resources(self, youth: bool = False) -> dict[str, Any]:
        person = self.person
        found = self.ctx.resources.for_person(
            person.country if person else None,
            self.event.locale,
            self.ctx.default_country,
            youth=youth or bool(person and person.youth),
        )
        return {"resources": found}

    # ---- safety ---------------------------------------------------------------------------------
    def safety(self, text: str) -> bool:
        """Check free text for crisis signs; answer with resources at once. True when it did."""
        detector = self.ctx.detector
        self.tail = detector.tail(text)
        minor = detector.states_minor(text)
        if minor and self.person is not None:
            self.person = replace(self.person, youth=True)
        signal = detector.detect(text, self.ctx.previous_tail)
        if signal is None:
            if minor:
                self.say("youth_note", **self._resources(youth=True))
            return False
        in_crisis = self.person is not None and self.at == CRISIS
        if signal.category == UNCLEAR and not in_crisis and self._reads_as_answer(text):
            return False  # the statistical layer alone does not question an answer the flow understood
        if signal.level is Risk.POSSIBLE and not in_crisis:
            self._risk_check(signal)
        else:
            self._crisis(signal, youth=minor)
        return True

    def _reads_as_answer(self, text: str) -> bool:
        """True when the text answers the question on screen (a plain answer, a reason named) or asks
        something the knowledge base answers: then a score from the classifier alone is no sign."""
        locale = self.ctx.locale
        if kb.looks_like_question(text, locale) and kb.ask(text, locale) is not None:
            return True
        if self.person is None or self.at in CHECKS:
            return False
        at = self.at
        reason_asked = r.is_question(at) and at != COUNTRY
        if reason_asked and ab.recognise_reason(text, locale) is not None:
            return True
        return self._plain_answer(at, text) is not None

    def _plain_answer(self, at: Step, text: str) -> str | None:
        """The offered choice a plain reply means at this step ("yeah kind of" -> partly), or None."""
        locale = self.ctx.locale
        nav = ("back",)  # "stop" typed is a nudge word; the reflection pauses only by its button
        rule = r.rule(at)
        meanings: Mapping[str, str] | None
        if rule is not None and rule.plain is None:
            return ab.match_answer(text, (*rule.takes, *nav), locale)
        if rule is not None and rule.plain is not None:
            meanings, offered = rule.plain, (*rule.plain, *nav)
        elif at == n.OFTEN and (rhythm := self._words.rhythm_in(text)) is not None:
            return rhythm  # "a few times a week"
        else:
            meanings = RISK_MEANINGS if at in CHECKS else n.plain_meanings(at)
            if meanings is None:
                return None
            offered = tuple(meanings)
        value = ab.match_answer(text, offered, locale)
        return meanings.get(value, value) if value is not None else None

    def _crisis(self, signal: Signal, *, youth: bool = False) -> None:
        if self.person is not None:
            flow = self.flow
            origin = flow.checked_from if self.at in CHECKS else flow.step
            # A safety plan or grounding under way gives way to the step it was started from.
            history = flow.history
            if origin is not None:  # a stored check without the step it interrupted keeps its history
                origin, history = sp.beneath(origin, flow.history)
            # Coming back from a crisis step or a pause, the question they had reached is what to resume.
            paused = flow.paused_step if parse_or_none(origin) in (CRISIS, PAUSED) else origin
            self._set_flow(
                replace(flow, step=str(CRISIS), paused_step=paused, checked_from=None, history=history)
            )
        values = {"category": signal.category, **self._resources(youth=youth)}
        self.says.append(
            Say("crisis", values=values, buttons=self._crisis_buttons(), urgent=True, typed=YES_NO)
        )

    def _risk_check(self, signal: Signal) -> None:
        """A possible sign: ask directly (asking does not raise risk), remembering exactly where they were.

        A possible sign of harm from others asks whether they are safe, not about ending their life.
        """
        check = HARM_CHECK if signal.category in HARM_FROM_OTHERS else RISK_CHECK
        if self.person is not None:  # asked again (the newer sign's question): still back to the same step
            checked_from = self.flow.checked_from if self.at in CHECKS else self.flow.step
            self._set_flow(replace(self.flow, step=str(check), checked_from=checked_from))
        self._ask_risk_check(check)

    def _ask_risk_check(self, check: Step) -> None:
        # typed: yes; no; "I'd rather not say" (skip)
        template = "harm_check" if check == HARM_CHECK else "risk_check"
        self.says.append(
            Say(template, buttons=self._risk_check_buttons(), urgent=True, typed=("yes", "no", "skip"))
        )

    def _risk_check_buttons(self) -> tuple[tuple[Choice, ...], ...]:
        return (
            (Choice("check_yes", payload(ANY_STEP, "check.yes")),),
            (Choice("check_no", payload(ANY_STEP, "check.no")),),
            (Choice("check_rather_not", payload(ANY_STEP, "check.rather_not")),),
        )

    def _risk_answer(self, answer: str) -> None:
        """Yes or "rather not say": the crisis reply. No: a kind word, and back exactly where they were."""
        if answer in ("yes", "rather_not"):
            self._crisis(Signal("confirmed"))
            return
        self.say("risk_check_no")
        if self.person is not None and self.at in CHECKS:
            self._set_flow(replace(self.flow, step=self.flow.checked_from or str(DONE), checked_from=None))
        self.restate()

    def _crisis_buttons(self) -> tuple[tuple[Choice, ...], ...]:
        return sp.crisis_buttons(self.person, self.data.followup)

    def _crisis_check(self) -> None:
        """Still in the crisis step: the lines again with the question, so a crisis reply lost in a crash
        (after the turn committed, before it was sent) reaches the person with their next message."""
        self.says.append(
            Say(
                "crisis_check",
                values=self._resources(),
                buttons=self._crisis_buttons(),
                urgent=True,
                typed=YES_NO,  # "are you safe right now?"
            )
        )

    # ---- nudges and crisis care -----------------------------------------------------------------
    @property
    def _words(self) -> NudgeWords:
        return self.ctx.nudge_words or load_words()

    def stops(self, text: str) -> bool:
        """Whether these words ask to stop the messages ("stop", "basta", "unsubscribe")."""
        return self._words.is_stop(text)

    def _nudging(self, act: Callable[[n.Nudges], None]) -> None:
        """Let the nudge steps act, then take back the flow, the schedule and the replies."""
        assert self.person is not None
        nudges = n.Nudges(self.person, self.data.schedule, self.ctx.now, self._words)
        act(nudges)
        self._set_flow(nudges.flow)
        self.data = replace(self.data, schedule=nudges.schedule)
        self.says.extend(nudges.says)
        if nudges.returned and r.is_question(self.at):
            self.restate()

    def _care(self, act: Callable[[sp.Care], None]) -> None:
        """Let crisis care act (plan, grounding, not safe, check-in), then take back what it changed."""
        care = sp.Care(
            self.person,
            self.data.schedule,
            self.data.followup,
            who=self.event.who,
            locale=self.ctx.locale,
            now=self.ctx.now,
            resources=self._resources()["resources"],
            label=self.ctx.label_text,
            words=self._words,
        )
        act(care)
        self.person = care.person
        self.data = replace(self.data, schedule=care.schedule, followup=care.followup)
        self.says.extend(care.says)
        if care.restate:
            self.restate()

    def _finish(self) -> None:
        """The reflection's last answer: the plan, then (once) the offer of nudges."""
        assert self.person is not None
        first = self.person.plan_at is None
        self.person = r.finish(self.person, self.ctx.now)
        self.say("plan_ready")
        self.says.extend(r.plan(self.person))
        if first and self.data.schedule is None:
            self._nudging(lambda nudges: nudges.open_offer())  # a step of its own: plain words answer it

    def _welcome(self) -> None:
        self.say(
            "welcome",
            buttons=(
                (Choice("consent_yes", payload(ANY_STEP, "consent")),),
                (Choice("what_stored", payload(ANY_STEP, "privacy")),),
            ),
        )

    def _new_person(self) -> Person:
        """Someone who has just agreed: at the first question (the country)."""
        who, now = self.event.who, self.ctx.now
        return Person(
            key=who.key,
            chat_id=who.chat_id,
            locale=self.ctx.locale,
            flow=Flow(version=FLOW_VERSION, step=str(COUNTRY)),
            created_at=now,
            last_seen_at=now,
            consented_at=now,
        )
