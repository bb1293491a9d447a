"""Safety and privacy through the engine: crisis replies pre-empt every state, data can be seen and erased."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.domain import Incoming, Kind, UserKey
from bot.engine import Engine, EngineSettings
from bot.logs import RedactingFilter
from tests.chat import Chat, go_to, reach_plan
from tests.conftest import Clock

CRISIS = "I don't want to be alive anymore"
SAFE_Q = "Are you safe right now?"


STATES = [
    "not started",
    "welcome",
    "country",
    "ending",
    "ending_valid",
    *[f"reason:{r}" for r in ("ready", "rapport", "specialist", "focus", "practice", "practical")],
    "paused",
    "done",
]


@pytest.mark.parametrize("state", STATES)
async def test_crisis_reply_pre_empts_every_state(engine: Engine, state: str) -> None:
    chat = Chat(engine)
    await go_to(chat, state)
    replies = await chat.send(CRISIS)
    assert len(replies) == 1
    assert SAFE_Q in chat.text
    assert "Samaritans" in chat.text or "findahelpline" in chat.text.lower()
    assert "of 6" not in chat.text  # no flow question competes with it
    assert chat.labels == [
        "I'm safe right now",
        "I'm not safe",
        "Try a grounding exercise",
        "Make a safety plan",
        "You can check in on me tomorrow",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I WANT TO KILL MYSELF",
        "honestly i want to die 😔😔",
        "I don’t want to wake up tomorrow",  # curly apostrophe
        "no quiero vivir",
        "thanks for the questions. " * 150 + "everyone would be better off without me",
    ],
)
async def test_crisis_phrasings_inside_the_flow(engine: Engine, text: str) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send(text)
    assert SAFE_Q in chat.text


async def test_crisis_as_a_command_argument_and_a_note(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send("/note i want to end my life")
    assert SAFE_Q in chat.text


async def test_crisis_split_across_two_messages(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send("honestly i just want to")
    assert SAFE_Q not in chat.text
    await chat.send("die")
    assert SAFE_Q in chat.text


async def test_split_detection_forgets_after_ten_minutes(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send("honestly i just want to")
    clock.advance(minutes=11)
    await chat.send("die")
    assert SAFE_Q not in chat.text


async def test_idioms_do_not_trigger(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send("this form is killing me lol, I was dying laughing")
    assert SAFE_Q not in chat.text
    assert "1 of 6" in chat.text


async def test_interrupted_flow_can_be_resumed(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send(CRISIS)
    await chat.press("I'm safe right now")
    assert "carry on where we were" in chat.text
    await chat.press("Carry on where I was")
    assert "4 of 6" in chat.text  # focus, asked again
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None
    assert person.flow.answers == {"ready": "partly", "rapport": "partly", "specialist": "partly"}


async def test_crisis_then_not_now_pauses_and_start_resumes(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:rapport")
    await chat.send(CRISIS)
    await chat.press("I'm safe right now")
    await chat.press("Not now")
    assert "Everything you've chosen so far is kept" in chat.text
    await chat.send("/start")
    await chat.press("Carry on")
    assert "2 of 6" in chat.text


async def test_not_safe_gets_the_emergency_number(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "country")
    await chat.press("United Kingdom")
    await chat.send(CRISIS)
    await chat.press("I'm not safe")
    assert "Call 999 or 112" in chat.text
    assert chat.labels == ["I'm safe right now", "Try a grounding exercise"]


async def test_stale_flow_button_during_crisis_returns_to_the_check(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    old = chat.button("Yes, that fits").payload
    await chat.send(CRISIS)
    await chat.press_payload(old)
    assert "earlier message" in chat.text and "are you safe right now?" in chat.text.lower()


@pytest.mark.parametrize(
    ("country", "locale", "expected"),
    [
        ("United Kingdom", "en", "Samaritans"),
        ("United States", "en", "988"),
        ("Australia", "en", "Lifeline"),
        ("India", "en", "Tele-MANAS"),
        ("Mexico", "en", "800 911 2000"),
        (None, "en-MX", "800 911 2000"),  # no stated country: the locale's region decides
        (None, "de-DE", "TelefonSeelsorge"),
        (None, "en", "Samaritans"),  # neither: the operator's default (GB in these tests)
    ],
)
async def test_resources_follow_country_then_locale_then_default(
    engine: Engine, country: str | None, locale: str, expected: str
) -> None:
    chat = Chat(engine, locale=locale)
    await go_to(chat, "country")
    await chat.press(country or "Skip")
    await chat.send("/help")
    assert expected in chat.text
    assert "findahelpline.com" in chat.text


async def test_help_before_start_uses_the_operator_default(
    engine: Engine, templates: object, clock: Clock
) -> None:
    us = Engine(
        engine.store,
        engine.templates,
        engine.detector,
        engine.resources,
        EngineSettings(default_country="US"),
        clock,
    )
    chat = Chat(us)
    await chat.send("/help")
    assert "988" in chat.text and "/forget" in chat.text


async def test_under_18_is_pointed_to_youth_services(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "country")
    await chat.press("United Kingdom")
    await chat.send("I'm 16")
    assert "Childline" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.youth
    await chat.send(CRISIS)
    assert "Childline" in chat.text and "Samaritans" in chat.text


async def test_mydata_before_start_and_forget_twice(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/mydata")
    assert "don't keep anything" in chat.text
    await chat.send("/forget")
    assert "nothing to delete" in chat.text
    await go_to(chat, "reason:ready")
    await chat.send("/forget")
    await chat.press("Yes, delete everything")
    assert "Everything I kept about you is deleted" in chat.text
    await chat.send("/forget")
    assert "nothing to delete" in chat.text
    old_confirm = "1|*|forget_yes"
    await chat.press_payload(old_confirm)
    assert "nothing to delete" in chat.text


async def test_forget_erases_every_table(engine: Engine) -> None:
    chat = Chat(engine, platform="telegram")
    await reach_plan(chat)
    await chat.press_payload("1|*|country.GB", update_key="tg-1")  # leaves a dedupe row
    key = UserKey("telegram", "u1")
    assert (await engine.store.table_rows_for(key))["processed_updates"] == 1
    await chat.send("/forget")
    await chat.press("Yes, delete everything")
    assert set((await engine.store.table_rows_for(key)).values()) == {0}
    await chat.send(CRISIS)  # after /forget, a crisis is still answered
    assert SAFE_Q in chat.text
    assert set((await engine.store.table_rows_for(key)).values()) == {0}  # and nothing is stored


async def test_keeping_data_when_forget_is_declined(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send("/forget")
    await chat.press("No, keep it")
    assert "nothing was deleted" in chat.text and "1 of 6" in chat.text
    assert (await engine.store.load(chat.who.key)).person is not None


async def test_mydata_shows_everything_and_exports_json(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat, {"specialist": "Yes, that fits"})
    await chat.send("/note ask about EMDR")
    await chat.send("/mydata")
    message = chat.last[0]
    assert "Needed a specialist: yes" in message.text and "ask about EMDR" in message.text
    assert message.attachment is not None
    export = json.loads(message.attachment.content)
    assert export["person"]["conversation"]["answers"]["specialist"] == "yes"
    assert export["person"]["note"] == "ask about EMDR"
    assert export["person"]["country"] == "IE"


async def test_free_text_never_reaches_the_database_or_logs(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "my-therapist-zanzibar-quokka"
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send(f"well {secret} was weird")
    await chat.send(f"{secret} I want to die")
    await engine.store.checkpoint()  # type: ignore[attr-defined]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("test.db*"))
    assert secret.encode() not in on_disk
    assert secret not in caplog.text and "want to die" not in caplog.text


def test_log_redaction_removes_tokens() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    redactor = RedactingFilter([token, "discord.secret.value"])
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST %s", (f"https://api.telegram.org/bot{token}/getMe",), None
    )
    redactor.filter(record)
    assert token not in record.getMessage() and "[redacted]" in record.getMessage()
    assert "discord.secret.value" not in redactor.redact("token=discord.secret.value")


async def test_retention_expires_inactive_people(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    clock.advance(days=31)  # the engine fixture keeps data 30 days
    assert await engine.expire_inactive() == 1
    assert (await engine.store.load(chat.who.key)).person is None


@pytest.mark.parametrize("kind", [Kind.UNSUPPORTED, Kind.EDITED])
async def test_captions_and_edits_pass_the_safety_check(engine: Engine, kind: Kind) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await engine.handle(Incoming(chat.who, kind, text="a photo of my pills, I want to end it all"))
    replies = await engine.handle(Incoming(chat.who, kind, text="I want to end my life"))
    assert SAFE_Q in replies[0].text
    harmless = await engine.handle(Incoming(chat.who, kind, text="my cat"))
    expected = "only read text" if kind is Kind.UNSUPPORTED else "didn't see that change"
    assert expected in harmless[0].text


async def test_forget_leaves_nothing_readable_on_disk(engine: Engine, tmp_path: Path) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    note = "remember-the-quokka-from-zanzibar"
    await chat.send(f"/note {note}")
    await engine.store.checkpoint()

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("test.db*"))

    assert note.encode() in on_disk()  # stored, as the person asked
    await chat.send("/forget")
    await chat.press("Yes, delete everything")
    assert note.encode() not in on_disk()  # secure_delete zeroed it; the WAL was checkpointed
    assert (tmp_path / "test.db-wal").stat().st_size == 0


@pytest.mark.parametrize(
    ("choice", "said", "lines", "not_shown"),
    [  # the test engine's default country is GB
        ("Somewhere else", "international helplines", "findahelpline.com", "Samaritans"),
        ("Skip", "You can set a country any time", "Samaritans", "international helplines"),
        ("United Kingdom", "United Kingdom", "Samaritans", "988"),
    ],
)
async def test_the_country_choice_says_which_lines_and_the_crisis_reply_shows_them(
    engine: Engine, choice: str, said: str, lines: str, not_shown: str
) -> None:
    chat = Chat(engine)
    await go_to(chat, "country")
    await chat.press(choice)
    assert said in chat.text and not_shown not in chat.text
    await chat.send(CRISIS)
    assert lines in chat.text and not_shown not in chat.text
    await chat.send("/mydata")
    if choice == "Somewhere else":
        assert "Country for helplines: international" in chat.text
