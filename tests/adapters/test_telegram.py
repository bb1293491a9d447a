"""The Telegram adapter, end to end: `python -m bot run` as a subprocess against the fake Bot API server.

One bot process is shared by the tests that only need a running bot (each acts as a different person);
restarts, crashes and webhook mode get their own fake and process. The sending rules (pacing, retries,
splitting) and the update mapping are also tested in-process, with the real PTB `Bot` against the fake.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram import Bot, Update

from bot.adapters.base import Delivery, Job, Outbox
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.adapter import webhook_target
from bot.adapters.telegram.commands import load_commands
from bot.adapters.telegram.mapping import keyboard, to_incoming
from bot.adapters.telegram.ordering import PerChatProcessor
from bot.adapters.telegram.sending import TelegramSender
from bot.adapters.telegram.settings import TelegramSettings
from bot.config import ConfigError
from bot.domain import Attachment, Button, Kind, Outgoing
from bot.engine import Engine
from bot.safety import CrisisDetector, ResourceBook
from bot.store import store_from_url
from bot.templates import MESSAGES_DIR, Templates
from tests.adapters.telegram_helpers import BotProcess, Person, free_port, to_the_last_question
from tests.fakes.telegram import FakeTelegram, RequestRecord

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNSUPPORTED = "I can only read text here"
CRISIS = "I want to kill myself"
ARE_YOU_SAFE = "are you safe right now"
SLOW = 0.3  # seconds each send takes on the slow fake
LINK = "https://t.me/keepgoing_test_bot?start=group"
SAID: list[str] = []  # everything people typed to the shared bot, checked against its log at the end


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as tg:
        yield tg


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotProcess]:
    """The shared bot, logging at DEBUG: the strictest setting for the no-leak checks."""
    process = BotProcess(fake, tmp_path_factory.mktemp("telegram"), LOG_LEVEL="DEBUG")
    await process.start()
    yield process
    code = await process.terminate()
    assert code == 0, process.log
    process.assert_nothing_leaked(SAID)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `check()` holds (for effects the fake records as requests, not messages)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def sends_to(fake: FakeTelegram, chat_id: int, method: str = "sendMessage") -> list[RequestRecord]:
    return [r for r in fake.calls(method) if str(r.params.get("chat_id")) == str(chat_id)]


# ---- the shared bot -----------------------------------------------------------------------------


async def test_command_menu_is_registered_from_the_messages_folder(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    menu = {c["command"]: c["description"] for c in fake.commands[""]}
    expected = {c.command: c.description for c in load_commands()["en"]}
    assert menu == expected
    assert {"start", "help", "mydata", "forget"} <= set(menu)


async def test_a_full_reflection_by_buttons(fake: FakeTelegram, bot: BotProcess) -> None:
    person = Person(fake, 700_000_001, SAID)
    [welcome] = await person.send("/start")
    assert welcome.parse_mode == "HTML" and "Keep Going" in welcome.text
    pressed = []
    steps = [("Yes, let's begin", 1), ("Ireland", 1), ("I stopped going", 1)]
    steps += [("Not really", 1)] * 5
    for label, replies in steps:
        record = person.last_with_button(label)
        pressed.append(record)
        await person.press(label, replies, record=record)
    pressed.append(person.last_with_button("Partly"))
    person.mark = fake.mark()
    fake.user_presses(person.user_id, pressed[-1].message_id, person.data_for(pressed[-1], "Partly"))
    await fake.wait_for(lambda r: "Questions you could ask a new therapist" in r.text, person.user_id)
    plan = "\n".join(r.text for r in person.new())
    assert "Here is your plan" in plan
    assert "practical" in plan.lower()  # the one reason answered "partly" shows in the plan
    mark = fake.mark()
    fake.user_sends(person.user_id, "/plan")  # answered after the whole turn above (one chat, in order)
    await fake.wait_for(
        lambda r: "Questions you could ask a new therapist" in r.text, person.user_id, since=mark
    )
    texts = [r.text for r in fake.sent(person.user_id) if not r.edited and r.seq <= mark]
    assert len(texts) == len(set(texts))  # no reply was sent twice

    assert fake.unanswered_callbacks() == []
    assert len(fake.answered_callbacks()) >= len(pressed)
    for record in pressed:  # every pressed keyboard was taken away
        assert "reply_markup" not in (fake.message(person.user_id, record.message_id) or {})


async def test_plan_offers_a_note_for_a_new_therapist_as_a_document(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    person = Person(fake, 700_000_009, SAID)
    await person.send("/start")
    for label in ("Yes, let's begin", "United Kingdom", "It ran out"):
        await person.press(label, 1)
    person.mark = fake.mark()
    record = person.last_with_button("Yes, that's the main thing")
    fake.user_presses(
        person.user_id, record.message_id, person.data_for(record, "Yes, that's the main thing")
    )
    await fake.wait_for(lambda r: "Questions you could ask a new therapist" in r.text, person.user_id)
    await person.send("/plan")
    await fake.wait_for(lambda r: "A note for a new therapist" in json.dumps(r.buttons), person.user_id)
    [reply] = await person.press("A note for a new therapist", 1)
    assert "It's yours" in reply.text
    await eventually(lambda: bool(fake.documents(person.user_id)))
    [document] = fake.documents(person.user_id)
    assert document.filename == "keepgoing-note-for-a-new-therapist.md"
    note = (document.content or b"").decode()
    assert note.startswith("# A note for a new therapist") and "practical things got in the way" in note


async def test_free_text_and_a_crisis_message(fake: FakeTelegram, bot: BotProcess) -> None:
    person = Person(fake, 700_000_002, SAID)
    [hint] = await person.send("hello, is anybody there at all")
    assert "/start" in hint.text
    [crisis] = await person.send("I want to end my life")
    assert "Are you safe right now?" in crisis.text
    assert "988" in crisis.text  # the default country's line
    labels = [b["text"] for b in crisis.buttons]
    assert labels == [
        "I'm safe right now",
        "I'm not safe",
        "Try a grounding exercise",
        "Make a safety plan",
        "You can check in on me tomorrow",
    ]
    [safe] = await person.press("I'm safe right now")
    assert safe.text
    assert fake.unanswered_callbacks() == []


async def test_groups_get_a_private_link_and_nothing_personal(fake: FakeTelegram, bot: BotProcess) -> None:
    group, user = -100_700_003, 700_000_003
    mark = fake.mark()
    fake.user_sends(user, "/start", chat_id=group, chat_type="supergroup")
    [pointer] = await fake.wait_for(1, group, since=mark)
    assert LINK in pointer.text and pointer.buttons == []

    SAID.extend(["my therapist never really listened to me", "I feel like a burden to everyone"])
    fake.user_sends(user, SAID[-2], chat_id=group, chat_type="supergroup")
    fake.user_sends(user, SAID[-1], chat_id=group, chat_type="supergroup")
    fake.user_sends(user, "/mydata", chat_id=group, chat_type="supergroup")
    fake.user_sends(user, "/start@some_other_bot", chat_id=group, chat_type="supergroup")
    mark = fake.mark()
    fake.user_sends(user, "/help@keepgoing_test_bot", chat_id=group, chat_type="supergroup")
    # One chat's updates are handled in order, so anything said to the four before would come first.
    new = await fake.wait_for(1, group, since=mark)
    assert [r.text for r in fake.sent(group)] == [pointer.text, pointer.text]
    assert LINK in new[-1].text

    person = Person(fake, user, SAID)  # following the link sends /start group in private
    [welcome] = await person.send("/start group")
    assert "Shall we begin?" in welcome.text


async def test_a_429_storm_delays_but_never_duplicates(fake: FakeTelegram, bot: BotProcess) -> None:
    person = Person(fake, 700_000_004, SAID)
    await person.send("/start")
    fake.force_429(4, retry_after=1)
    welcome = person.last_with_button("Yes, let's begin")
    [reply] = await person.press("Yes, let's begin", 1, record=welcome, timeout=30)
    assert "Thank you" in reply.text and "which country" in reply.text  # one turn, one message
    calls = sends_to(fake, person.user_id, "sendMessage") + sends_to(
        fake, person.user_id, "editMessageReplyMarkup"
    )
    calls.sort(key=lambda r: r.at)
    assert len([r for r in calls if r.status == 429]) == 4
    assert "reply_markup" not in (fake.message(person.user_id, welcome.message_id) or {})
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls) if a.status == 429]
    assert gaps and min(gaps) >= 0.9  # retry_after was honoured every time
    texts = [r.text for r in fake.sent(person.user_id) if not r.edited]
    assert len(texts) == len(set(texts)) == 2
    assert bot.alive


async def test_a_blocked_person_is_not_retried_and_others_carry_on(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    blocked = Person(fake, 777_000_123, SAID)
    await blocked.send("/start")
    SAID.append("please keep this between us, zebra")
    fake.user_sends(blocked.user_id, SAID[-1])
    fake.block(blocked.user_id, notify=False)  # blocks before the bot can answer
    await eventually(lambda: any(r.status == 403 for r in sends_to(fake, blocked.user_id)))
    other = Person(fake, 700_000_005, SAID)
    [welcome] = await other.send("/start")
    assert "Keep Going" in welcome.text
    assert [r.status for r in sends_to(fake, blocked.user_id)] == [200, 403]  # no retry after 403
    assert bot.alive
    assert "777000123" not in bot.log


async def test_photos_stickers_voice_and_files_get_a_kind_text_only_note(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    SAID.append("caption with private words")
    actions: list[Callable[[int], Any]] = [
        lambda user: fake.user_sends_photo(user, caption=SAID[-1]),
        fake.user_sends_sticker,
        fake.user_sends_voice,
        fake.user_sends_document,
        fake.user_sends_location,
    ]
    people = [Person(fake, 700_000_060 + n, SAID) for n in range(len(actions))]  # one chat each: no pacing
    for person, act in zip(people, actions, strict=True):
        person.mark = fake.mark()
        act(person.user_id)
    for person in people:
        [reply] = await person.wait(1)
        assert UNSUPPORTED in reply.text
        assert "/start" in reply.text  # and where to go from here


async def test_an_edited_message_gets_its_own_note(fake: FakeTelegram, bot: BotProcess) -> None:
    person = Person(fake, 700_000_007, SAID)
    SAID.extend(["first version of my words", "second version of my words"])
    original = fake.user_sends(person.user_id, SAID[-2])
    await person.wait(1)
    person.mark = fake.mark()
    fake.user_edits(person.user_id, original["message"]["message_id"], SAID[-1])
    [note] = await person.wait(1)
    assert "send it as a new message" in note.text
    assert "/start" in note.text  # and where to go from here


async def test_long_emoji_rtl_and_markup_like_text_get_kind_replies(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    person = Person(fake, 700_000_008, SAID)
    await person.send("/start")
    await person.press("Yes, let's begin", 1)
    long_text = ("I have been thinking about everything for a long while " * 80)[:4000]
    [reply] = await person.send(long_text, 1)
    assert "can't take in long messages" in reply.text
    assert "which country" in reply.text and len(reply.buttons) == 13
    for text in ["🙂 שלום, مرحبا 👩‍👩‍👧 日本語", "<b>bold?</b> & <script>x</script> &amp; @everyone"]:
        [reply] = await person.send(text, 1)
        # a kind reply (text not expected, or a question it cannot answer), then the same question
        assert "I don't keep what you type" in reply.text or "I don't know that one" in reply.text
        assert "which country" in reply.text and len(reply.buttons) == 13
    assert fake.unanswered_callbacks() == []


# ---- restarts, crashes, webhooks: their own fake and process ---------------------------------------


async def test_stale_button_after_restart_and_a_crash_mid_conversation(tmp_path: Path) -> None:
    said: list[str] = []
    async with FakeTelegram() as tg:
        bot = BotProcess(tg, tmp_path)
        await bot.start()
        try:
            person = Person(tg, 700_000_010, said)
            await person.send("/start")
            await person.press("Yes, let's begin", 1)
            await person.press("Ireland", 1)
            [first] = await person.press("I stopped going")
            assert "1 of 6" in first.text
            [second] = await person.send("Not really")  # typing a label answers too; first keeps its keyboard
            assert "2 of 6" in second.text

            started = time.monotonic()
            assert await bot.terminate() == 0
            assert time.monotonic() - started < 5
            await bot.start()
            [reply] = await person.press("Yes, that fits", 1, record=first)
            assert "earlier message" in reply.text
            assert "2 of 6" in reply.text  # the current question, not a dead end
            await eventually(
                lambda: "reply_markup" not in (tg.message(person.user_id, first.message_id) or {})
            )
            assert tg.unanswered_callbacks() == []

            await bot.kill()  # kill -9 in the middle of the reflection
            await bot.start()
            [third] = await person.press("Partly")
            assert "3 of 6" in third.text
            await person.send("/mydata", 1)
            await eventually(lambda: bool(tg.documents(person.user_id)))
            export = json.loads(tg.documents(person.user_id)[-1].content or b"{}")
            assert export["person"]["conversation"]["answers"] == {"ready": "no", "rapport": "partly"}
            assert export["person"]["country"] == "IE"
            texts = [r.text for r in tg.sent(person.user_id) if not r.edited]
            assert texts.count(third.text) == 1
        finally:
            await bot.close()
        bot.assert_nothing_leaked(said)


async def test_a_crisis_reply_goes_before_everything_still_waiting(tmp_path: Path) -> None:
    """The plan and four more replies are queued for a slow chat; the crisis reply must not wait for them."""
    said: list[str] = []
    async with FakeTelegram() as tg:
        bot = BotProcess(tg, tmp_path, LOG_LEVEL="INFO")
        await bot.start()
        try:
            person = Person(tg, 700_000_030, said)
            last = await to_the_last_question(person)
            tg.send_delay = SLOW
            mark = tg.mark()
            tg.user_presses(person.user_id, last.message_id, person.data_for(last, "Partly"))  # the plan
            for command in ("/plan", "/help", "/plan", "/privacy"):  # four more replies queue up behind it
                tg.user_sends(person.user_id, command)
            await tg.wait_for(lambda r: "Here is your plan" in r.text, person.user_id, since=mark)
            said.append(CRISIS)
            sent_at = time.monotonic()
            tg.user_sends(person.user_id, CRISIS)
            new = await tg.wait_for(lambda r: ARE_YOU_SAFE in r.text.lower(), person.user_id, since=mark)
            crisis = new[-1]
            delay = crisis.at - sent_at
            print(f"telegram: crisis reply {delay:.3f} s after the message")
            assert delay < 1.0
            before = [r for r in new if r.seq < crisis.seq and not r.edited]
            assert "Here is your plan" in before[0].text
            assert len(before) <= 2  # the plan, and at most the one already on the wire

            await asyncio.sleep(3 * SLOW + 2.0)  # time for anything still queued to show up
            after = [r for r in tg.sent(person.user_id) if r.seq > crisis.seq and not r.edited]
            assert after == []  # the stale replies were dropped, not sent late
            sends = sends_to(tg, person.user_id)
            assert ARE_YOU_SAFE in str(sends[-1].params["text"]).lower()  # nothing was even tried after it
            assert all(r.status == 200 for r in sends_to(tg, person.user_id))  # no 429 on the way
            assert re.search(r"urgent reply goes first; [2-5] waiting messages dropped", bot.log)
            assert await bot.terminate() == 0
        finally:
            await bot.close()
        bot.assert_nothing_leaked(said)


async def test_kill_9_before_the_crisis_reply_went_out_the_next_message_brings_it(tmp_path: Path) -> None:
    """The crisis turn is committed, its reply held on the wire, and the bot is killed: the reply is lost.
    The next message, whatever it says, gets the crisis lines and the question again (the flow is still
    in the crisis step)."""
    said: list[str] = []
    async with FakeTelegram() as tg:
        bot = BotProcess(tg, tmp_path)
        await bot.start()
        try:
            person = Person(tg, 700_000_031, said)
            await person.send("/start")
            await person.press("Yes, let's begin")  # consent: from here on the flow is kept
            tg.hold(person.user_id)
            said.append(CRISIS)
            tg.user_sends(person.user_id, CRISIS)

            def held() -> list[RequestRecord]:
                texts = [(r, str(r.params.get("text", "")).lower()) for r in sends_to(tg, person.user_id)]
                return [r for r, text in texts if ARE_YOU_SAFE in text]

            await eventually(lambda: bool(held()))  # the turn was saved; its reply is on the wire
            [lost] = held()
            lines = str(lost.params["text"])
            await bot.kill()
            tg.release(person.user_id)
            await eventually(lambda: lost.status is not None)
            assert lost.status == 0  # the fake never delivered it: the client was gone
            assert not any(ARE_YOU_SAFE in r.text.lower() for r in tg.sent(person.user_id))

            await bot.start()
            said.append("hello?")
            [reply] = await person.send("hello?")
            assert ARE_YOU_SAFE in reply.text.lower()
            assert "988" in lines and "988" in reply.text  # the same line the lost reply had
            assert "I'm safe right now" in [b["text"] for b in reply.buttons]
            assert await bot.terminate() == 0
        finally:
            await bot.close()
        bot.assert_nothing_leaked(said)


async def test_a_second_poller_on_the_same_token_stops_one_process_with_a_clear_message(
    tmp_path: Path,
) -> None:
    """Telegram ends one of two overlapping polls with 409 Conflict; that process must stop (exit 2, one
    line saying why) instead of fighting the other for ever, and must leave the other one polling."""
    async with FakeTelegram() as tg:
        bots = [BotProcess(tg, folder) for folder in (tmp_path / "a", tmp_path / "b")]
        for bot in bots:
            bot.workdir.mkdir()
        try:
            await bots[0].start()
            await bots[1].start()
            assert bots[0].proc is not None and bots[1].proc is not None
            waits = {asyncio.ensure_future(bot.proc.wait()): bot for bot in bots}  # type: ignore[union-attr]
            done, pending = await asyncio.wait(waits, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            assert len(done) == 1, "neither process stopped"
            stopped = waits[done.pop()]
            [survivor] = [bot for bot in bots if bot is not stopped]
            await stopped._drain()
            assert stopped.proc is not None and stopped.proc.returncode == 2
            assert stopped.log.strip().splitlines()[-1] == (
                "keepgoing: another process is already polling this bot token; "
                "use webhook mode (TELEGRAM_WEBHOOK_URL) to run several processes"
            )
            assert "Traceback" not in stopped.log
            await asyncio.sleep(2)  # past PTB's pause before a retry: the stopped one must not poll again
            assert survivor.alive
            assert len(await Person(tg, 700_000_020).send("/start")) == 1  # and it still answers
            assert await survivor.terminate() == 0
        finally:
            for bot in bots:
                await bot.close()


async def test_webhook_mode_checks_the_secret_and_drops_redeliveries(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg"
    said: list[str] = []
    async with FakeTelegram() as tg:
        bot = BotProcess(
            tg,
            tmp_path,
            TELEGRAM_WEBHOOK_URL=url,
            TELEGRAM_WEBHOOK_SECRET="s3cret",
            TELEGRAM_LISTEN_HOST="127.0.0.1",
            TELEGRAM_LISTEN_PORT=str(port),
            LOG_LEVEL="DEBUG",
        )
        await bot.start(ready="setWebhook")
        try:
            assert tg.webhook_url == url and tg.webhook_secret == "s3cret"
            person = Person(tg, 700_000_011, said)
            [welcome] = await person.send("/start")
            assert "Shall we begin?" in welcome.text
            await person.press("Yes, let's begin", 1)
            assert tg.unanswered_callbacks() == []

            forged = {
                "update_id": 999_999,
                "message": {
                    "message_id": 500,
                    "date": int(time.time()),
                    "chat": {"id": person.user_id, "type": "private", "first_name": "X"},
                    "from": {"id": person.user_id, "is_bot": False, "first_name": "X"},
                    "text": "/privacy",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                },
            }
            said.append("a message Telegram delivers twice")
            person.mark = tg.mark()
            update = tg.user_sends(person.user_id, said[-1])
            await person.wait(1)

            mark = tg.mark()
            assert (await tg.post_update_raw(url, forged, secret="wrong-secret"))[0] == 403
            assert (await tg.post_update_raw(url, forged))[0] == 403
            assert (await tg.post_update_raw(url, update, secret="s3cret"))[0] == 200  # a redelivery
            tg.user_sends(person.user_id, "/privacy")  # one chat is handled in order: this comes last
            new = await tg.wait_for(lambda r: r.text.startswith("What I keep"), person.user_id, since=mark)
            assert [r.text.split("\n")[0] for r in new if not r.edited] == ["What I keep, and why:"]
            assert await bot.terminate() == 0
        finally:
            await bot.close()
        bot.assert_nothing_leaked([*said, "wrong-secret", "s3cret"])


async def test_webhook_mode_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        bot = BotProcess(tg, tmp_path, TELEGRAM_WEBHOOK_URL="https://example.org/tg")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=bot.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET must be set" in err.decode()
    assert "Traceback" not in err.decode()
    assert tg.requests == []  # refused before talking to Telegram at all


async def test_an_error_in_one_update_gets_a_kind_note_and_the_bot_carries_on(
    tmp_path: Path, detector: CrisisDetector, resources: ResourceBook, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "messages"
    shutil.copytree(MESSAGES_DIR, root)
    (root / "en" / "consent_thanks.j2").unlink()  # pressing "Yes, let's begin" now fails in the engine
    store = store_from_url(f"sqlite:///{tmp_path / 'kg.db'}")
    await store.open()
    engine = Engine(store, Templates(root), detector, resources)
    async with FakeTelegram() as tg:
        adapter = TelegramAdapter(engine, TelegramSettings(token=tg.token, api_url=tg.api_url))
        await adapter.start()
        try:
            person = Person(tg, 700_000_020)
            await person.send("/start")
            [note] = await person.press("Yes, let's begin")
            assert "something went wrong on my side" in note.text
            assert tg.unanswered_callbacks() == []  # answered although handling failed
            [again] = await person.send("/help")  # the bot carries on
            assert again.text
        finally:
            await adapter.stop()
            await store.close()
    failures = [r.getMessage() for r in caplog.records if "update failed" in r.getMessage()]
    assert failures and "TemplateNotFound" in failures[0]


# ---- sending, in-process with the real PTB Bot ----------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def real_bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


def known_chat(tg: FakeTelegram, user_id: int) -> str:
    tg.user_sends(user_id, "hi")  # the fake only delivers to chats it has seen
    return str(user_id)


async def test_long_text_is_split_with_buttons_on_the_last_part(tg: FakeTelegram, real_bot: Bot) -> None:
    chat = known_chat(tg, 801)
    paragraph = "Some words &amp; more words. " * 60
    text = "\n\n".join([paragraph.strip()] * 5)  # about 9,000 characters
    buttons = ((Button("Fine", "1|*|ok"), Button("Too long", "é" * 33)),)  # 66 bytes: dropped
    sender = TelegramSender(real_bot)
    assert await sender.send(chat, Outgoing(text, buttons)) is Delivery.SENT
    parts = tg.sent(801)
    assert len(parts) >= 3 and all(len(p.text) <= 4096 for p in parts)
    assert [p.callback_data for p in parts] == [[]] * (len(parts) - 1) + [["1|*|ok"]]
    assert all(p.parse_mode == "HTML" for p in parts)


async def test_a_private_message_is_never_posted_in_a_group(tg: FakeTelegram, real_bot: Bot) -> None:
    tg.user_sends(808, "hi", chat_id=-808, chat_type="group")
    sender = TelegramSender(real_bot)
    assert await sender.send("-808", Outgoing("Your plan: ...")) is Delivery.UNREACHABLE
    assert tg.calls("sendMessage") == []
    assert await sender.send("-808", Outgoing("A note for everyone", private=False)) is Delivery.SENT


async def test_attachment_follows_the_text(tg: FakeTelegram, real_bot: Bot) -> None:
    chat = known_chat(tg, 802)
    message = Outgoing("Here is everything I keep.", attachment=Attachment("my-data.json", b'{"a": 1}'))
    assert await TelegramSender(real_bot).send(chat, message) is Delivery.SENT
    [document] = tg.documents(802)
    assert (document.filename, document.content) == ("my-data.json", b'{"a": 1}')
    assert tg.requests[-2].method == "sendMessage" and tg.requests[-1].method == "sendDocument"


async def test_blocked_and_unknown_chats_are_unreachable_without_retries(
    tg: FakeTelegram, real_bot: Bot
) -> None:
    chat = known_chat(tg, 803)
    tg.block(803, notify=False)
    sender = TelegramSender(real_bot)
    assert await sender.send(chat, Outgoing("Hello")) is Delivery.UNREACHABLE
    assert await sender.send("123456", Outgoing("Hello")) is Delivery.UNREACHABLE
    assert [r.status for r in tg.calls("sendMessage")] == [403, 400]


async def test_network_trouble_is_retried_a_bounded_number_of_times(tg: FakeTelegram, real_bot: Bot) -> None:
    chat = known_chat(tg, 804)
    sender = TelegramSender(real_bot, max_attempts=3)
    tg.drop_connections(2)
    assert await sender.send(chat, Outgoing("Second time lucky")) is Delivery.SENT
    assert tg.texts(804) == ["Second time lucky"]
    tg.drop_connections(10)
    started = len(tg.requests)
    assert await sender.send(chat, Outgoing("Never arrives")) is Delivery.FAILED
    assert len(tg.requests) - started == 3


async def test_flood_control_waits_as_told_and_gives_up_on_absurd_waits(
    tg: FakeTelegram, real_bot: Bot
) -> None:
    chat = known_chat(tg, 805)
    sender = TelegramSender(real_bot)
    tg.force_429(1, retry_after=1)
    assert await sender.send(chat, Outgoing("After a pause")) is Delivery.SENT
    first, second = tg.calls("sendMessage")
    assert (first.status, second.status) == (429, 200) and second.at - first.at >= 0.95
    tg.force_429(1, retry_after=3600)
    assert await sender.send(chat, Outgoing("Not for an hour")) is Delivery.FAILED
    assert len(tg.calls("sendMessage")) == 3


async def test_pacing_keeps_one_chat_under_telegrams_limit(tg: FakeTelegram, real_bot: Bot) -> None:
    chat = known_chat(tg, 806)
    sender = TelegramSender(real_bot)
    started = time.monotonic()
    results = await asyncio.gather(*(sender.send(chat, Outgoing(f"Message {n}")) for n in range(6)))
    assert results == [Delivery.SENT] * 6
    # A burst of two (the third slot of Telegram's burst is kept for an urgent reply), then one a second.
    assert time.monotonic() - started >= 4.0
    assert all(r.status == 200 for r in tg.calls("sendMessage"))  # the fake never had to say 429


async def test_the_overall_rate_is_a_per_process_budget() -> None:
    async with (
        FakeTelegram(global_rate=5.0) as slow,  # a server that allows 5 messages a second in all
        Bot(slow.token, base_url=slow.base_url) as real_bot,
    ):
        chats = [known_chat(slow, 900 + n) for n in range(12)]
        sender = TelegramSender(real_bot, overall_rate=5.0, max_chats=4)
        started = time.monotonic()
        results = await asyncio.gather(*(sender.send(c, Outgoing("Hello")) for c in chats))
        assert results == [Delivery.SENT] * 12
        assert time.monotonic() - started >= 1.2
        assert all(r.status == 200 for r in slow.calls("sendMessage"))
        assert sender.tracked_chats <= 4  # one bucket per chat, but never more than the bound


def _job(sender: TelegramSender, chat: str, text: str, *, urgent: bool = False, turn: object = None) -> Job:
    async def run(interrupt: asyncio.Event | None) -> Delivery:
        return await sender.send(chat, Outgoing(text, urgent=urgent), interrupt=interrupt)

    return Job(run, urgent=urgent, turn=turn)


async def test_an_urgent_message_takes_the_next_slot_and_stale_ones_are_dropped(
    tg: FakeTelegram, real_bot: Bot
) -> None:
    chat = known_chat(tg, 809)
    sender, outbox = TelegramSender(real_bot), Outbox("telegram")
    outbox.put(chat, [_job(sender, chat, f"Part {n}") for n in range(6)])
    nudge = asyncio.create_task(outbox.send(chat, _job(sender, chat, "A nudge")))
    await tg.wait_for(2, 809)  # a burst of two; the rest waits for the chat's pace
    started = time.monotonic()
    outbox.put(chat, [_job(sender, chat, "Are you safe?", urgent=True)])
    await tg.wait_for(lambda r: r.text == "Are you safe?", 809)
    assert time.monotonic() - started < 0.5  # not behind the chat's backlog
    assert await nudge is Delivery.FAILED  # dropped: the dispatcher tries it again later
    outbox.put(chat, [_job(sender, chat, "Later")])  # ordinary again: paced, the urgent slot paid back
    await tg.wait_for(lambda r: r.text == "Later", 809)
    assert tg.texts(809) == ["Part 0", "Part 1", "Are you safe?", "Later"]
    assert outbox.dropped == 5  # parts 2-5 (one of them already waiting for its slot) and the nudge
    assert all(r.status == 200 for r in tg.calls("sendMessage"))  # Telegram never had to say 429
    await eventually(lambda: outbox.busy_chats == 0)  # nothing left: the queue and its task are gone


async def test_stopping_drains_the_queues_for_a_bounded_time_then_drops_the_rest(
    tg: FakeTelegram, real_bot: Bot
) -> None:
    chat = known_chat(tg, 811)
    sender, outbox = TelegramSender(real_bot), Outbox("telegram")
    outbox.put(chat, [_job(sender, chat, f"Part {n}") for n in range(10)])  # about ten seconds' worth
    await tg.wait_for(2, 811)
    started = time.monotonic()
    await outbox.close(grace=0.5)
    assert time.monotonic() - started < 1.0
    assert outbox.busy_chats == 0
    sent = len(tg.texts(811))
    await asyncio.sleep(1.5)
    assert len(tg.texts(811)) == sent < 10  # the rest was dropped, not sent after the stop


async def test_drained_waits_for_every_queue_including_ones_filled_meanwhile() -> None:
    outbox, sent = Outbox("telegram"), []

    def job(chat: str, text: str, then: tuple[str, str] | None = None) -> Job:
        async def run(_interrupt: asyncio.Event | None) -> Delivery:
            await asyncio.sleep(0)
            sent.append(text)
            if then is not None:
                outbox.put(then[0], [job(*then)])
            return Delivery.SENT

        return Job(run)

    outbox.put("1", [job("1", "a"), job("1", "b", then=("2", "late"))])
    outbox.put("3", [job("3", "c")])
    await outbox.drained()
    assert sorted(sent) == ["a", "b", "c", "late"]
    assert outbox.busy_chats == 0
    await outbox.drained()  # nothing queued: returns at once


async def test_the_rest_of_a_turn_is_dropped_when_one_reply_fails(tg: FakeTelegram, real_bot: Bot) -> None:
    chat = known_chat(tg, 810)
    tg.block(810, notify=False)
    sender, outbox = TelegramSender(real_bot), Outbox("telegram")
    turn = object()
    done = asyncio.create_task(outbox.send(chat, _job(sender, chat, "first", turn=turn)))
    await asyncio.sleep(0)  # queued
    outbox.put(chat, [_job(sender, chat, "second", turn=turn)])
    assert await done is Delivery.UNREACHABLE
    await eventually(lambda: outbox.busy_chats == 0)
    assert len(tg.calls("sendMessage")) == 1  # the second was never tried


async def test_a_pressed_keyboard_is_removed_once_and_quietly(tg: FakeTelegram, real_bot: Bot) -> None:
    chat = known_chat(tg, 807)
    sender = TelegramSender(real_bot)
    await sender.send(chat, Outgoing("Pick one", ((Button("A", "1|*|a"),),)))
    [message] = tg.sent(807)
    await sender.remove_keyboard(chat, message.message_id)
    await sender.remove_keyboard(chat, message.message_id)  # "not modified" is not an error
    await sender.remove_keyboard(chat, 9999)  # nor is a message that is gone
    assert "reply_markup" not in (tg.message(807, message.message_id) or {})
    assert [r.status for r in tg.calls("editMessageReplyMarkup")] == [200, 400, 400]


# ---- pure parts -------------------------------------------------------------------------------------


def parse(raw: dict[str, Any]) -> Update:
    update = Update.de_json(raw, None)
    assert update is not None
    return update


async def test_updates_map_to_incoming_events() -> None:
    tg = FakeTelegram()
    text = to_incoming(parse(tg.user_sends(5, "hello", language_code="pt-BR")))
    assert text is not None
    assert (text.kind, text.text, text.locale, text.private) == (Kind.TEXT, "hello", "pt-BR", True)
    assert (text.who.platform, text.who.user_id, text.who.chat_id) == ("telegram", "5", "5")
    assert text.update_key is not None and text.update_key.isdigit()

    start = to_incoming(parse(tg.user_sends(5, "/Start@keepgoing_test_bot group")))
    assert start is not None and (start.kind, start.command, start.args) == (Kind.COMMAND, "start", "group")
    slash = to_incoming(parse(tg.user_sends(5, "and/or /this")))
    assert slash is not None and slash.kind is Kind.TEXT

    photo = to_incoming(parse(tg.user_sends_photo(5, caption="look")))
    assert photo is not None and (photo.kind, photo.text) == (Kind.UNSUPPORTED, "look")
    for raw in (tg.user_sends_sticker(5), tg.user_sends_voice(5), tg.user_sends_location(5)):
        event = to_incoming(parse(raw))
        assert event is not None and event.kind is Kind.UNSUPPORTED

    group = to_incoming(parse(tg.user_sends(6, "/start", chat_id=-42, chat_type="group")))
    assert group is not None and not group.private and group.who.chat_id == "-42"

    raw = tg.user_sends(7, "no language")
    del raw["message"]["from"]["language_code"]
    plain = to_incoming(parse(raw))
    assert plain is not None and plain.locale == "en"


async def test_buttons_edits_and_service_messages_map_too() -> None:
    tg = FakeTelegram()
    tg.user_sends(5, "hi")
    bot_message = tg._bot_message(
        tg._chats[5],
        {"text": "Q"},
        raw_text="Q",
        parse_mode=None,
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "1|x|a"}]]},
        method="sendMessage",
    )
    press = to_incoming(parse(tg.user_presses(5, bot_message["message_id"], "1|x|a")))
    assert press is not None and (press.kind, press.payload, press.who.chat_id) == (Kind.BUTTON, "1|x|a", "5")

    edited = to_incoming(parse(tg.user_edits(5, 1, "changed")))
    assert edited is not None and (edited.kind, edited.text) == (Kind.EDITED, "changed")

    joined = tg.user_sends(6, "x", chat_id=-42, chat_type="group")
    del joined["message"]["text"]
    joined["message"]["new_chat_members"] = [{"id": 1, "is_bot": True, "first_name": "Keep Going"}]
    assert to_incoming(parse(joined)) is None

    from_bot = tg.user_sends(8, "beep")
    from_bot["message"]["from"]["is_bot"] = True
    assert to_incoming(parse(from_bot)) is None


async def test_keyboard_drops_only_the_payloads_telegram_would_refuse() -> None:
    markup = keyboard(((Button("ok", "a" * 64), Button("too long", "a" * 65)), (Button("bytes", "ж" * 33),)))
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["a" * 64]]
    assert keyboard(((Button("x", "é" * 40),),)) is None


async def test_a_keyboard_is_made_once_and_a_refused_button_is_logged_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = ((Button("Yes", "1|*|yes"), Button("No", "1|*|no")),)
    assert keyboard(rows) is keyboard(((Button("Yes", "1|*|yes"), Button("No", "1|*|no")),))
    refused = ((Button("ok", "1|*|ok"), Button("too long", "a" * 65)),)
    first, second = keyboard(refused), keyboard(refused)
    assert first is not None and second is not None
    assert [[b.callback_data for b in row] for row in second.inline_keyboard] == [["1|*|ok"]]
    assert sum("dropped a button" in r.getMessage() for r in caplog.records) == 2


async def test_webhook_settings_are_checked_before_anything_starts() -> None:
    assert webhook_target(TelegramSettings(token="t")) is None
    ok = TelegramSettings(webhook_url="https://bot.example.org/hooks/tg", webhook_secret="a_B-9")
    assert webhook_target(ok) == ("https://bot.example.org/hooks/tg", "hooks/tg")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET must be set"):
        webhook_target(TelegramSettings(webhook_url="https://bot.example.org/tg"))
    with pytest.raises(ConfigError, match="only"):
        webhook_target(TelegramSettings(webhook_url="https://x.org/tg", webhook_secret="no spaces"))
    with pytest.raises(ConfigError, match="URL"):
        webhook_target(TelegramSettings(webhook_url="bot.example.org/tg", webhook_secret="s"))


async def test_command_menu_file_fits_telegrams_rules() -> None:
    for commands in load_commands().values():
        assert 1 <= len(commands) <= 100
        for command in commands:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", command.command)
            assert 1 <= len(command.description) <= 256


async def test_one_chat_in_order_while_other_chats_run_alongside() -> None:
    tg = FakeTelegram()
    processor = PerChatProcessor()
    order: list[str] = []

    async def handle(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        order.append(name)

    first, second = parse(tg.user_sends(1, "a")), parse(tg.user_sends(1, "b"))
    other = parse(tg.user_sends(2, "c"))
    await asyncio.gather(
        processor.process_update(first, handle("1a", 0.2)),
        processor.process_update(second, handle("1b", 0)),
        processor.process_update(other, handle("2c", 0.05)),
    )
    assert order == ["2c", "1a", "1b"]
    assert processor.busy_chats == 0  # the lock table forgets idle chats
