"""The personal safety plan through the engine: told what is kept before the first question, built with
skips, seen, changed, exported, deleted on its own, and erased without a trace by /forget."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.domain import UserKey
from bot.engine import Engine
from bot.engine.safety_plan import ANSWER_LIMIT, STEPS
from tests.chat import Chat, go_to, reach_plan

CRISIS = "I don't want to be alive anymore"
SAFE_Q = "Are you safe right now?"
KEPT_NOTICE = "What you write here is kept so you can see it again"
WARNING = "not-sleeping-quokka-signs"
PEOPLE = "my sister Ana-zanzibar 555-0101"


async def _plan(engine: Engine, chat: Chat) -> object:
    person = (await engine.store.load(chat.who.key)).person
    return person.safety_plan if person else None


async def build(chat: Chat) -> None:
    """Warning signs and people written, every other part skipped (professionals: keep the lines)."""
    await chat.send(WARNING)  # 1 warning
    await chat.press("Skip")  # 2 coping
    await chat.press("Skip")  # 3 distract
    await chat.send(PEOPLE)  # 4 people
    await chat.press("Keep these")  # 5 professionals: the country's lines
    await chat.press("Skip")  # 6 surroundings


async def test_from_the_crisis_reply_told_first_then_built_with_skips(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:practice")
    await chat.send(CRISIS)
    await chat.press("Make a safety plan")
    assert KEPT_NOTICE in chat.text and "/forget erases it" in chat.text
    assert "agreeing to what /privacy describes" not in chat.text  # they agreed already
    assert chat.labels == ["Yes, let's make it", "Not now"]
    assert await _plan(engine, chat) is None  # nothing kept before they confirm
    await chat.press("Yes, let's make it")
    assert "1 of 6" in chat.text and "warning" not in chat.labels
    assert chat.labels == ["Skip", "Stop for now"]
    await chat.send(WARNING)
    assert "2 of 6" in chat.text
    await chat.press("Skip")
    await chat.press("Skip")
    await chat.send(PEOPLE)
    assert "5 of 6" in chat.text and "Samaritans" in chat.text  # pre-filled from the country (Ireland)
    assert chat.labels == ["Keep these", "Leave them out", "Skip", "Stop for now"]
    await chat.press("Keep these")
    assert "6 of 6" in chat.text
    await chat.press("Skip")
    saved = chat.last[0].text
    assert "Your safety plan is saved" in saved
    assert f"My warning signs: {WARNING}" in saved and f"People I can ask for help: {PEOPLE}" in saved
    assert "Things I can do on my own: not written yet" in saved and "Samaritans" in saved
    assert "How are you now?" in chat.last[-1].text  # back in the crisis step: asked gently
    assert [b.label for row in chat.last[-1].buttons for b in row] == ["I'm safe right now", "I'm not safe"]
    assert chat.labels[:3] == ["Change a part", "Send it as a file", "Delete my plan"]  # under the plan
    plan = await _plan(engine, chat)
    assert plan is not None and plan.steps == {"warning": WARNING, "people": PEOPLE}  # type: ignore[attr-defined]
    await chat.press("I'm safe right now")
    await chat.press("Carry on where I was")
    assert "5 of 6" in chat.text  # the reflection is where it was


async def test_someone_who_never_agreed_consents_by_confirming(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send(CRISIS)
    assert await engine.store.count_people() == 0
    await chat.press("Make a safety plan")
    assert "agreeing to what /privacy describes" in chat.text
    await chat.press("Not now")
    assert await engine.store.count_people() == 0  # declining keeps nothing
    await chat.press("Yes, let's make it")  # changed their mind: the offer's button still works
    assert "I'll keep your plan" in chat.text and "1 of 6" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.consented_at is not None and person.safety_plan is not None
    await build(chat)
    assert "Your safety plan is saved" in chat.text
    asked = engine.notice("ask_country", "console", "en").text
    assert chat.last[-1].text.endswith(asked)  # then on to the start of the reflection


async def test_safetyplan_shows_changes_and_exports(engine: Engine) -> None:
    chat = Chat(engine, platform="telegram")
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    assert KEPT_NOTICE in chat.text
    await chat.press("Yes, let's make it")
    await build(chat)
    await chat.send("/safetyplan")
    assert chat.text.startswith("Your safety plan:") and WARNING in chat.text
    assert chat.labels == ["Change a part", "Send it as a file", "Delete my plan"]
    await chat.press("Change a part")
    assert len(chat.labels) == 7 and all(len(b.payload.encode()) <= 64 for b in chat.buttons)
    await chat.press("Things I can do on my own")
    assert "2 of 6" in chat.text and "Right now it says: nothing yet" in chat.text
    await chat.send("a walk by the canal")
    assert chat.text.startswith("Changed.") and "Things I can do on my own: a walk by the canal" in chat.text
    await chat.press("Change a part")
    await chat.press("Professionals and services")
    await chat.press("Leave them out")
    assert "Samaritans" not in chat.text and "Professionals and services: not written yet" in chat.text
    await chat.press("Send it as a file")
    [message] = chat.last
    assert message.attachment is not None and message.attachment.filename.endswith(".txt")
    exported = message.attachment.content.decode()
    assert exported.startswith("My safety plan\n")
    assert f"1. My warning signs\n{WARNING}" in exported and "a walk by the canal" in exported
    assert "In an emergency: " in exported
    assert person_step(await engine.store.load(chat.who.key)) == "n:offer"  # back at the offer, unanswered


def person_step(data: object) -> str:
    return data.person.flow.step  # type: ignore[attr-defined]


async def test_long_answers_are_refused_kindly(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await chat.send("x" * (ANSWER_LIMIT + 1))
    assert f"under {ANSWER_LIMIT} characters" in chat.text and "1 of 6" in chat.text
    assert (await _plan(engine, chat)).steps == {}  # type: ignore[union-attr]
    await chat.send("x" * ANSWER_LIMIT)
    assert "2 of 6" in chat.text


async def test_a_crisis_typed_into_the_plan_is_answered_and_not_kept(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await chat.send(CRISIS)
    assert SAFE_Q in chat.text
    assert (await _plan(engine, chat)).steps == {}  # type: ignore[union-attr]


async def test_stop_keeps_what_was_written(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "reason:ready")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await chat.send(WARNING)
    await chat.press("Stop for now")
    assert "kept as far as you got" in chat.text and "1 of 6" in chat.text  # the reflection again
    assert (await _plan(engine, chat)).steps == {"warning": WARNING}  # type: ignore[union-attr]


async def test_stop_typed_in_the_plan_pauses_it_and_is_not_kept(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await chat.send("stop")
    assert "kept as far as you got" in chat.text
    plan = await _plan(engine, chat)
    assert plan is not None and plan.steps == {}  # type: ignore[attr-defined]


async def test_delete_just_the_plan(engine: Engine) -> None:
    chat = Chat(engine)
    await reach_plan(chat)
    await chat.send("/note keep-this-note")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await build(chat)
    await chat.send("/safetyplan")
    await chat.press("Delete my plan")
    assert "deletes your safety plan and nothing else" in chat.text
    await chat.press("No, keep it")
    assert await _plan(engine, chat) is not None
    await chat.send("/safetyplan")
    await chat.press("Delete my plan")
    await chat.press("Yes, delete my plan")
    assert "Your safety plan is deleted" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.safety_plan is None
    assert person.note == "keep-this-note" and person.plan_at is not None  # everything else stays
    await chat.send("/safetyplan")
    assert KEPT_NOTICE in chat.text  # the offer again


async def test_mydata_shows_the_plan_and_exports_it(engine: Engine) -> None:
    chat = Chat(engine)
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await build(chat)
    await chat.send("/mydata")
    assert len(chat.last) == 2
    assert "Safety plan: made 2026-03-01" in chat.last[0].text
    assert (
        chat.last[1].text.startswith("And your safety plan, as I keep it:") and WARNING in chat.last[1].text
    )
    attachment = chat.last[0].attachment
    assert attachment is not None
    export = json.loads(attachment.content)
    assert export["person"]["safety_plan"]["steps"] == {"warning": WARNING, "people": PEOPLE}
    assert export["person"]["safety_plan"]["with_lines"] is True


async def test_forget_leaves_no_trace_of_the_plan(engine: Engine, tmp_path: Path) -> None:
    chat = Chat(engine, platform="telegram")
    await go_to(chat, "done")
    await chat.send("/safetyplan")
    await chat.press("Yes, let's make it")
    await build(chat)
    await chat.press_payload("1|*|fu.yes", update_key="tg-7")  # a check-in and a dedupe row too
    await engine.store.checkpoint()
    key = UserKey("telegram", "u1")

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("test.db*"))

    rows = await engine.store.table_rows_for(key)
    assert rows["people"] == 1 and rows["schedules"] == 1 and rows["processed_updates"] == 1
    assert WARNING.encode() in on_disk() and PEOPLE.encode() in on_disk()  # kept, as they asked
    await chat.send("/forget")
    assert "your safety plan" in chat.text
    await chat.press("Yes, delete everything")
    assert set((await engine.store.table_rows_for(key)).values()) == {0}
    with sqlite3.connect(tmp_path / "test.db") as db:  # every table, not only the ones we know about
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                assert "u1" not in row and WARNING not in str(row), table
    assert WARNING.encode() not in on_disk() and PEOPLE.encode() not in on_disk()
    assert b"zanzibar" not in on_disk()
    assert (tmp_path / "test.db-wal").stat().st_size == 0


def test_six_parts() -> None:
    assert STEPS == ("warning", "coping", "distract", "people", "pros", "safer")


async def test_a_typed_yes_or_no_keeps_or_leaves_out_the_countrys_lines(engine: Engine) -> None:
    for typed, kept in (("no", False), ("yes please", True)):
        chat = Chat(engine, user_id=f"lines-{typed}")
        await go_to(chat, "ending")
        await chat.send("/safetyplan")
        await chat.press("Yes, let's make it")
        for _ in range(4):
            await chat.press("Skip")
        assert "5 of 6" in chat.text
        await chat.send(typed)  # "no" used to be kept as what they wrote, after the lines
        assert "6 of 6" in chat.text
        plan = await _plan(engine, chat)
        assert plan is not None and plan.with_lines is kept and "pros" not in plan.steps
