"""One step of the conversation: (what is stored, what came in) -> (what to store, what to say).

Pure: no I/O and no clock of its own, so every path can be tested turn by turn. The safety check runs
first on every piece of free text, whatever step the person is in. The work is split by job: the turn's
state and the safety check (`turn.py`), commands (`commands.py`), buttons (`buttons.py`), free text
(`text.py`) and the /mydata export (`mydata.py`); this module only routes an event to them.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain import Incoming, Kind, UserData, copy_with
from bot.engine.commands import COMMANDS
from bot.engine.text import Text
from bot.engine.turn import Context, TurnResult, clean_text


def step(data: UserData, event: Incoming, ctx: Context) -> TurnResult:
    """Handle one incoming event."""
    turn = Text(data, event, ctx)
    if turn.person is not None:
        turn.upgrade_flow()
        turn.person = copy_with(
            turn.person, last_seen_at=ctx.now, locale=ctx.locale, chat_id=event.who.chat_id
        )
    if event.kind is Kind.COMMAND and event.command not in COMMANDS and turn.stops(event.command):
        turn.event = event = replace(event, kind=Kind.TEXT, text=event.command)  # "/stop" is "stop" typed
    schedule = turn.data.schedule
    if schedule is not None and schedule.unanswered:
        turn.data = replace(turn.data, schedule=replace(schedule, unanswered=0))  # they answered
    # Free text, a command's arguments, or a caption / edited text an adapter could not otherwise use:
    # all of it passes the safety check before anything else.
    text = clean_text(event.args if event.kind is Kind.COMMAND else event.text)
    if text and turn.safety(text):
        return turn.result()
    handler = {
        Kind.COMMAND: turn.command,
        Kind.BUTTON: turn.button,
        Kind.TEXT: turn.text,
        Kind.UNSUPPORTED: turn.unsupported,
        Kind.EDITED: turn.edited,
    }[event.kind]
    handler(text)
    return turn.result()
