"""The check-in the day after a crisis reply: only when asked for in the crisis reply, one message at a
reasonable local hour through the dispatcher, with the nudges' stop and snooze buttons, sent once, kept
across restarts, erased by /forget and shown in /mydata."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.dispatcher import Dispatcher, DispatchSettings, dry_run
from bot.engine import Engine
from bot.store import store_from_url
from tests.chat import Chat, go_to
from tests.conftest import Clock
from tests.fakes.sink import Sink
from tests.nudges.helpers import opt_in

CRISIS = "I don't want to be alive anymore"
ASK = "You can check in on me tomorrow"
CHECK_IN = "You asked me to check in today"
LONDON = ZoneInfo("Europe/London")


def dispatcher(engine: Engine, clock: Clock, sink: Sink) -> Dispatcher:
    return Dispatcher(engine.store, engine, [sink], DispatchSettings(), clock=clock)


async def run_for(run: Dispatcher, clock: Clock, sink: Sink, days: float) -> list[datetime]:
    """A pass every 15 minutes; the instants at which something was sent."""
    seen: list[datetime] = []
    for _ in range(int(days * 24 * 4)):
        clock.advance(minutes=15)
        before = len(sink.sent)
        await run.run_once()
        seen.extend([clock.now] * (len(sink.sent) - before))
    return seen


async def test_asked_for_in_the_crisis_reply_it_comes_once_the_next_day(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "country")
    await chat.press("United Kingdom")
    await chat.send(CRISIS)
    await chat.press(ASK)
    assert "I'll check in tomorrow, 2026-03-02 around 11:00 your time (London, United Kingdom)" in chat.text
    assert ASK not in chat.labels and "I'm safe right now" in chat.labels  # asked once; the rest stay
    sink = Sink()
    sent = await run_for(dispatcher(engine, clock, sink), clock, sink, days=4)
    assert len(sent) == 1
    local = sent[0].astimezone(LONDON)
    assert (local.date().isoformat(), local.hour) == ("2026-03-02", 11)
    [(chat_id, message)] = sink.sent
    assert chat_id == chat.who.chat_id and CHECK_IN in message.text and "/help" in message.text
    assert [b.label for row in message.buttons for b in row] == [
        "This helped",
        "Snooze a week",
        "Stop these messages",
    ]
    followup = (await engine.store.load(chat.who.key)).followup
    assert followup is not None and followup.next_due_at is None and followup.sent_count == 1


async def test_without_consent_nothing_is_sent(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "ending")
    await chat.send(CRISIS)
    await chat.press("I'm safe right now")
    sink = Sink()
    assert await run_for(dispatcher(engine, clock, sink), clock, sink, days=3) == []
    assert (await engine.store.load(chat.who.key)).followup is None


async def test_their_nudge_time_and_zone_are_used_and_nudges_go_on(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await opt_in(chat, at="18:00", zone="Berlin")
    await chat.send(CRISIS)
    await chat.press(ASK)
    assert "2026-03-02 around 18:00 your time (Berlin, Germany)" in chat.text
    sink = Sink()
    await run_for(dispatcher(engine, clock, sink), clock, sink, days=3)
    check_ins = [m for _, m in sink.sent if CHECK_IN in m.text]
    assert len(check_ins) == 1
    assert len(sink.sent) == 4  # and the daily nudges: 1, 2 and 3 March at 18:00 Berlin


async def test_durable_across_a_restart(engine: Engine, clock: Clock, tmp_path: Path) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send(CRISIS)
    await chat.press(ASK)
    await engine.store.close()  # the bot stops; a new process opens the same file
    store = store_from_url(f"sqlite:///{tmp_path / 'test.db'}")
    await store.open()
    try:
        again = Engine(store, engine.templates, engine.detector, engine.resources, engine.settings, clock)
        sink = Sink()
        run = Dispatcher(store, again, [sink], DispatchSettings(), clock=clock)
        sent = await run_for(run, clock, sink, days=2)
        assert len(sent) == 1 and CHECK_IN in sink.texts[0]
    finally:
        await store.close()
        await engine.store.open()  # the fixture closes it


async def test_forget_erases_it_and_mydata_shows_it(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send(CRISIS)
    await chat.press(ASK)
    await chat.send("/mydata")
    assert "Check-in after a hard moment: 2026-03-02 at 11:00" in chat.text
    export = json.loads(chat.last[0].attachment.content)  # type: ignore[union-attr]
    assert export["check_in"]["sent"] is False and export["check_in"]["timezone"] == "Europe/Dublin"
    await chat.send("/forget")
    await chat.press("Yes, delete everything")
    sink = Sink()
    assert await run_for(dispatcher(engine, clock, sink), clock, sink, days=2) == []


async def test_someone_who_never_agreed_is_told_what_is_kept(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await chat.send(CRISIS)
    await chat.press(ASK)
    assert "I keep your chat id, your language and that time, and nothing you type" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.consented_at is not None
    sink = Sink()
    assert len(await run_for(dispatcher(engine, clock, sink), clock, sink, days=2)) == 1


async def test_stop_typed_or_pressed_cancels_it(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send(CRISIS)
    await chat.press(ASK)
    await chat.press("I'm safe right now")
    await chat.send("stop")
    assert "I won't check in" in chat.text
    sink = Sink()
    assert await run_for(dispatcher(engine, clock, sink), clock, sink, days=2) == []
    other = Chat(engine, user_id="u2")
    await go_to(other, "done")
    await other.send(CRISIS)
    await other.press(ASK)
    await other.press_payload("1|*|fu.stop")  # the check-in's own Stop button, before it is sent
    assert (await engine.store.load(other.who.key)).followup is None


async def test_its_buttons_after_it_arrives(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await opt_in(chat, at="18:00", zone="Berlin")
    await chat.send(CRISIS)
    await chat.press(ASK)
    sink = Sink()
    await run_for(dispatcher(engine, clock, sink), clock, sink, days=2)
    message = next(m for _, m in sink.sent if CHECK_IN in m.text)
    chat.buttons = [b for row in message.buttons for b in row]
    await chat.press("Snooze a week")
    assert "leave you be for a week" in chat.text  # their nudges rest a week
    await chat.press_payload(message.payloads[2])  # Stop these messages
    assert "I won't send any more messages" in chat.text
    assert (await engine.store.load(chat.who.key)).schedule is None


async def test_dry_run_lists_it_once(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send(CRISIS)
    await chat.press(ASK)
    planned = [p async for p in dry_run(engine.store, clock.now, hours=24 * 7)]
    assert [p.template for p in planned] == ["followup/message"]
    assert planned[0].at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


async def test_late_at_night_it_waits_for_a_real_tomorrow(engine: Engine, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 23:30 in London
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send(CRISIS)
    await chat.press(ASK)
    followup = (await engine.store.load(chat.who.key)).followup
    assert followup is not None and followup.next_due_at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    clock.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 01:00: "tomorrow" is after some sleep
    other = Chat(engine, user_id="u2")
    await go_to(other, "done")
    await other.send(CRISIS)
    await other.press(ASK)
    later = (await engine.store.load(other.who.key)).followup
    assert later is not None and later.next_due_at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert later.next_due_at - clock.now >= timedelta(hours=8)
