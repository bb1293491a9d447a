"""The engine turn by turn over a real SQLite store: the whole reflection, recovery, and bad input."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain import Flow, UserKey
from bot.engine import Engine
from bot.engine.say import payload
from bot.store import store_from_url
from tests.chat import Chat, go_to, reach_plan
from tests.conftest import Clock


async def test_first_contact_explains_before_asking(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    text = chat.text
    assert "not therapy" in text and "crisis service" in text
    assert "/mydata" in text and "/forget" in text and "/help" in text
    assert chat.labels == ["Yes, let's begin", "What do you keep about me?"]
    assert (await engine.store.load(chat.who.key)).person is None  # nothing stored before consent


async def test_privacy_button_before_consent_then_consent(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("What do you keep")
    assert "never store anything else you type" in chat.text
    await chat.press("Yes, let's begin")
    assert "which country" in chat.text
    assert (await engine.store.load(chat.who.key)).person is not None


@pytest.mark.parametrize(("locale", "reply"), [("en", "yes"), ("en", "Yeah sure"), ("es", "sí, vale")])
async def test_a_plain_yes_typed_at_shall_we_begin_consents(engine: Engine, locale: str, reply: str) -> None:
    """Before consent nothing is kept, so the plain words are read without a step: a yes is the consent."""
    chat = Chat(engine, locale=locale)
    await chat.send("/start")
    await chat.send(reply)
    assert ("which country" if locale == "en" else "qué país") in chat.text
    assert (await engine.store.load(chat.who.key)).person is not None


async def test_other_words_before_consent_keep_nothing(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.send("no")
    assert "/start" in chat.text
    assert (await engine.store.load(chat.who.key)).person is None


@pytest.mark.parametrize(
    ("question", "answered"), [("what is this?", False), ("what is EMDR?", True), ("who are you?", False)]
)
async def test_a_question_before_start(engine: Engine, question: str, answered: bool) -> None:
    """Before /start a question the knowledge base knows is answered; any other gets how to begin."""
    chat = Chat(engine)
    await chat.send(question)
    assert "I don't know that one" not in chat.text
    assert "Send /start to begin" in chat.text
    assert ("eye movement" in chat.text.casefold()) is answered


async def test_full_reflection_reaches_a_tailored_plan(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(
        chat,
        {"specialist": "Yes, that fits", "practical": "Partly", "ready": "I'm not sure"},
    )
    text = chat.text
    assert "Here is your plan" in text
    assert "needing a specialist" in text and "practical barriers (partly)" in text
    assert "CPT" in text and "sliding-scale" in text  # steps for the reasons recognised
    assert "not being ready" not in text  # "not sure" is not counted as recognised
    assert "weren't sure" in text
    assert "Questions you could ask a new therapist" in text
    stored = (await engine.store.load(chat.who.key)).person
    assert stored is not None and stored.plan_at is not None and stored.country == "IE"
    assert stored.flow.answers["specialist"] == "yes" and stored.flow.answers["rapport"] == "no"


async def test_plan_survives_a_restart(tmp_path: Path, engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await reach_plan(chat, {"rapport": "Yes, that fits"})
    await engine.store.close()
    store = store_from_url(f"sqlite:///{tmp_path / 'test.db'}")
    await store.open()
    again = Engine(store, engine.templates, engine.detector, engine.resources, engine.settings, clock)
    chat2 = Chat(again)
    await chat2.send("/plan")
    assert "not feeling a connection" in chat2.text and "free first call" in chat2.text
    await store.close()


async def test_restart_mid_reflection_continues(tmp_path: Path, engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.press("Yes, that fits")  # ready
    await engine.store.close()
    store = store_from_url(f"sqlite:///{tmp_path / 'test.db'}")
    await store.open()
    again = Chat(Engine(store, engine.templates, engine.detector, engine.resources, engine.settings))
    again.buttons = chat.buttons  # the buttons still on screen
    await again.press("Partly")  # answers the rapport question asked before the restart
    assert "3 of 6" in again.text
    person = (await store.load(chat.who.key)).person
    assert person is not None and person.flow.answers == {"ready": "yes", "rapport": "partly"}
    await store.close()


async def test_stale_button_gets_the_current_question(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    old = chat.button("I stopped going")
    await chat.press("I stopped going")
    await chat.press_payload(old.payload)
    assert "earlier message" in chat.text and "1 of 6" in chat.text
    await chat.press_payload("0|ending|stopped")  # from an older version of the bot
    assert "earlier message" in chat.text and "1 of 6" in chat.text
    await chat.press_payload("garbage that is not ours")
    assert "earlier message" in chat.text


async def test_back_skip_and_stop(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.press("The therapist")
    await chat.press("Yes, that fits")  # ready
    await chat.press("Back")
    assert "1 of 6" in chat.text
    await chat.press("Skip")
    assert "2 of 6" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and "ready" not in person.flow.answers
    await chat.press("Stop for now")
    assert "Everything you've chosen so far is kept" in chat.text
    await chat.send("hello?")
    assert "/start to pick up" in chat.text
    await chat.send("/start")
    await chat.press("Carry on")
    assert "2 of 6" in chat.text


async def test_valid_ending_is_respected(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.press("Skip")  # no country
    await chat.press("I felt better")
    assert "good reason" in chat.text
    await chat.press("Go straight to my plan")
    assert "ended for a good reason" in chat.text and "go back early" in chat.text


async def test_typing_a_label_works_like_pressing(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.send("yes, let's begin")
    assert "which country" in chat.text
    await chat.send("Ireland")
    await chat.send("i stopped going")
    assert "1 of 6" in chat.text


@pytest.mark.parametrize(
    ("locale", "typed", "code"),
    [
        ("en", "UK", "GB"),
        ("en", "i live in england", "GB"),
        ("en", "the states", "US"),
        ("en", "new zealand", "NZ"),
        ("es", "Reino Unido", "GB"),
        ("es", "vivo en EEUU", "US"),
        ("es", "uk", "GB"),  # English names work in Spanish too
    ],
)
async def test_a_country_typed_in_other_words_is_understood(
    engine: Engine, locale: str, typed: str, code: str
) -> None:
    chat = Chat(engine, locale=locale)
    await chat.send("/start")
    await chat.press_payload(chat.buttons[0].payload)  # consent
    await chat.send(typed)
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.country == code, chat.text


async def test_a_word_that_is_also_a_country_code_is_not_a_country(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press_payload(chat.buttons[0].payload)  # consent
    await chat.send("in")
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.country is None and "which country" in chat.text


@pytest.mark.parametrize("state", ["done", "reason:focus"])
async def test_a_country_typed_after_slash_country_is_set_wherever_they_are(
    engine: Engine, state: str
) -> None:
    chat = Chat(engine)
    await (reach_plan(chat) if state == "done" else go_to(chat, state))
    await chat.send("/country")
    await chat.send("i live in spain")
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.country == "ES", chat.text
    assert "helplines for where you are: Spain" in chat.text
    if state == "reason:focus":
        assert "4 of 6" in chat.text  # and the question they were at, again
    await chat.send("/country uk")  # at once, with the country after the command
    assert (await engine.store.load(chat.who.key)).person.country == "GB"
    assert "United Kingdom" in chat.text


@pytest.mark.parametrize(
    ("locale", "reply"), [("es", "Argentina"), ("es", "vivo en chile"), ("en", "i'm in peru")]
)
async def test_a_country_not_listed_gets_the_international_lines(
    engine: Engine, locale: str, reply: str
) -> None:
    chat = Chat(engine, locale=locale)
    await chat.send("/start")
    await chat.press_payload(chat.buttons[0].payload)  # consent
    await chat.send(reply)
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.country == "INTL", chat.text
    assert ("international helplines" if locale == "en" else "internacionales") in chat.text
    assert ("how your last therapy ended" if locale == "en" else "terapia") in chat.text


async def test_a_name_that_is_also_a_country_counts_elsewhere_only_alone(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send("i told jordan")
    assert (await engine.store.load(chat.who.key)).person.country == "IE"  # what go_to chose, kept
    await chat.send("/country")
    await chat.send("Jordan")
    assert (await engine.store.load(chat.who.key)).person.country == "INTL"
    assert "4 of 6" in chat.text


async def test_unexpected_text_and_commands_restate_the_question(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send("/restart")
    assert "Starting fresh" in chat.text and "how your last therapy ended" in chat.text
    await chat.send("I think it was complicated")
    assert "don't keep what you type" in chat.text and "how your last therapy ended" in chat.text
    await chat.send("/frobnicate")
    assert "don't know that command" in chat.text and "how your last therapy ended" in chat.text
    await chat.send("/plan")
    assert "no plan yet" in chat.text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 10_000,
        "🙂🙃💙" * 50,
        "שלום, אני לא בטוח",
        "مرحبا كيف حالك",
        "a\x00b\x07c\x1b[31mred",
        "99",
        "<b>bold</b> & @everyone",
    ],
)
async def test_bad_input_gets_a_kind_reply_and_keeps_state(engine: Engine, text: str) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    before = (await engine.store.load(chat.who.key)).person
    replies = await chat.send(text)
    assert replies and all(r.text for r in replies)
    assert "how your last therapy ended" in chat.text  # the question is asked again
    after = (await engine.store.load(chat.who.key)).person
    assert before is not None and after is not None
    assert after.flow.step == before.flow.step and after.flow.answers == before.flow.answers
    assert "\x00" not in chat.text and "\x1b" not in chat.text


async def test_photos_and_stickers_get_a_kind_reply(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.unsupported()
    assert "only read text" in chat.text
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.unsupported()
    assert "only read text" in chat.text and "which country" in chat.text


async def test_input_after_cancel_and_cancel_at_the_wrong_moment(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/cancel")
    assert "nothing to cancel" in chat.text
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    await chat.send("/cancel")
    assert "Everything you've chosen so far is kept" in chat.text
    await chat.send("Ireland")
    assert "We're paused" in chat.text
    await chat.send("/cancel")
    assert "nothing in progress" in chat.text


async def test_redelivered_update_is_handled_once(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    ireland = chat.button("Ireland").payload
    first = await chat.press_payload(ireland, update_key="777")
    assert first
    assert await chat.press_payload(ireland, update_key="777") == []


async def test_locked_database_gets_a_kind_reply_and_keeps_state(tmp_path: Path, engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    ireland = chat.button("Ireland").payload
    await engine.store.db.execute("PRAGMA busy_timeout = 50")  # type: ignore[attr-defined]
    other = sqlite3.connect(tmp_path / "test.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        await chat.press_payload(ireland)
        assert "couldn't save that just now" in chat.text
        await chat.send("I want to kill myself")
        assert "Are you safe right now?" in chat.text  # a crisis is answered even so
    finally:
        other.rollback()
        other.close()
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.flow.step == "country"
    await chat.press_payload(ireland)
    assert "how your last therapy ended" in chat.text


async def test_state_from_an_older_version_recovers(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    await chat.press("Yes, let's begin")
    key = UserKey("console", "u1")
    data = await engine.store.load(key)
    assert data.person is not None
    old = replace(data.person, flow=Flow(version=0, step="legacy-step", answers={"ready": "yes", "x": "?"}))
    async with engine.store.turn(key) as turn:
        await turn.save(replace(data, person=old))
    await chat.send("hello")
    assert "updated since we last talked" in chat.text
    await chat.send("/start")
    await chat.press("Carry on")
    assert "2 of 6" in chat.text
    person = (await engine.store.load(key)).person
    assert person is not None and person.flow.answers == {"ready": "yes"}


async def test_every_question_button_payload_fits_telegram() -> None:
    from bot.check import all_buttons

    for say in all_buttons():
        for choice in say.choices():
            assert len(choice.payload.encode()) <= 64
    assert len(payload("reason:practical", "unsure").encode()) <= 64
