"""The dispatcher over a real SQLite store with a controllable clock: who gets what, when, and how often."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.adapters.base import Delivery
from bot.adapters.console import ConsoleAdapter
from bot.dispatcher import Dispatcher, DispatchSettings, dry_run
from bot.domain import Rhythm, Schedule, TargetKind
from bot.engine import Engine
from bot.engine.say import Say
from bot.nudges.content import CARE, COMMUNITY, RECENT_KEEP, SESSION, STEP
from bot.store.base import NudgeOutcome, NudgeRecord
from tests.chat import Chat
from tests.conftest import Clock
from tests.fakes.sink import Sink
from tests.nudges.helpers import opt_in, schedule_of

BERLIN = ZoneInfo("Europe/Berlin")


def dispatcher(engine: Engine, clock: Clock, sink: Sink, **settings: object) -> Dispatcher:
    return Dispatcher(engine.store, engine, [sink], DispatchSettings(**settings), clock=clock)  # type: ignore[arg-type]


def log_rows(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(tmp_path / "test.db") as db:
        return db.execute("SELECT slot_at, outcome, template FROM nudge_log ORDER BY slot_at").fetchall()


async def test_a_week_of_daily_nudges_arrives_once_a_day_at_local_time(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # the week Berlin moves its clocks forward
    chat = Chat(engine)
    await opt_in(chat, at="09:30", zone="Berlin")
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    seen: list[datetime] = []
    for _ in range(8 * 24 * 4):  # a pass every 15 minutes for eight days
        clock.advance(minutes=15)
        before = len(sink.sent)
        await run.run_once()
        seen.extend([clock.now] * (len(sink.sent) - before))
    local = [t.astimezone(BERLIN) for t in seen]
    assert [t.date() for t in local] == [date(2026, 3, 26) + timedelta(days=i) for i in range(8)]
    assert all((t.hour, t.minute) == (9, 30) for t in local)  # on both sides of the DST change
    assert all(chat_id == chat.who.chat_id for chat_id, _ in sink.sent)
    assert len(log_rows(tmp_path)) == len(seen)


async def test_nothing_is_sent_twice_or_early(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    s = await opt_in(chat)
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    assert s.next_due_at is not None
    clock.now = s.next_due_at - timedelta(seconds=1)
    await run.run_once()
    assert sink.sent == []
    clock.now = s.next_due_at
    await run.run_once()
    await run.run_once()
    assert len(sink.sent) == 1
    text = sink.texts[0]
    assert "/help" in text
    labels = [b.label for row in sink.sent[0][1].buttons for b in row]
    assert labels == ["This helped", "Snooze a week", "Change", "Stop these messages", "I booked a session"]


async def test_catch_up_after_downtime_sends_one_and_none_past_the_grace_window(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    chat = Chat(engine)
    s = await opt_in(chat, at="09:30")
    assert s.next_due_at is not None
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    clock.now = s.next_due_at + timedelta(days=3, minutes=40)  # down for three days, back 40 min late
    await run.run_once()
    await run.run_once()
    assert len(sink.sent) == 1  # one catch-up, not four
    after = await schedule_of(engine, chat)
    assert after.next_due_at == s.next_due_at + timedelta(days=4)
    clock.now = after.next_due_at + timedelta(hours=7)  # down again, back after the grace window
    await run.run_once()
    assert len(sink.sent) == 1
    assert [outcome for _, outcome, _ in log_rows(tmp_path)] == ["sent", "missed"]
    assert (await schedule_of(engine, chat)).next_due_at == s.next_due_at + timedelta(days=5)


async def test_a_late_slot_is_not_sent_in_quiet_hours(engine: Engine, clock: Clock, tmp_path: Path) -> None:
    chat = Chat(engine)
    s = await opt_in(chat, at="20:30")
    assert s.next_due_at is not None
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    clock.now = s.next_due_at + timedelta(minutes=45)  # 21:15 local: within grace, but quiet
    await run.run_once()
    assert sink.sent == []
    assert [outcome for _, outcome, _ in log_rows(tmp_path)] == ["quiet"]
    clock.now = s.next_due_at + timedelta(days=1)
    await run.run_once()
    assert len(sink.sent) == 1


async def test_failed_sends_are_retried_with_backoff_not_lost_not_doubled(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    chat = Chat(engine)
    s = await opt_in(chat)
    assert s.next_due_at is not None
    sink = Sink()
    sink.answer(Delivery.FAILED, Delivery.FAILED)  # e.g. 429 Too Many Requests, twice
    run = dispatcher(engine, clock, sink)
    clock.now = s.next_due_at
    report = await run.run_once()
    assert report.retrying == 1 and sink.sent == []
    await run.run_once()  # straight away: still backing off
    assert sink.attempts == 1
    clock.advance(seconds=30)
    await run.run_once()
    assert sink.attempts == 2 and sink.sent == []
    clock.advance(seconds=30)
    await run.run_once()
    clock.advance(minutes=5)
    await run.run_once()
    assert sink.attempts == 3 and len(sink.sent) == 1
    assert log_rows(tmp_path)[0][:2] == (s.next_due_at.isoformat(timespec="microseconds"), "sent")


async def test_unreachable_opts_out_and_is_never_retried(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    chat = Chat(engine)
    s = await opt_in(chat)
    assert s.next_due_at is not None
    sink = Sink()
    sink.answer(Delivery.UNREACHABLE)  # the person blocked the bot
    run = dispatcher(engine, clock, sink)
    clock.now = s.next_due_at
    for _ in range(10):
        await run.run_once()
        clock.advance(days=1)
    assert sink.attempts == 1
    assert (await schedule_of(engine, chat)).next_due_at is None
    assert [outcome for _, outcome, _ in log_rows(tmp_path)] == ["unreachable"]
    await chat.send("/nudges")
    assert "paused" in chat.text and "Start them again" in chat.labels


async def test_an_expired_lease_is_claimed_again_and_a_stale_owner_cannot_record(
    engine: Engine, clock: Clock
) -> None:
    chat = Chat(engine)
    s = await opt_in(chat)
    assert s.next_due_at is not None and s.id is not None
    clock.now = s.next_due_at
    crashed = await engine.store.claim_due(
        clock.now, "crashed-worker", clock.now + timedelta(minutes=5), 10, ["console"]
    )
    assert [d.schedule.id for d in crashed] == [s.id]
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    await run.run_once()
    assert sink.sent == []  # leased by someone else
    clock.advance(minutes=5)
    await run.run_once()
    assert len(sink.sent) == 1  # the lease expired: picked up
    late = await engine.store.record_nudge(
        NudgeRecord(
            s.id,
            crashed[0].slot_at,
            "crashed-worker",
            NudgeOutcome.SENT,
            clock.now,
            next_due_at=clock.now,
            template="nudges/care_1",
            recent_templates=("nudges/care_1",),
        )
    )
    assert late is False
    assert (await schedule_of(engine, chat)).sent_count == 1


async def test_wording_rotates_and_tiny_steps_follow_what_was_recognised(
    engine: Engine, clock: Clock
) -> None:
    chat = Chat(engine)
    s = await opt_in(chat, answers={"rapport": "Yes, that fits", "practical": "Partly"})
    assert s.next_due_at is not None
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    templates = []
    for day in range(30):
        clock.now = s.next_due_at + timedelta(days=day)
        await run.run_once()
        templates.append((await schedule_of(engine, chat)).recent_templates[-1])
        if day % 2 == 0:
            await chat.send("/plan")  # the person answers now and then
    for i, template in enumerate(templates):
        assert template not in templates[max(0, i - RECENT_KEEP) : i], (i, template)
    steps = {t for t in templates if t.startswith("nudges/step_")}
    assert steps == {STEP["rapport"], STEP["practical"]}
    assert sum(t in CARE for t in templates) > len(templates) // 2  # mostly care and hope


async def test_unanswered_nudges_lead_to_a_question_not_a_silent_change(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    s = await opt_in(chat)
    assert s.next_due_at is not None
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    for day in range(4):
        clock.now = s.next_due_at + timedelta(days=day)
        await run.run_once()
    assert "Would you like fewer" in sink.texts[3]
    assert all("fewer" not in t for t in sink.texts[:3])
    assert (await schedule_of(engine, chat)).rhythm is Rhythm.DAILY  # nothing changed by itself
    chat.buttons = [b for row in sink.sent[3][1].buttons for b in row]
    await chat.press("Yes, send fewer")
    after = await schedule_of(engine, chat)
    assert after.rhythm is Rhythm.FEW_WEEKLY and after.unanswered == 0
    assert "Mondays, Wednesdays and Fridays" in chat.text


async def test_the_milestone_is_celebrated_and_changes_what_follows(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine)
    s = await opt_in(chat)
    assert s.next_due_at is not None
    sink = Sink()
    run = dispatcher(engine, clock, sink)
    clock.now = s.next_due_at
    await run.run_once()
    chat.buttons = [b for row in sink.sent[0][1].buttons for b in row]
    await chat.press("I booked a session")
    assert "real step" in chat.text
    for day in range(1, 4):
        clock.now = s.next_due_at + timedelta(days=day)
        await run.run_once()
    after = await schedule_of(engine, chat)
    assert after.milestone == "booked"
    assert all(t in SESSION for t in after.recent_templates[-3:])
    assert "I booked a session" not in [b.label for row in sink.sent[-1][1].buttons for b in row]


async def test_a_channel_gets_the_community_post_without_personal_buttons(
    engine: Engine, clock: Clock
) -> None:
    store = engine.store
    channel = await store.upsert_channel_schedule(
        Schedule(
            platform="console",
            target_kind=TargetKind.CHANNEL,
            target_id="chan-1",
            chat_id="chan-1",
            rhythm=Rhythm.WEEKLY,
            local_time="12:00",
            timezone="UTC",
            next_due_at=clock.now,
            created_at=clock.now,
        )
    )
    assert channel.id is not None
    sink = Sink()
    await dispatcher(engine, clock, sink).run_once()
    [(chat_id, message)] = sink.sent
    assert chat_id == "chan-1" and message.buttons == () and message.private is False
    assert message.text in {engine.render([Say(t)], "console", "en")[0].text for t in COMMUNITY}
    assert await store.delete_channel_schedule("console", "chan-1") is True
    assert await store.delete_channel_schedule("console", "chan-1") is False


async def test_dry_run_lists_who_gets_what_without_sending(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine, user_id="123456789")
    s = await opt_in(chat, at="18:00")
    planned = [p async for p in dry_run(engine.store, clock.now, 72)]
    assert len(planned) == 3
    assert {p.target for p in planned} == {"12…89"} and all(p.platform == "console" for p in planned)
    assert all(" 18:00 " in p.local for p in planned)
    assert len({p.template for p in planned}) == 3
    assert (await schedule_of(engine, chat)) == s  # nothing claimed or changed


async def test_the_console_shows_a_due_nudge_in_the_running_chat(engine: Engine, clock: Clock) -> None:
    chat = Chat(engine, user_id="local")
    s = await opt_in(chat)
    out = io.StringIO()
    console = ConsoleAdapter(engine, user_id="local", stdin=io.StringIO(""), stdout=out)
    run = Dispatcher(engine.store, engine, [console], clock=clock)
    assert s.next_due_at is not None
    clock.now = s.next_due_at
    await run.run_once()
    shown = out.getvalue()
    assert "/help" in shown and "1. This helped" in shown and "4. Stop these messages" in shown
    assert replace(await schedule_of(engine, chat), next_due_at=None).sent_count == 1
