"""The baseline: the reflection written the usual python-telegram-bot way, for the comparison benchmarks.

As PTB's own examples build such a bot (conversationbot.py, persistentconversationbot.py): one
`ConversationHandler` with a state per question (consent, country, ending, six reasons, done),
`CommandHandler`s and `CallbackQueryHandler`s, the answers kept in `context.user_data`, and
`PicklePersistence` so a restart keeps the conversations. It says exactly what our bot says (the same
templates, values and buttons), answers every callback query and takes the keyboard off a pressed
message, as our adapter does, so the two differ only in how they keep state.

Persistence is made as durable as our store (which commits every turn): after each update the caller runs
`await app.update_persistence()` and, with `on_flush=True`, `await persistence.flush()`, which writes the
pickle file once per update. PTB's default (`on_flush=False`) would write the whole file once per changed
piece (user_data, then the conversation state), so up to twice per update.

Not a benchmark itself (no `table_rows`/`main`): `telegram_turns` and `jobqueue_nudges` use it.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    PicklePersistence,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from benchmarks._support import TOKEN
from bot.domain import Markup
from bot.engine import steps
from bot.engine.nudging import offer
from bot.engine.reflection import (
    COUNTRIES,
    ENDINGS,
    REASON_STEPS,
    REASONS,
    RECOGNISED,
    VALID_ENDINGS,
    question,
)
from bot.engine.say import ANY_STEP, Choice, Say, payload
from bot.templates import Templates

CONVERSATION = "reflection"
CONSENT, COUNTRY, ENDING, *REASON_STATES, DONE = range(10)
LOCALE = "en"

Context = ContextTypes.DEFAULT_TYPE

_templates: Templates | None = None


def templates() -> Templates:
    global _templates
    if _templates is None:
        _templates = Templates()
    return _templates


async def say(context: Context, chat_id: int, message: Say) -> None:
    """Send one message: the same template, values and buttons our engine renders for Telegram."""
    t = templates()
    text = t.render(message.template, LOCALE, Markup.HTML, **message.values)
    markup = None
    if message.buttons:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(t.label(c.label, LOCALE, **c.values), callback_data=c.payload)
                    for c in row
                ]
                for row in message.buttons
            ]
        )
    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def pressed(update: Update, context: Context) -> tuple[int, str]:
    """Answer the callback query, take the keyboard off its message; (chat id, the value pressed)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await query.edit_message_reply_markup(None)
    context.user_data["last_seen"] = datetime.now(UTC)  # type: ignore[index]  # for retention, as ours
    return update.effective_chat.id, query.data.rsplit("|", 1)[1]  # type: ignore[union-attr]


def plan_values(data: dict[str, Any]) -> dict[str, Any]:
    answers = data.get("answers", {})
    ending = data.get("ending")
    return {
        "recognised": [r for r in REASONS if answers.get(r) in RECOGNISED],
        "partly": [r for r in REASONS if answers.get(r) == "partly"],
        "unsure": [r for r in REASONS if answers.get(r) == "unsure"],
        "ending": ending or "",
        "valid_ending": ending in VALID_ENDINGS,
        "has_note": False,
        "note": "",
    }


# ---- the handlers ------------------------------------------------------------------------------
async def start(update: Update, context: Context) -> int:
    context.user_data["last_seen"] = datetime.now(UTC)  # type: ignore[index]
    welcome = Say(
        "welcome",
        buttons=(
            (Choice("consent_yes", payload(ANY_STEP, "consent")),),
            (Choice("what_stored", payload(ANY_STEP, "privacy")),),
        ),
    )
    await say(context, update.effective_chat.id, welcome)  # type: ignore[union-attr]
    return CONSENT


async def consent(update: Update, context: Context) -> int:
    chat, _ = await pressed(update, context)
    context.user_data["consented_at"] = datetime.now(UTC)  # type: ignore[index]
    await say(context, chat, Say("consent_thanks"))
    await say(context, chat, question(steps.COUNTRY))
    return COUNTRY


async def country(update: Update, context: Context) -> int:
    chat, value = await pressed(update, context)
    code = value.partition(".")[2]
    context.user_data["country"] = code if code in COUNTRIES else None  # type: ignore[index]
    await say(context, chat, Say("country_set", values={"country": code if code in COUNTRIES else ""}))
    await say(context, chat, question(steps.ENDING))
    return ENDING


async def ending(update: Update, context: Context) -> int:
    chat, value = await pressed(update, context)
    context.user_data["ending"] = value if value in ENDINGS else None  # type: ignore[index]
    await say(context, chat, question(REASON_STEPS[0]))
    return REASON_STATES[0]


def reason_handler(index: int) -> Any:
    """The handler for the `index`th reason: keep the answer, ask the next one or finish with the plan."""

    async def answer(update: Update, context: Context) -> int:
        chat, value = await pressed(update, context)
        data = context.user_data
        assert data is not None
        data.setdefault("answers", {})[REASONS[index]] = value
        if index + 1 < len(REASONS):
            await say(context, chat, question(REASON_STEPS[index + 1]))
            return REASON_STATES[index + 1]
        data["plan_at"] = datetime.now(UTC)
        values = plan_values(data)
        await say(context, chat, Say("plan_ready"))
        await say(context, chat, Say("plan", values=values))
        await say(context, chat, Say("plan_questions", values=values))
        await say(context, chat, offer())
        return DONE

    return answer


async def show_plan(update: Update, context: Context) -> int:
    data = context.user_data
    assert data is not None
    data["last_seen"] = datetime.now(UTC)
    values = plan_values(data)
    await say(context, update.effective_chat.id, Say("plan", values=values))  # type: ignore[union-attr]
    await say(context, update.effective_chat.id, Say("plan_questions", values=values))  # type: ignore[union-attr]
    return DONE


async def cancel(update: Update, context: Context) -> int:
    await say(context, update.effective_chat.id, Say("paused"))  # type: ignore[union-attr]
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    """One state per question, as in PTB's conversationbot example; persistent under `CONVERSATION`."""

    def button(callback: Any, step: steps.Step) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=f"^1\\|{step}\\|")

    states: dict[object, list[Any]] = {
        CONSENT: [CallbackQueryHandler(consent, pattern=r"^1\|\*\|consent$")],
        COUNTRY: [CallbackQueryHandler(country, pattern=r"^1\|\*\|country\.")],
        ENDING: [button(ending, steps.ENDING)],
        DONE: [CommandHandler("plan", show_plan)],
    }
    for i, state in enumerate(REASON_STATES):
        states[state] = [button(reason_handler(i), REASON_STEPS[i])]
    with warnings.catch_warnings():
        # per_message=False with CallbackQueryHandlers warns; PTB's own examples build it this way.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states=states,
            fallbacks=[CommandHandler("cancel", cancel)],
            name=CONVERSATION,
            persistent=True,
        )


def build(pickle_path: Path, request: BaseRequest, *, on_flush: bool = True) -> Application:
    """The baseline Application: PicklePersistence at `pickle_path`, the Bot API answered by `request`."""
    persistence = PicklePersistence(filepath=pickle_path, on_flush=on_flush)
    app = (
        Application.builder()
        .token(TOKEN)
        .request(request)
        .get_updates_request(request)
        .persistence(persistence)
        .build()
    )
    app.add_handler(conversation())
    return app


async def handle(app: Application, update: Update) -> None:
    """Process one update and make it as durable as a committed turn: write the pickle file now."""
    await app.process_update(update)
    await app.update_persistence()
    if app.persistence is not None and getattr(app.persistence, "on_flush", False):
        await app.persistence.flush()
