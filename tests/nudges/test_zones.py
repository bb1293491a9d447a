"""Time zones read with libraries: Babel's names in English and Spanish, offsets with the right sign and
always confirmed, abbreviations mapped to real places and confirmed, and `Etc/*` never shown by name."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain import Flow, Person, UserData
from bot.engine import Engine
from bot.engine.say import FLOW_VERSION
from bot.engine.steps import DONE
from bot.nudges import zones
from bot.nudges.zone_names import clock_text, date_text, zone_label
from tests.chat import Chat
from tests.nudges.helpers import schedule_of

SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


# ---- reading what people type -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("UTC+2", "Etc/GMT-2"),  # POSIX signs run backwards: UTC+2 is Etc/GMT-2
        ("GMT+2", "Etc/GMT-2"),
        ("+02:00", "Etc/GMT-2"),
        ("utc -5", "Etc/GMT+5"),
        ("GMT−3", "Etc/GMT+3"),  # a typographic minus
        ("UTC+14", "Etc/GMT-14"),
        ("UTC", "UTC"),
        ("GMT+0", "UTC"),
        ("UTC+5:30", "Asia/Kolkata"),  # no Etc zone for half hours: the place that has it
        ("+05:45", "Asia/Kathmandu"),
    ],
)
def test_offsets_have_the_right_sign_and_are_always_confirmed(typed: str, zone: str) -> None:
    found = zones.read_zone(typed, SUMMER)
    assert found == zones.ZoneReading(zone, confirm=True)
    if zone.startswith("Etc/"):
        offset = zones.parse_offset(typed)
        assert offset is not None and SUMMER.astimezone(zones.ZoneInfo(zone)).utcoffset() == offset


@pytest.mark.parametrize("typed", ["UTC+15", "GMT-13", "+02:75", "Etc/GMT+2", "EST5EDT"])
def test_impossible_offsets_and_raw_etc_names_are_not_read(typed: str) -> None:
    assert zones.read_zone(typed, SUMMER) is None


@pytest.mark.parametrize(
    ("typed", "country", "zone"),
    [
        ("EST", None, "America/New_York"),  # the place, with summer time, not the fixed EST zone
        ("est", None, "America/New_York"),
        ("PST", None, "America/Los_Angeles"),
        ("CST", None, "America/Chicago"),
        ("MST", None, "America/Denver"),
        ("CET", None, "Europe/Berlin"),
        ("CET", "ES", "Europe/Madrid"),  # the person's own country first
        ("CEST", "FR", "Europe/Paris"),
        ("IST", None, "Asia/Kolkata"),
        ("IST", "IE", "Europe/Dublin"),
        ("IST", "IL", "Asia/Jerusalem"),
        ("AEST", None, "Australia/Sydney"),
        ("JST", None, "Asia/Tokyo"),
    ],
)
def test_abbreviations_map_to_real_zones_with_a_confirmation(
    typed: str, country: str | None, zone: str
) -> None:
    assert zones.read_zone(typed, WINTER, country) == zones.ZoneReading(zone, confirm=True)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Nueva York", "America/New_York"),
        ("nueva york", "America/New_York"),
        ("Londres", "Europe/London"),
        ("Múnich", "Europe/Berlin"),
        ("Munich", "Europe/Berlin"),
        ("München", "Europe/Berlin"),
        ("Ciudad de México", "America/Mexico_City"),
        ("Calcuta", "Asia/Kolkata"),
        ("Berlín", "Europe/Berlin"),
        ("New York", "America/New_York"),
        ("Europe/Lisbon", "Europe/Lisbon"),
    ],
)
def test_city_names_in_english_and_spanish_resolve_at_once(typed: str, zone: str) -> None:
    assert zones.read_zone(typed, SUMMER) == zones.ZoneReading(zone, confirm=False)


@pytest.mark.parametrize(
    ("typed", "zone", "confirm"),
    [
        ("Alemania", "Europe/Berlin", True),
        ("Japan", "Asia/Tokyo", False),
        ("Estados Unidos", "America/New_York", True),
    ],
)
def test_country_names_give_their_main_zone(typed: str, zone: str, confirm: bool) -> None:
    assert zones.read_zone(typed, SUMMER) == zones.ZoneReading(zone, confirm=confirm)


# ---- showing zones and times ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "locale", "shown"),
    [
        ("Etc/GMT-2", "en", "UTC+2"),
        ("Etc/GMT+5", "es", "UTC-5"),
        ("UTC", "es", "UTC"),
        ("America/New_York", "en", "New York, United States"),
        ("America/New_York", "es", "Nueva York, Estados Unidos"),
        ("Europe/London", "es", "Londres, Reino Unido"),
        ("Europe/Berlin", "es", "Berlín, Alemania"),
    ],
)
def test_zone_labels_are_localised_and_never_etc(zone: str, locale: str, shown: str) -> None:
    assert zone_label(zone, locale) == shown


def test_times_follow_the_locale_clock() -> None:
    at = time(15, 5)
    assert clock_text(at, "en", "US") == "3:05 PM"
    assert clock_text(at, "en", "GB") == "15:05"
    assert clock_text(at, "es", "ES") == "15:05"
    assert clock_text(at, "es", "MX") == "3:05 p.m."
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert date_text(monday, "en", "GB") == "Monday 2 March"
    assert date_text(monday, "es", "ES").startswith("lun")


# ---- the set-up flow, in English and Spanish -----------------------------------------------------
async def at_time_question(engine: Engine, locale: str, country: str | None, user: str = "z1") -> Chat:
    """A person who has finished the reflection, choosing nudges every day, asked what time."""
    chat = Chat(engine, user_id=user, locale=locale)
    now = engine.clock()
    person = Person(
        key=chat.who.key,
        chat_id=chat.who.chat_id,
        locale=locale,
        flow=Flow(version=FLOW_VERSION, step=str(DONE), ending="stopped"),
        created_at=now,
        last_seen_at=now,
        country=country,
        consented_at=now,
    )
    async with engine.store.turn(person.key) as turn:
        await turn.save(UserData(person))
    label = lambda key: engine.templates.label(key, locale)  # noqa: E731
    await chat.send("/nudges")
    await chat.press(label("nudge_yes"))
    await chat.press(label("nudge_rhythm_d"))
    return chat


async def at_zone_question(engine: Engine, locale: str, country: str | None, user: str = "z1") -> Chat:
    """The same person, having chosen 20:00, asked for a zone."""
    chat = await at_time_question(engine, locale, country, user)
    await chat.send("20:00")
    return chat


@pytest.mark.parametrize(
    ("locale", "country", "labels", "press"),
    [
        ("en", "US", ["9:30 AM", "1:00 PM", "6:00 PM", "8:00 PM"], "8:00 PM"),
        ("en", "GB", ["09:30", "13:00", "18:00", "20:00"], "20:00"),
        ("es", "ES", ["9:30", "13:00", "18:00", "20:00"], "20:00"),
        ("es", "MX", ["9:30 a.m.", "1:00 p.m.", "6:00 p.m.", "8:00 p.m."], "8:00 p.m."),
    ],
)
async def test_time_buttons_follow_the_locale_clock(
    engine: Engine, locale: str, country: str, labels: list[str], press: str
) -> None:
    chat = await at_time_question(engine, locale, country)
    assert chat.labels[:4] == labels
    await chat.press(press)
    await chat.send("Berlin")
    assert (await schedule_of(engine, chat)).local_time == "20:00"


def no_etc(chat: Chat) -> None:
    shown = chat.text + " ".join(chat.labels)
    assert "Etc/" not in shown and "GMT-" not in shown


@pytest.mark.parametrize(
    ("locale", "typed", "zone", "shown", "yes"),
    [
        ("en", "UTC+2", "Etc/GMT-2", "So your clock is UTC+2", "Yes, that's right"),
        ("en", "GMT+2", "Etc/GMT-2", "So your clock is UTC+2", "Yes, that's right"),
        ("es", "+02:00", "Etc/GMT-2", "Entonces tu hora es UTC+2", "Sí, es esa"),
        ("es", "GMT-3", "Etc/GMT+3", "Entonces tu hora es UTC-3", "Sí, es esa"),
    ],
)
async def test_an_offset_is_confirmed_and_shown_as_utc(
    engine: Engine, locale: str, typed: str, zone: str, shown: str, yes: str
) -> None:
    chat = await at_zone_question(engine, locale, "GB")
    await chat.send(typed)
    assert shown in chat.text
    no_etc(chat)
    assert (await engine.store.load(chat.who.key)).schedule is None  # nothing saved before the yes
    await chat.press(yes)
    assert (await schedule_of(engine, chat)).timezone == zone
    assert shown.rsplit(" ", 1)[1] in chat.text  # the summary names "UTC+2" too
    no_etc(chat)
    await chat.send("/nudges")
    no_etc(chat)
    await chat.send("/mydata")  # the summary names the zone as "UTC+2" (the file keeps the id)
    assert "(UTC" in chat.text
    no_etc(chat)


@pytest.mark.parametrize(
    ("locale", "typed", "shown", "again", "city", "zone"),
    [
        ("en", "EST", "Is that the time in New York, United States?", "No, let me type a city", "London",
         "Europe/London"),
        ("es", "PST", "¿Es la hora de Los Ángeles, Estados Unidos?", "No, escribo una ciudad", "Londres",
         "Europe/London"),
        ("es", "EST", "¿Es la hora de Nueva York, Estados Unidos?", "No, escribo una ciudad", "Múnich",
         "Europe/Berlin"),
    ],
)  # fmt: skip
async def test_an_abbreviation_is_confirmed_and_can_be_chosen_again(
    engine: Engine, locale: str, typed: str, shown: str, again: str, city: str, zone: str
) -> None:
    chat = await at_zone_question(engine, locale, "GB")
    await chat.send(typed)
    assert shown in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None
    await chat.press(again)  # choose again: the zone question, then a city is used at once
    await chat.send(city)
    assert (await schedule_of(engine, chat)).timezone == zone


async def test_the_abbreviation_yes_stores_the_real_zone(engine: Engine) -> None:
    chat = await at_zone_question(engine, "en", "US")
    await chat.send("EST")
    await chat.press("Yes, that's right")
    assert (await schedule_of(engine, chat)).timezone == "America/New_York"


@pytest.mark.parametrize(
    ("locale", "typed", "zone", "shown"),
    [
        ("es", "Nueva York", "America/New_York", "hora de Nueva York, Estados Unidos"),
        ("es", "Londres", "Europe/London", "hora de Londres, Reino Unido"),
        ("es", "Múnich", "Europe/Berlin", "hora de Berlín, Alemania"),
        ("en", "Munich", "Europe/Berlin", "Berlin, Germany time"),
    ],
)
async def test_localised_cities_set_the_zone_and_the_summary_names_it(
    engine: Engine, locale: str, typed: str, zone: str, shown: str
) -> None:
    chat = await at_zone_question(engine, locale, "ES")
    await chat.send(typed)
    assert (await schedule_of(engine, chat)).timezone == zone
    assert shown in chat.text


async def test_times_are_12_hour_in_the_us_and_24_hour_in_spain(engine: Engine) -> None:
    us = await at_zone_question(engine, "en", "US", user="us")
    await us.send("EST")
    local = engine.clock().astimezone(zones.ZoneInfo("America/New_York"))
    assert f"It's {local.strftime('%-I:%M %p')} there now" in us.text
    await us.press("Yes, that's right")
    assert "at 8:00 PM (New York, United States time)" in us.text
    spain = await at_zone_question(engine, "es", "ES", user="es")
    await spain.send("CET")
    local = engine.clock().astimezone(zones.ZoneInfo("Europe/Madrid"))
    assert f"Allí ahora son las {local.hour}:{local.minute:02d}" in spain.text
    await spain.press("Sí, es esa")
    assert "a las 20:00 (hora de Madrid, España)" in spain.text
    assert (await schedule_of(engine, spain)).timezone == "Europe/Madrid"


async def test_a_clock_guess_never_offers_an_etc_zone(engine: Engine) -> None:
    chat = await at_zone_question(engine, "en", None)  # type: ignore[arg-type]
    await chat.press("I'll tell you my time instead")
    odd = engine.clock() + timedelta(hours=-11)  # UTC-11: only small islands, never "Etc/GMT+11"
    await chat.send(odd.strftime("%H:%M"))
    no_etc(chat)
