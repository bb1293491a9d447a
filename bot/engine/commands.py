"""The slash commands: /start, /plan, /note, /mydata, /forget and the rest, one handler each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.engine import mydata
from bot.engine import reflection as r
from bot.engine import therapist_note as tn
from bot.engine.say import ANY_STEP, YES_NO, Choice, Say, payload
from bot.engine.steps import COUNTRY, ENDING, PAUSED, advance, parse_or_none
from bot.engine.turn import Turn
from bot.knowledge import answers as ab
from bot.safety.resources import INTL

NOTE_LIMIT = 500
COMMANDS = (
    "start", "plan", "safetyplan", "nudges", "help", "privacy", "mydata", "forget", "country", "note",
    "cancel", "restart",
)  # fmt: skip
"""Every command the engine answers: each must be in Telegram's menu, Discord's commands and /help."""


class Commands(Turn):
    """A turn that answers commands."""

    def command(self, args: str) -> None:
        """The command the event names, with the text after it."""
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
        resumable = flow.step if r.is_question(self.at) else flow.paused_step
        if r.is_question(parse_or_none(resumable)):
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
        if self.person is None or not r.is_question(self.at):
            self.say("nothing_to_cancel", started=self.person is not None)
            return
        self._set_flow(replace(self.flow, step=str(PAUSED), paused_step=self.flow.step))
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
        # The engine attaches the file, built from every stored row (`mydata.with_export`).
        data = replace(self.data, person=self.person)
        self.says.extend(mydata.summary(data, self.ctx.retention_days, self._resources()["resources"]))

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
            typed=YES_NO,
        )

    def _country_ask(self, args: str) -> None:
        """/country asks where they are; "/country spain" sets it at once."""
        if self.person is None:
            self.say("start_hint")
            return
        code = ab.recognise_country(args, self.ctx.locale) if args else None
        if code is not None:
            self._country(code)
        else:
            self.says.append(r.question(COUNTRY))

    def _country(self, code: str) -> None:
        """A country from the list; "other" (one not listed): the international lines, never the
        operator's default country's; skip: nothing stored, the lines their language suggests."""
        assert self.person is not None
        country = code if code in r.COUNTRIES else INTL if code == "other" else None
        self.person = replace(self.person, country=country)
        self.say("country_set", country=country or "")
        if self.at == COUNTRY:
            self._set_flow(advance(self.flow, ENDING))
        self.restate()

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

    def _nudges_command(self, _args: str) -> None:
        if self.person is None:
            self.say("start_hint")
            return
        self._nudging(lambda nudges: nudges.command())
