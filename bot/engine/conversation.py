"""One step of the conversation: (what is stored, what came in) -> (what to store, what to say).

Pure: no I/O and no clock of its own, so every path can be tested turn by turn. The safety check runs
first on every piece of free text, whatever step the person is in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.domain import Flow, Incoming, Kind, Person, UserData
from bot.engine import grounding as g
from bot.engine import nudging as n
from bot.engine import reflection as r
from bot.engine import safety_plan as sp
from bot.engine import therapist_note as tn
from bot.engine.say import ANY_STEP, FLOW_VERSION, Choice, Say, parse_payload, payload
from bot.knowledge import answers as ab
from bot.knowledge import kb
from bot.nudges.words import NudgeWords, load_words
from bot.safety import UNCLEAR, CrisisDetector, ResourceBook, Risk, Signal

NOTE_LIMIT = 500
_OPENING = re.compile(r"\s*([^,.;:!?¡¿]+)[,.;:!?]")  # a reply's first clause: "no, I wasn't ready"
COMMANDS = (
    "start", "plan", "safetyplan", "nudges", "help", "privacy", "mydata", "forget", "country", "note",
    "cancel", "restart",
)  # fmt: skip
"""Every command the engine answers: each must be in Telegram's menu, Discord's commands and /help."""


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


@dataclass(frozen=True)
class Step:
    data: UserData
    says: list[Say]
    forget: bool = False
    tail: str = ""  # last words of this message, for spotting a crisis split over two messages


def clean_text(text: str) -> str:
    """Drop control and format characters (keeping new lines) so nothing odd reaches templates."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs", "Co", "Cn"})
    return "".join(kept).strip()


def step(data: UserData, event: Incoming, ctx: Context) -> Step:
    """Handle one incoming event."""
    return _Turn(data, event, ctx).run()


class _Turn:
    def __init__(self, data: UserData, event: Incoming, ctx: Context) -> None:
        self.data = data
        self.person = data.person
        self.event = event
        self.ctx = ctx
        self.says: list[Say] = []
        self.forget = False
        self.tail = ""
        self.named: str | None = None  # a reason their own words named, for the ending's suggestion

    # ---- plumbing -------------------------------------------------------------------------------
    def run(self) -> Step:
        if self.person is not None:
            self._upgrade_flow()
            self.person = replace(
                self.person,
                last_seen_at=self.ctx.now,
                locale=self.ctx.locale,
                chat_id=self.event.who.chat_id,
            )
        schedule = self.data.schedule
        if schedule is not None and schedule.unanswered:
            self.data = replace(self.data, schedule=replace(schedule, unanswered=0))  # they answered
        # Free text, a command's arguments, or a caption / edited text an adapter could not otherwise use:
        # all of it passes the safety check before anything else.
        text = clean_text(self.event.args if self.event.kind is Kind.COMMAND else self.event.text)
        if text and self._safety(text):
            return self._result()
        handler = {
            Kind.COMMAND: self._command,
            Kind.BUTTON: self._button,
            Kind.TEXT: self._text,
            Kind.UNSUPPORTED: self._unsupported,
            Kind.EDITED: self._edited,
        }[self.event.kind]
        handler(text)
        return self._result()

    def _result(self) -> Step:
        if self.forget:
            return Step(UserData(), self.says, forget=True, tail=self.tail)
        return Step(replace(self.data, person=self.person), self.says, tail=self.tail)

    @property
    def flow(self) -> Flow:
        assert self.person is not None
        return self.person.flow

    def _set_flow(self, flow: Flow) -> None:
        assert self.person is not None
        self.person = replace(self.person, flow=flow)

    def say(self, template: str, buttons: tuple[tuple[Choice, ...], ...] = (), **values: Any) -> None:
        self.says.append(Say(template, values=values, buttons=buttons))

    def _upgrade_flow(self) -> None:
        """A state saved by an older version: keep the answers, pick up at a step that still exists."""
        flow = self.flow
        if flow.version == FLOW_VERSION:
            return
        answers = {k: v for k, v in flow.answers.items() if k in r.REASONS and v in r.ANSWERS}
        known = r.is_question(flow.step) or flow.step in (r.DONE_STEP, r.PAUSED_STEP)
        step_ = flow.step if known else r.PAUSED_STEP
        paused = (
            flow.step
            if known
            else next((s for s in r.REASON_STEPS if s.split(":")[1] not in answers), r.ENDING_STEP)
        )
        self._set_flow(
            Flow(
                version=FLOW_VERSION,
                step=step_,
                ending=flow.ending if flow.ending in r.ENDINGS else None,
                answers=answers,
                paused_step=paused if step_ == r.PAUSED_STEP else None,
            )
        )
        if not known:
            self.say("state_upgraded")

    def restate(self) -> None:
        """Say again what we are waiting for, so nobody is left at a dead end."""
        if self.person is None:
            self.say("start_hint")
            return
        step_ = self.flow.step
        if r.is_question(step_):
            self.says.append(r.question(step_))
        elif step_ == r.CRISIS_STEP:
            self._crisis_check()
        elif step_ == r.RISK_CHECK_STEP:
            self._ask_risk_check()
        elif step_ == r.PAUSED_STEP:
            self.say("paused_hint", resumable=r.is_question(self.flow.paused_step))
        elif n.is_step(step_):
            self._nudging(lambda nudges: nudges.question())
        elif sp.is_step(step_):
            self._care(lambda care: care.question())
        elif g.is_step(step_):
            self.says.append(g.question(step_))
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
    def _safety(self, text: str) -> bool:
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
        in_crisis = self.person is not None and self.flow.step == r.CRISIS_STEP
        if signal.category == UNCLEAR and not in_crisis and self._reads_as_answer(text):
            return False  # the statistical layer alone does not question an answer the flow understood
        if signal.level is Risk.POSSIBLE and not in_crisis:
            self._risk_check()
        else:
            self._crisis(signal, youth=minor)
        return True

    def _reads_as_answer(self, text: str) -> bool:
        """True when the text answers the question on screen (a plain answer, a reason named) or asks
        something the knowledge base answers: then a score from the classifier alone is no sign."""
        locale = self.ctx.locale
        if kb.looks_like_question(text, locale) and kb.ask(text, locale) is not None:
            return True
        if self.person is None or self.flow.step == r.RISK_CHECK_STEP:
            return False
        step_ = self.flow.step
        reason_asked = r.is_question(step_) and step_ != r.COUNTRY_STEP
        if reason_asked and ab.recognise_reason(text, locale) is not None:
            return True
        return self._plain_answer(step_, text) is not None

    def _crisis(self, signal: Signal, *, youth: bool = False) -> None:
        if self.person is not None:
            flow = self.flow
            origin = flow.checked_from if flow.step == r.RISK_CHECK_STEP else flow.step
            # A safety plan or grounding under way gives way to the step it was started from.
            history = flow.history
            if origin is not None:  # a stored check without the step it interrupted keeps its history
                origin, history = sp.beneath(origin, flow.history)
            # Coming back from a crisis step or a pause, the question they had reached is what to resume.
            paused = flow.paused_step if origin in (r.CRISIS_STEP, r.PAUSED_STEP) else origin
            self._set_flow(
                replace(flow, step=r.CRISIS_STEP, paused_step=paused, checked_from=None, history=history)
            )
        values = {"category": signal.category, **self._resources(youth=youth)}
        self.says.append(Say("crisis", values=values, buttons=self._crisis_buttons(), urgent=True))

    def _risk_check(self) -> None:
        """A possible sign: ask directly (asking does not raise risk), remembering exactly where they were."""
        if self.person is not None and self.flow.step != r.RISK_CHECK_STEP:
            self._set_flow(replace(self.flow, step=r.RISK_CHECK_STEP, checked_from=self.flow.step))
        self._ask_risk_check()

    def _ask_risk_check(self) -> None:
        self.says.append(Say("risk_check", buttons=self._risk_check_buttons(), urgent=True))

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
        if self.person is not None and self.flow.step == r.RISK_CHECK_STEP:
            self._set_flow(replace(self.flow, step=self.flow.checked_from or r.DONE_STEP, checked_from=None))
        self.restate()

    def _crisis_buttons(self) -> tuple[tuple[Choice, ...], ...]:
        return sp.crisis_buttons(self.person, self.data.followup)

    def _crisis_check(self) -> None:
        """Still in the crisis step: the lines again with the question, so a crisis reply lost in a crash
        (after the turn committed, before it was sent) reaches the person with their next message."""
        self.says.append(
            Say("crisis_check", values=self._resources(), buttons=self._crisis_buttons(), urgent=True)
        )

    # ---- commands -------------------------------------------------------------------------------
    def _command(self, args: str) -> None:
        handlers: dict[str, Callable[[str], None]] = {
            "start": self._start,
            "help": lambda _: self.say("help", **self._resources()),
            "privacy": lambda _: self.say("privacy", retention_days=self.ctx.retention_days),
            "plan": self._show_plan,
            "cancel": self._cancel,
            "restart": self._restart,
            "mydata": self._mydata,
            "forget": self._forget_ask,
            "country": self._country_ask,
            "note": self._note,
            "nudges": self._nudges_command,
            "safetyplan": lambda _: self._care(lambda care: care.command()),
        }
        assert set(handlers) == set(COMMANDS)  # one list of what the engine answers
        handler = handlers.get(self.event.command)
        if handler is None:
            self.say("unknown_command")
            self.restate()
        else:
            handler(args)

    def _start(self, _args: str) -> None:
        person = self.person
        if person is None:
            self._welcome()
            return
        flow = person.flow
        resumable = flow.step if r.is_question(flow.step) else flow.paused_step
        if r.is_question(resumable):
            self.say(
                "welcome_back",
                buttons=(
                    (Choice("carry_on", payload(ANY_STEP, "resume")),),
                    (Choice("start_over", payload(ANY_STEP, "start_over")),),
                ),
            )
        elif person.plan_at is not None:
            self.say("welcome_back_done")
        else:
            self._set_flow(r.fresh_flow(flow))
            self.restate()

    def _welcome(self) -> None:
        self.say(
            "welcome",
            buttons=(
                (Choice("consent_yes", payload(ANY_STEP, "consent")),),
                (Choice("what_stored", payload(ANY_STEP, "privacy")),),
            ),
        )

    def _show_plan(self, _args: str) -> None:
        if self.person is None or self.person.plan_at is None:
            self.say("no_plan", started=self.person is not None)
            return
        self.says.extend(r.plan(self.person, offer_note=True))

    def _therapist_note(self) -> None:
        """The plan as a Markdown note to bring to a first session (a file on every platform)."""
        if self.person is None or self.person.plan_at is None:
            self.say("no_plan", started=self.person is not None)
            return
        file = tn.note_file(self.person, self.ctx.locale)
        self.says.append(Say("therapist_note", attachment=file))

    def _cancel(self, _args: str) -> None:
        if self.person is None or not r.is_question(self.flow.step):
            self.say("nothing_to_cancel", started=self.person is not None)
            return
        self._set_flow(replace(self.flow, step=r.PAUSED_STEP, paused_step=self.flow.step))
        self.say("paused")

    def _restart(self, _args: str) -> None:
        if self.person is None:
            self._welcome()
            return
        self.person = replace(self.person, plan_at=None, flow=r.fresh_flow(self.flow))
        self.say("restarting")
        self.restate()

    def _mydata(self, _args: str) -> None:
        if self.person is None and self.data.schedule is None:
            self.say("mydata_empty")
            return
        person = self.person  # the engine attaches the file, built from every stored row (engine/mydata.py)
        self.says.append(
            Say(
                "mydata",
                values={
                    "person": person,
                    "answers": dict(person.flow.answers) if person else {},
                    "ending": person.flow.ending if person else None,
                    "schedule": self.data.schedule,
                    "retention_days": self.ctx.retention_days,
                    "safety_plan": person.safety_plan if person else None,
                    "check_in": sp.check_in_values(self.data.followup, person.locale if person else None),
                },
            )
        )
        if person is not None and person.safety_plan is not None:  # in its own message: it can be long
            self.says.append(
                Say("safety_plan/in_mydata", values=sp.plan_values(person, self._resources()["resources"]))
            )

    def _forget_ask(self, _args: str) -> None:
        if self.person is None and self.data.schedule is None:
            self.say("forget_nothing")
            return
        self.say(
            "forget_confirm",
            buttons=(
                (Choice("forget_yes", payload(ANY_STEP, "forget_yes")),),
                (Choice("forget_no", payload(ANY_STEP, "forget_no")),),
            ),
        )

    def _country_ask(self, _args: str) -> None:
        if self.person is None:
            self.say("start_hint")
            return
        self.says.append(r.question(r.COUNTRY_STEP))

    def _note(self, args: str) -> None:
        if self.person is None:
            self.say("start_hint")
            return
        if not args:
            self.say("note_show", note=self.person.note or "")
        elif args.casefold() == self.ctx.label_text("note_clear_word").casefold():
            self.person = replace(self.person, note=None)
            self.say("note_cleared")
        elif len(args) > NOTE_LIMIT:
            self.say("note_too_long", limit=NOTE_LIMIT)
        else:
            self.person = replace(self.person, note=args)
            self.say("note_saved")

    # ---- buttons --------------------------------------------------------------------------------
    def _button(self, _text: str) -> None:
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
            self._answer(step_, value)

    def _global_button(self, value: str) -> None:
        action, _, arg = value.partition(".")
        if action == "consent":
            self._consent()
        elif action == "privacy":
            self.say("privacy", retention_days=self.ctx.retention_days)
            if self.person is None:
                self._welcome()
        elif action == "forget_yes":
            self.forget = self.person is not None or self.data.schedule is not None
            self.say("forgotten" if self.forget else "forget_nothing")
        elif action == "forget_no":
            self.say("forget_kept")
            self.restate()
        elif action == "safe":
            self._safe()
        elif action == "check":
            self._risk_answer(arg)
        elif action == "not_safe":
            self._care(lambda care: care.not_safe())
        elif action == "g":
            self._care(lambda care: care.grounding(arg))
        elif action == "sp":
            self._care(lambda care: care.button(arg))
        elif action == "fu":
            self._care(lambda care: care.followup_button(arg))
        elif action == "n" and self.person is None:
            self.say("nudges/stale", stopped=arg == "stop")
        elif action == "n":
            self._nudging(lambda nudges: nudges.button(arg))
        elif self.person is None:
            self.say("start_hint")
        elif action == "country":
            self._country(arg)
        elif action == "resume":
            self._resume()
        elif action == "start_over":
            self._restart("")
        elif action == "not_now":
            self._not_now()
        elif action == "tnote":
            self._therapist_note()
        else:
            self.say("stale_button")
            self.restate()

    def _consent(self) -> None:
        if self.person is not None:
            self.say("already_started")
            self.restate()
            return
        who, now = self.event.who, self.ctx.now
        self.person = Person(
            key=who.key,
            chat_id=who.chat_id,
            locale=self.ctx.locale,
            flow=Flow(version=FLOW_VERSION, step=r.COUNTRY_STEP),
            created_at=now,
            last_seen_at=now,
            consented_at=now,
        )
        self.say("consent_thanks")
        self.restate()

    def _country(self, code: str) -> None:
        assert self.person is not None
        known = code in r.COUNTRIES
        self.person = replace(self.person, country=code if known else None)
        self.say("country_set", country=code if known else "")
        if self.flow.step == r.COUNTRY_STEP:
            self._set_flow(r.advance(self.flow, r.ENDING_STEP))
        self.restate()

    def _safe(self) -> None:
        if self.person is None or self.flow.step != r.CRISIS_STEP:
            self.say("crisis_safe", resumable=False)
            return
        resumable = r.is_question(self.flow.paused_step)
        self.say(
            "crisis_safe",
            resumable=resumable,
            buttons=(
                (
                    (Choice("carry_on", payload(ANY_STEP, "resume")),),
                    (Choice("not_now", payload(ANY_STEP, "not_now")),),
                )
                if resumable
                else ()
            ),
        )
        if not resumable:
            self._set_flow(replace(self.flow, step=self.flow.paused_step or r.DONE_STEP, paused_step=None))

    def _resume(self) -> None:
        flow = self.flow
        target = flow.step if r.is_question(flow.step) else flow.paused_step
        if r.is_question(target):
            self._set_flow(replace(flow, step=target, paused_step=None))  # type: ignore[arg-type]
        self.restate()

    def _not_now(self) -> None:
        flow = self.flow
        if flow.step == r.CRISIS_STEP:
            self._set_flow(replace(flow, step=r.PAUSED_STEP))
        self.say("paused")

    def _answer(self, step_: str, value: str) -> None:
        if n.is_step(step_):
            self._nudging(lambda nudges: nudges.answer(step_, value))
            return
        if sp.is_step(step_):
            self._care(lambda care: care.answer(step_, value))
            return
        flow = self.flow
        if value == "back":
            self._set_flow(r.go_back(flow))
        elif value == "stop":
            self._set_flow(replace(flow, step=r.PAUSED_STEP, paused_step=step_))
            self.say("paused")
            return
        elif step_ == r.ENDING_STEP and (value in r.ENDINGS or value == "skip"):
            flow = replace(flow, ending=value if value in r.ENDINGS else None)
            self._set_flow(r.advance(flow, r.after_ending(flow, self.named)))
            if flow.ending in r.VALID_ENDINGS:
                self.say("ending_respected")
        elif step_ == r.ENDING_VALID_STEP and value in ("look", "plan"):
            if value == "plan":
                self._finish()
                return
            self._set_flow(r.advance(flow, r.REASON_STEPS[0]))
        elif step_ in r.SUGGEST_STEPS and value in ("main", "more", "no"):
            if value != "no":
                flow = replace(flow, answers={**flow.answers, step_.split(":", 1)[1]: "yes"})
            if value == "main":
                self._set_flow(flow)
                self._finish()
                return
            self._set_flow(r.advance(flow, r.first_reason(flow)))
        elif step_ in r.CONFIRM_STEPS and value in ("yes", "no"):
            reason = step_.split(":", 1)[1]
            nxt: str | None = r.origin(flow)
            if value == "yes":
                flow = replace(flow, answers={**flow.answers, reason: "yes"})
                if nxt == f"reason:{reason}":
                    nxt = r.after_reason(nxt, flow)
            if nxt is None:
                self._set_flow(flow)
                self._finish()
                return
            self._set_flow(r.advance(flow, nxt))
        elif step_ in r.REASON_STEPS and (value in r.ANSWERS or value == "skip"):
            reason = step_.split(":", 1)[1]
            answers = {k: v for k, v in flow.answers.items() if k != reason}
            if value != "skip":
                answers[reason] = value
            flow = replace(flow, answers=answers)
            nxt = r.after_reason(step_, flow)
            if nxt is None:
                self._set_flow(flow)
                self._finish()
                return
            self._set_flow(r.advance(flow, nxt))
        else:
            self.say("stale_button")
        self.restate()

    def _finish(self) -> None:
        assert self.person is not None
        self.person = r.finish(self.person, self.ctx.now)
        self.say("plan_ready")
        self.says.extend(r.plan(self.person))
        if self.data.schedule is None:
            self._nudging(lambda nudges: nudges.open_offer())  # a step of its own: plain words answer it

    # ---- free text and the rest -----------------------------------------------------------------
    def _text(self, text: str) -> None:
        if not text:
            self.say("empty_message")
            self.restate()
            return
        stoppable = self.person is not None and (
            self.data.schedule is not None or n.is_step(self.flow.step) or sp.pending(self.data.followup)
        )
        if self.person is not None and self.flow.step == n.OFFER_STEP and self._words.is_stop(text):
            pending = sp.pending(self.data.followup)  # "stop" at the offer: no nudges (and no check-in)
            self._nudging(lambda nudges: nudges.decline(quietly=pending))
            if pending:
                self._care(lambda care: care.stop_all())
            return
        if stoppable and not sp.is_step(self.flow.step) and self._words.is_stop(text):
            self._care(lambda care: care.stop_all())
            return
        if self.person is not None and sp.is_step(self.flow.step) and self._words.is_stop(text):
            step_ = self.flow.step  # "stop" typed in the plan pauses the plan (it is not kept as an answer)
            self._care(lambda care: care.answer(step_, "stop"))
            return
        choice = self._match_choice(text)
        if choice is not None:
            self.event = replace(self.event, kind=Kind.BUTTON, payload=choice.payload)
            self._button("")
            return
        if self.person is None:
            if not self._question(text):
                self.say("start_hint")
            return
        if n.reads_text(self.flow.step):
            self._nudging(lambda nudges: nudges.text(text))
            return
        if sp.is_step(self.flow.step):
            self._care(lambda care: care.text(text))
            return
        if self._understood(text):
            return
        self.say(self._unclear_template(), long=len(text) > 1000)
        self.restate()

    def _unclear_template(self) -> str:
        """What to say to words that answer nothing: at a step answered by buttons, a kind word fitting
        that step (the question follows); elsewhere the general note."""
        step_ = self.flow.step
        if step_ == r.CRISIS_STEP:
            return "unclear/crisis"
        if step_ == r.RISK_CHECK_STEP:
            return "unclear/risk_check"
        if step_ == n.OFFER_STEP:
            return "unclear/nudge_offer"
        if n.is_step(step_):
            return "unclear/nudge"
        if g.is_step(step_):
            return "unclear/grounding"
        if r.is_question(step_):
            return "unclear/question"
        return "text_not_expected"

    def _understood(self, text: str) -> bool:
        """Plain words in a question or when idle: a question answered, an answer read, a story heard."""
        step_ = self.flow.step
        if step_ == r.CRISIS_STEP:
            return False
        asking = kb.looks_like_question(text, self.ctx.locale)
        if asking and kb.ask(text, self.ctx.locale) is not None:
            return self._question(text)
        story = self._story(step_, text)
        if story is not None:
            self._set_flow(r.advance(self.flow, f"confirm:{story}"))
            self.restate()
            return True
        value = self._plain_answer(step_, text)
        if value is not None and step_ == r.RISK_CHECK_STEP:
            self._risk_answer(value)
            return True
        if value is not None:
            if step_ == r.ENDING_STEP:
                self.named = ab.recognise_reason(text, self.ctx.locale)
            self._answer(step_, value)
            return True
        if asking:
            return self._question(text)
        if step_ == r.ENDING_STEP and (reason := ab.recognise_reason(text, self.ctx.locale)) is not None:
            self.named = reason  # "I never clicked with her": how it ended is unsaid, a reason is not
            self._answer(step_, "skip")
            return True
        if step_ in r.SUGGEST_STEPS and ab.recognise_reason(text, self.ctx.locale) == r.suggested(step_):
            self._answer(step_, "main")  # "the money ran out" at "is cost the main thing?" says yes
            return True
        return False

    def _story(self, step_: str, text: str) -> str | None:
        """At a reason question, the reason a short story names ("ya no podía pagarlo"), to confirm with
        one question; None when there is none, or the reply opens with a plain answer ("no, I wasn't")."""
        if step_ not in r.REASON_STEPS:
            return None
        reason = ab.recognise_reason(text, self.ctx.locale)
        if reason is None:
            return None
        opening = _OPENING.match(text)
        if opening and self._plain_answer(step_, opening.group(1)) is not None:
            return None
        return reason

    def _question(self, text: str) -> bool:
        """A question about therapy: the knowledge base's answer, or an honest "I don't know"; then
        the same question again. False when the text does not read as a question."""
        if not kb.looks_like_question(text, self.ctx.locale):
            return False
        entry = kb.ask(text, self.ctx.locale)
        if entry is None:
            self.say("kb_unknown")
        else:
            self.say("kb_answer", answer=entry.answer)
        self.restate()
        return True

    def _plain_answer(self, step_: str, text: str) -> str | None:
        """The offered choice a plain reply means at this step ("yeah kind of" -> partly), or None."""
        locale = self.ctx.locale
        nav = ("back",)  # "stop" typed is a nudge word; the reflection pauses only by its button
        if step_ == r.ENDING_STEP:
            return ab.match_answer(text, (*r.ENDINGS, "skip", *nav), locale)
        if step_ == r.ENDING_VALID_STEP:
            return ab.match_answer(text, ("look", "plan", *nav), locale)
        if step_ in r.REASON_STEPS:
            return ab.match_answer(text, (*r.ANSWERS, "skip", *nav), locale)
        meanings = {
            **{s: {"yes": "main", "partly": "more", "no": "no", "unsure": "no"} for s in r.SUGGEST_STEPS},
            **{s: {"yes": "yes", "partly": "yes", "no": "no", "unsure": "no"} for s in r.CONFIRM_STEPS},
            # A possible sign of risk: "kind of" is a yes; anything unclear asks the question again.
            r.RISK_CHECK_STEP: {"yes": "yes", "partly": "yes", "no": "no"},
            # The nudge offer: "yeah kind of" is a yes; "not sure" asks again rather than guess.
            n.OFFER_STEP: {"yes": "setup", "partly": "setup", "no": "no"},
        }.get(step_)
        if meanings is None and n.is_step(step_) and step_.startswith("n:zok:"):
            meanings = {"yes": "yes", "no": "no"}  # "is this your time zone?"
        if meanings is None:
            return None
        offered = tuple(meanings) + (nav if r.is_question(step_) else ())
        value = ab.match_answer(text, offered, locale)
        return meanings.get(value, value) if value is not None else None

    def _match_choice(self, text: str) -> Choice | None:
        """Typing a button's label works like pressing it."""
        wanted = text.casefold().strip(" .!")
        offered: list[Choice] = []
        if self.person is None:
            offered = [Choice("consent_yes", payload(ANY_STEP, "consent"))]
        elif r.is_question(self.flow.step):
            offered = r.question(self.flow.step).choices()
        elif self.flow.step == r.CRISIS_STEP:
            offered = [c for row in self._crisis_buttons() for c in row]
        elif self.flow.step == r.RISK_CHECK_STEP:
            offered = [c for row in self._risk_check_buttons() for c in row]
        elif n.is_step(self.flow.step):
            asked = n.question(self.flow.step, self.person, self.data.schedule, self.ctx.now)
            offered = [c for c in asked.choices() if not c.values]  # times and zones are parsed as typed
        elif sp.is_step(self.flow.step):
            offered = [c for row in sp.step_buttons(self.flow.step) for c in row]
        elif g.is_step(self.flow.step):
            offered = g.choices(self.flow.step)
        for choice in offered:
            if self.ctx.label_text(choice.label).casefold().strip(" .!") == wanted:
                return choice
        return None

    # ---- nudges ---------------------------------------------------------------------------------
    @property
    def _words(self) -> NudgeWords:
        return self.ctx.nudge_words or load_words()

    def _nudges_command(self, _args: str) -> None:
        if self.person is None:
            self.say("start_hint")
            return
        self._nudging(lambda nudges: nudges.command())

    def _nudging(self, act: Callable[[n.Nudges], None]) -> None:
        """Let the nudge steps act, then take back the flow, the schedule and the replies."""
        assert self.person is not None
        nudges = n.Nudges(self.person, self.data.schedule, self.ctx.now, self._words)
        act(nudges)
        self._set_flow(nudges.flow)
        self.data = replace(self.data, schedule=nudges.schedule)
        self.says.extend(nudges.says)
        if nudges.returned and r.is_question(self.flow.step):
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

    def _edited(self, _text: str) -> None:
        self.say("edited_message")
        self.restate()

    def _unsupported(self, _text: str) -> None:
        self.say("unsupported")
        self.restate()
