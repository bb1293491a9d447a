"""Free text: a stop word, a button's label typed, an answer in plain words, a question about therapy,
a short story naming a reason; otherwise a kind word and the question again."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.domain import Kind
from bot.engine import grounding as g
from bot.engine import nudging as n
from bot.engine import reflection as r
from bot.engine import safety_plan as sp
from bot.engine.buttons import Buttons
from bot.engine.say import ANY_STEP, Choice, payload
from bot.engine.steps import (
    CHECKS,
    COUNTRY,
    CRISIS,
    DONE,
    ENDING,
    AskReason,
    Confirm,
    Ground,
    Nudge,
    PlanStep,
    Step,
    Suggest,
    advance,
)
from bot.knowledge import answers as ab
from bot.knowledge import kb

_OPENING = re.compile(r"\s*([^,.;:!?¡¿]+)[,.;:!?]")  # a reply's first clause: "no, I wasn't ready"


class Text(Buttons):
    """A turn that reads free text (and answers buttons and commands)."""

    def text(self, text: str) -> None:
        """What the person typed, after the safety check."""
        if not text:
            self.say("empty_message")
            self.restate()
            return
        at = self.at if self.person is not None else None
        stoppable = self.person is not None and (
            self.data.schedule is not None or n.is_step(at) or sp.pending(self.data.followup)
        )
        if at == n.OFFER and self._words.is_stop(text):
            pending = sp.pending(self.data.followup)  # "stop" at the offer: no nudges (and no check-in)
            self._nudging(lambda nudges: nudges.decline(quietly=pending))
            if pending:
                self._care(lambda care: care.stop_all())
            return
        if stoppable and not sp.is_step(at) and self._words.is_stop(text):
            self._care(lambda care: care.stop_all())
            return
        if sp.is_step(at) and self._words.is_stop(text):
            # "stop" typed in the plan pauses the plan (it is not kept as an answer)
            self._care(lambda care: care.answer("stop"))
            return
        choice = self._match_choice(text)
        if choice is not None:
            self._press(choice.payload)
            return
        if self.offered and (said := ab.match_answer(text, tuple(self.offered), self.ctx.locale)) is not None:
            self._press(self.offered[said].payload)  # "yes" to "Delete everything?"
            return
        if set(self.offered) == {"yes"} and ab.match_answer(text, ("no",), self.ctx.locale) == "no":
            self.restate()  # "no" to "How about 09:00?": not a badly typed time, the question again
            return
        if self.person is None:
            if ab.match_answer(text, ("yes",), self.ctx.locale) == "yes":
                self._press(payload(ANY_STEP, "consent"))  # "yes" typed at "Shall we begin?"
            elif (
                kb.looks_like_question(text, self.ctx.locale)
                and (entry := kb.ask(text, self.ctx.locale)) is not None
            ):
                self._kb_reply(entry)
            else:
                self.say("start_hint")  # "what is this?": who we are and how to begin, not "I don't know"
            return
        if n.reads_text(at):
            self._nudging(lambda nudges: nudges.text(text))
            return
        if sp.is_step(at):
            self._care(lambda care: care.text(text))
            return
        if self._understood(text):
            return
        self.say(self._unclear_template(), long=len(text) > 1000)
        self.restate()

    def edited(self, _text: str) -> None:
        self.say("edited_message")
        self.restate()

    def unsupported(self, _text: str) -> None:
        self.say("unsupported")
        self.restate()

    def _safe_or_not(self, text: str) -> bool:
        """A plain yes or no to the crisis reply's "are you safe right now?" presses that button."""
        value = ab.match_answer(text, tuple(g.SAFE_MEANINGS), self.ctx.locale)
        if value is None:
            return False
        self._press(payload(ANY_STEP, g.SAFE_MEANINGS[value]))
        return True

    def _press(self, button: str) -> None:
        """Go on as if the button with this payload had been pressed."""
        self.event = replace(self.event, kind=Kind.BUTTON, payload=button)
        self.button("")

    def _unclear_template(self) -> str:
        """What to say to words that answer nothing: at a step answered by buttons, a kind word fitting
        that step (the question follows); elsewhere the general note."""
        at = self.at
        if at == CRISIS:
            return "unclear/crisis"
        if at in CHECKS:
            return "unclear/risk_check"
        if at == n.OFFER:
            return "unclear/nudge_offer"
        if n.is_step(at):
            return "unclear/nudge"
        if g.is_step(at):
            return "unclear/grounding"
        if r.is_question(at):
            return "unclear/question"
        return "text_not_expected"

    def _understood(self, text: str) -> bool:
        """Plain words in a question or when idle: a question answered, an answer read, a story heard."""
        at = self.at
        if at == CRISIS:
            return self._safe_or_not(text)
        asking = kb.looks_like_question(text, self.ctx.locale)
        if asking and (entry := kb.ask(text, self.ctx.locale)) is not None:
            self._kb_reply(entry)
            return True
        story = self._story(at, text)
        if story is not None:
            self._set_flow(advance(self.flow, Confirm(story)))
            self.restate()
            return True
        value = self._plain_answer(at, text)
        if value is not None and at in CHECKS:
            self._risk_answer(value)
            return True
        if value is not None:
            if at == ENDING:
                self.named = ab.recognise_reason(text, self.ctx.locale)
            self._answer(at, value)
            return True
        if asking:
            return self._question(text)
        if at == ENDING and (reason := ab.recognise_reason(text, self.ctx.locale)) is not None:
            self.named = reason  # "I never clicked with her": how it ended is unsaid, a reason is not
            self._answer(at, "skip")
            return True
        if isinstance(at, Suggest) and ab.recognise_reason(text, self.ctx.locale) == at.reason:
            self._answer(at, "main")  # "the money ran out" at "is cost the main thing?" says yes
            return True
        # A short reply ending in a country name ("Argentina" only alone: "I told Jordan" is no country)
        code = ab.recognise_country(text, self.ctx.locale, others_alone=True)
        if code is not None and at not in CHECKS:
            self._country(code)  # "spain" after /country, wherever they are: no question takes a country
            return True
        return False

    def _story(self, at: Step, text: str) -> str | None:
        """At a reason question, or after the plan, the reason a short story names ("ya no podía
        pagarlo"), to confirm with one question; None when there is none, the plan already has it, or
        the reply opens with a plain answer ("no, I wasn't")."""
        if not isinstance(at, AskReason) and at != DONE:
            return None
        reason = ab.recognise_reason(text, self.ctx.locale)
        if reason is None or (at == DONE and self.flow.answers.get(reason) in r.RECOGNISED):
            return None
        opening = _OPENING.match(text)
        if opening and self._plain_answer(at, opening.group(1)) is not None:
            return None
        return reason

    def _question(self, text: str) -> bool:
        """A question about therapy: the knowledge base's answer, or an honest "I don't know"; then
        the same question again. False when the text does not read as a question."""
        if not kb.looks_like_question(text, self.ctx.locale):
            return False
        self._kb_reply(kb.ask(text, self.ctx.locale))
        return True

    def _kb_reply(self, entry: kb.Entry | None) -> None:
        """The knowledge base's answer, or the honest "I don't know"; then the same question again."""
        if entry is None:
            self.say("kb_unknown")
        else:
            self.say("kb_answer", answer=entry.answer)
        self.restate()

    def _match_choice(self, text: str) -> Choice | None:
        """Typing a button's label works like pressing it."""
        wanted = text.casefold().strip(" .!")
        offered = [choice for choice in self.offered.values() if choice.label]
        at = self.at if self.person is not None else None
        if self.person is None:  # nothing is kept before consent, so a crisis reply's answers stay on offer
            offered = [
                Choice("consent_yes", payload(ANY_STEP, "consent")),
                *(c for row in g.safe_rows() for c in row),
            ]
        elif r.is_question(at):
            offered += r.question(self.at).choices()
        elif at == CRISIS:
            offered += [c for row in self._crisis_buttons() for c in row]
        elif at in CHECKS:
            offered += [c for row in self._risk_check_buttons() for c in row]
        elif isinstance(at, Nudge):
            asked = n.question(at, self.person, self.data.schedule, self.ctx.now)
            offered += [c for c in asked.choices() if not c.values]  # times and zones are parsed as typed
        elif isinstance(at, PlanStep):
            offered += [c for row in sp.step_buttons(at) for c in row]
        elif isinstance(at, Ground):
            offered += g.choices(at)
        if at == COUNTRY and (code := ab.recognise_country(text, self.ctx.locale)) is not None:
            wanted = self.ctx.label_text(f"country_{code}").casefold()  # "uk" works like "United Kingdom"
        for choice in offered:
            if self.ctx.label_text(choice.label).casefold().strip(" .!") == wanted:
                return choice
        return None
