"""Opting in and managing nudges through the engine: one question at a time, stop in any words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import Rhythm
from bot.engine import Engine
from bot.engine.nudging import parse_clock, parse_range
from bot.nudges.words import load_words
from tests.chat import Chat, go_to, reach_plan
from tests.conftest import Clock
from tests.nudges.helpers import opt_in, schedule_of


async def test_offer_follows_the_plan_and_no_thanks_stores_nothing(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    assert "short, kind message" in chat.text and "stop" in chat.text
    assert chat.labels == ["Yes, set them up", "No thanks"]
    await chat.press("No thanks")
    assert "/nudges" in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None


async def test_opt_in_with_buttons_stores_a_schedule_due_at_the_local_time(
    engine: Engine, clock: Clock
) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    assert "How often" in chat.text
    await chat.press("Mon, Wed and Fri")
    assert "What time" in chat.text and chat.labels[:4] == ["09:30", "13:00", "18:00", "20:00"]
    await chat.press("18:00")
    assert "time zone" in chat.text
    await chat.send("new york")
    assert "I'll be in touch" in chat.text and "New York, United States" in chat.text
    s = await schedule_of(engine, chat)
    assert (s.rhythm, s.local_time, s.timezone) == (Rhythm.FEW_WEEKLY, "18:00", "America/New_York")
    assert (s.quiet_start, s.quiet_end) == ("21:00", "09:00")
    assert s.next_due_at is not None and s.next_due_at > clock.now
    local = s.next_due_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (18, 0) and local.weekday() in (0, 2, 4)
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.flow.step == "done"  # back where the person was


async def test_a_time_in_quiet_hours_is_refused_kindly_with_a_suggestion(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    await chat.press("Every day")
    await chat.send("11pm")
    assert "23:00 falls in your quiet hours" in chat.text and "How about 20:30" in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None
    await chat.send("6:15am")
    assert "06:15 falls in your quiet hours" in chat.text and "How about 09:00" in chat.text
    await chat.press("09:00")
    assert "time zone" in chat.text
    await chat.send("Europe/Dublin")
    s = await schedule_of(engine, chat)
    assert s.local_time == "09:00" and s.timezone == "Europe/Dublin"


@pytest.mark.parametrize(("yes", "no"), [("yes", "no"), ("sure", "nope")])
async def test_yes_takes_the_suggested_time_and_no_asks_for_another(
    engine: Engine, yes: str, no: str
) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    await chat.press("Every day")
    await chat.send("8am")
    suggested = chat.text
    assert "09:00" in suggested
    await chat.send(no)  # not "never mind": the time question again
    assert (await engine.store.load(chat.who.key)).person.flow.step == "n:time:d"
    assert "What time of day suits you?" in chat.text and "time zone" not in chat.text
    assert "couldn't read" not in chat.text  # a plain no is an answer, not a badly typed time
    await chat.send("8am")
    await chat.send(yes)  # it used to say "I couldn't read that as a time"
    assert "time zone" in chat.text
    await chat.send("Europe/Dublin")
    assert (await schedule_of(engine, chat)).local_time == "09:00"


async def test_time_zone_from_the_local_time_now_is_confirmed(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await reach_plan(chat)  # country: Ireland
    await chat.press("Yes, set them up")
    await chat.press("Once a week")
    await chat.press("13:00")
    await chat.press("I'll tell you my time")
    assert "What time is it for you right now" in chat.text
    here = clock.now.astimezone(ZoneInfo("Europe/Dublin")) + timedelta(minutes=3)  # a clock a bit fast
    await chat.send(here.strftime("%H:%M"))
    assert "Is that the time in Dublin, Ireland?" in chat.text  # the zone that fits the country they gave
    await chat.press("Yes, that's right")
    s = await schedule_of(engine, chat)
    assert s.timezone == "Europe/Dublin" and s.rhythm is Rhythm.WEEKLY


async def test_a_wrong_guess_lets_the_person_type_a_city(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    await chat.press("Every day")
    await chat.press("20:00")
    await chat.press("I'll tell you my time")
    await chat.send("half past something")
    assert "couldn't work out a time zone" in chat.text
    tokyo = clock.now.astimezone(ZoneInfo("Asia/Tokyo"))
    await chat.send(tokyo.strftime("%I:%M%p").lower())  # e.g. "09:00pm"
    assert "Is that the time in Tokyo, Japan?" in chat.text
    await chat.press("No, let me type a city")
    await chat.send("Atlantis")
    assert "don't know that place" in chat.text
    await chat.send("seoul")
    assert (await schedule_of(engine, chat)).timezone == "Asia/Seoul"


async def test_nudges_command_shows_the_setting_pause_resume_and_change(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    before = await opt_in(chat)
    await chat.send("/nudges")
    assert "every day at 09:30 (Berlin, Germany time)" in chat.text and "21:00 to 09:00" in chat.text
    assert chat.labels == ["Change", "Change quiet hours", "Pause for a week", "Stop these messages"]
    await chat.press("Pause for a week")
    paused = await schedule_of(engine, chat)
    assert paused.next_due_at is not None and paused.next_due_at >= clock.now + timedelta(days=7)
    await chat.send("/nudges")
    assert "resting" in chat.text and "Start them again" in chat.labels
    await chat.press("Start them again")
    assert (await schedule_of(engine, chat)).next_due_at == before.next_due_at
    await chat.send("/nudges")
    await chat.press("Change")
    await chat.press("Once a week")
    await chat.press("18:00")
    await chat.press("Berlin, Germany")  # the zone they have is offered as a button
    changed = await schedule_of(engine, chat)
    assert (changed.rhythm, changed.local_time, changed.timezone) == (Rhythm.WEEKLY, "18:00", "Europe/Berlin")
    assert "changed that" in chat.text


async def test_quiet_hours_can_change_but_not_over_the_chosen_time(engine: Engine) -> None:
    chat = Chat(engine)
    await opt_in(chat, at="20:00")
    await chat.send("/nudges")
    await chat.press("Change quiet hours")
    await chat.send("19:00-07:00")
    assert "would fall inside 19:00 to 07:00" in chat.text
    await chat.send("10pm to 8am")
    assert "between 22:00 and 08:00" in chat.text
    s = await schedule_of(engine, chat)
    assert (s.quiet_start, s.quiet_end) == ("22:00", "08:00")


@pytest.mark.parametrize(
    "words",
    ["stop", "STOP!", "Unsubscribe", "no more messages please", "Don’t text me", "/stop", "/unsubscribe"],
)
async def test_stop_in_any_words_at_any_step(engine: Engine, words: str) -> None:
    chat = Chat(engine)
    await opt_in(chat)
    await chat.send("/restart")  # back in the middle of a reflection question
    await chat.send(words)
    assert "won't send any more messages" in chat.text
    assert "how your last therapy ended" in chat.text  # and the question is still there
    assert (await engine.store.load(chat.who.key)).schedule is None


async def test_stop_words_without_nudges_change_nothing(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:rapport")
    await chat.send("stop")
    assert "won't send" not in chat.text and "2 of 6" in chat.text


async def test_setting_up_mid_reflection_returns_to_the_question(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:focus")
    await chat.send("/nudges")
    await chat.press("Yes, set them up")
    await chat.press("Never mind")
    assert "nothing has changed" in chat.text and "4 of 6" in chat.text
    await chat.send("/nudges")
    await chat.press("Yes, set them up")
    await chat.press("Every day")
    await chat.press("13:00")
    await chat.send("London")
    assert "I'll be in touch" in chat.text and "4 of 6" in chat.text
    await chat.press("Partly")
    assert "5 of 6" in chat.text


async def test_crisis_words_during_setup_get_the_crisis_reply_first(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.press("Yes, set them up")
    await chat.press("Every day")
    await chat.send("I want to kill myself")
    assert "Samaritans" in chat.text or "116 123" in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None


async def test_nudge_buttons_from_old_messages_keep_working_or_answer_kindly(engine: Engine) -> None:
    chat = Chat(engine)
    await opt_in(chat)
    snooze = "1|*|n.snooze"
    await chat.send("/restart")
    await chat.press_payload(snooze)  # days later, mid-reflection
    assert "leave you be for a week" in chat.text
    await chat.press_payload("1|*|n.stop")
    assert "won't send any more" in chat.text
    await chat.press_payload("1|*|n.helpful")
    assert "switched off now" in chat.text and "/nudges" in chat.text
    await chat.press_payload("1|*|n.stop")
    assert "already stopped" in chat.text
    await chat.send("/forget")
    await chat.press("Yes, delete everything")
    await chat.press_payload(snooze)
    assert "switched off now" in chat.text


def test_typed_times_and_ranges() -> None:
    words = load_words()
    cases = {
        "19:30": (19, 30),
        "7pm": (19, 0),
        "7 PM": (19, 0),
        "7.30 p.m.": (19, 30),
        "12am": (0, 0),
        "12pm": (12, 0),
        "0930": (9, 30),
        "9": (9, 0),
    }
    for text, (hour, minute) in cases.items():
        parsed = parse_clock(text, words)
        assert parsed is not None and (parsed.hour, parsed.minute) == (hour, minute), text
    for bad in ("25:00", "13pm", "soon", "", "7:75"):
        assert parse_clock(bad, words) is None, bad
    found = parse_range("10pm – 7:30am", words)
    assert found is not None and [t.strftime("%H:%M") for t in found] == ["22:00", "07:30"]
    assert parse_range("22:00", words) is None


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en", "at 7pm", "19:00"),
        ("en", "around 9", "09:00"),
        ("en", "7 in the evening", "19:00"),
        ("en", "8 in the morning", "08:00"),
        ("es", "a las 9 de la noche", "21:00"),
        ("es", "sobre las 7 de la tarde", "19:00"),
        ("es", "a la 1 de la tarde", "13:00"),
        ("es", "tipo 19:30", "19:30"),
    ],
)
def test_times_said_in_plain_words(locale: str, text: str, expected: str) -> None:
    parsed = parse_clock(text, load_words(locale=locale))
    assert parsed is not None and parsed.strftime("%H:%M") == expected


def test_ranges_said_in_plain_words() -> None:
    found = parse_range("de las 10 de la noche a las 8 de la mañana", load_words(locale="es"))
    assert found is not None and [t.strftime("%H:%M") for t in found] == ["22:00", "08:00"]
    assert parse_clock("at", load_words()) is None


def test_clock_matching_prefers_the_country() -> None:
    from bot.nudges.zones import guess_from_clock, match_zone

    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert guess_from_clock(datetime(2026, 1, 15, 13, 4).time(), now, "FR") == "Europe/Paris"
    assert guess_from_clock(datetime(2026, 1, 15, 13, 4).time(), now, None) == "Europe/Berlin"
    assert guess_from_clock(datetime(2026, 1, 15, 17, 31).time(), now, None) == "Asia/Kolkata"
    assert guess_from_clock(datetime(2026, 1, 15, 13, 22).time(), now, None) is None  # not a real offset
    assert match_zone("new york") == ["America/New_York"]
    assert match_zone("EUROPE/berlin") == ["Europe/Berlin"]
    assert match_zone("") == []
    assert match_zone("Bogotá") == ["America/Bogota"] and match_zone("são paulo") == ["America/Sao_Paulo"]
