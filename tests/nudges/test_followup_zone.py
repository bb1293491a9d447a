"""The check-in after a hard moment names a fixed-offset zone as "UTC+2" (never "Etc/GMT-2"), both in
the message that sets it and in /mydata, in English and Spanish."""

from __future__ import annotations

import json

import pytest

from bot.engine import Engine
from tests.nudges.helpers import schedule_of
from tests.nudges.test_zones import at_zone_question


@pytest.mark.parametrize(
    ("locale", "crisis", "mydata_line"),
    [
        ("en", "I don't want to be alive anymore", "Check-in after a hard moment:"),
        ("es", "Ya no quiero seguir viviendo", "Mensaje para saber cómo estás:"),
    ],
)
async def test_check_in_names_an_offset_as_utc(
    engine: Engine, locale: str, crisis: str, mydata_line: str
) -> None:
    label = lambda key: engine.templates.label(key, locale)  # noqa: E731
    chat = await at_zone_question(engine, locale, "GB")
    await chat.send("UTC+2")
    await chat.press(label("nudge_zone_yes"))
    assert (await schedule_of(engine, chat)).timezone == "Etc/GMT-2"
    await chat.send(crisis)
    await chat.press(label("followup_yes"))
    assert "(UTC+2)" in chat.text and "Etc/" not in chat.text, chat.text
    await chat.send("/mydata")
    [line] = [x for x in chat.text.splitlines() if x.startswith(mydata_line)]
    assert line.endswith("(UTC+2)") and "Etc/" not in chat.text, chat.text
    export = json.loads(chat.last[0].attachment.content)  # type: ignore[union-attr]
    assert export["check_in"]["timezone"] == "Etc/GMT-2"  # the file keeps the id itself
