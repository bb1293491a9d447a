"""Prove the fake Telegram server with the real python-telegram-bot library."""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram import SECRET_HEADER, FakeTelegram, parse_html

USER = 42


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as real:
        yield real


def seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB settings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def keyboard(*datas: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"b{i}", callback_data=d)] for i, d in enumerate(datas)]
    )


async def test_get_me_and_wrong_token(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "keepgoing_test_bot" and me.is_bot
    assert tg.calls("getMe")[-1].status == 200
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=tg.base_url):
            pass
    assert tg.calls("getMe")[-1].status == 401
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_send_html_stores_plain_and_raw_text(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends(USER, "/start")
    raw = '<b>Hi</b> &amp; <a href="https://example.org">link</a> &lt;3 &#128578;'
    message = await bot.send_message(USER, raw, parse_mode="HTML")
    assert message.text == "Hi & link <3 🙂"
    assert [e.type for e in message.entities] == ["bold", "text_link"]
    [record] = tg.sent(USER)
    assert (record.text, record.raw_text, record.parse_mode) == (message.text, raw, "HTML")


@pytest.mark.parametrize(
    "html",
    [
        "<div>x</div>",
        "I <3 you",
        "<b>open",
        "<b>x</i>",
        "x</b>",
        "Tom & Jerry",
        '<span class="big">x</span>',
        "<br/>",
    ],
)
def test_parse_html_rejects_what_telegram_rejects(html: str) -> None:
    with pytest.raises(Exception, match="can't parse entities"):
        parse_html(html)


def test_parse_html_accepts_the_allowed_tags() -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><code>c</code><pre><code class="language-py">p'
        '</code></pre><tg-spoiler>t</tg-spoiler><span class="tg-spoiler">x</span>'
        "<blockquote>q</blockquote> a &gt; b"
    )
    plain, entities = parse_html(html)
    assert plain == "bsieunskdcptxq a > b"
    assert {"type": "pre", "offset": 10, "length": 1, "language": "py"} in entities


async def test_bad_html_raises_bad_request(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends(USER, "hello")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<div>nope</div>", parse_mode="HTML")
    assert tg.sent(USER) == []
    assert tg.calls("sendMessage")[-1].status == 400


async def test_text_limits(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends(USER, "hello")
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)
    # The limit applies after entity parsing: markup does not count.
    await bot.send_message(USER, "<b>" + "y" * 4090 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")


async def test_callback_data_is_limited_to_64_bytes(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends(USER, "hello")
    await bot.send_message(USER, "ok", reply_markup=keyboard("a" * 64))
    await bot.send_message(USER, "ok", reply_markup=keyboard("ж" * 32))  # 64 bytes
    for data in ("a" * 65, "ж" * 33):
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(USER, "no", reply_markup=keyboard(data))


async def test_blocked_and_unknown_chats(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(USER, "never started")
    tg.user_sends(USER, "/start")
    tg.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, "typing")
    tg.unblock(USER)
    await bot.send_message(USER, "welcome back")
    kinds = [next(k for k in u if k != "update_id") for u in tg.pending_updates()]
    assert kinds == ["message", "my_chat_member", "my_chat_member"]


async def test_force_429_raises_retry_after(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends(USER, "hi")
    tg.force_429(2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "storm")
        assert seconds(caught.value) == 7
    await bot.send_message(USER, "calm")
    assert [r.status for r in tg.calls("sendMessage")] == [429, 429, 200]


async def test_rate_limits_per_chat_and_group() -> None:
    clock = FakeClock()
    async with FakeTelegram(clock=clock) as tg, Bot(tg.token, base_url=tg.base_url) as bot:
        tg.user_sends(USER, "hi")
        for _ in range(3):  # the burst
            await bot.send_message(USER, "quick")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "too quick")
        assert seconds(caught.value) == 1
        clock.now += 1.0
        await bot.send_message(USER, "paced")

        group = -100123
        tg.user_sends(USER, "hi all", chat_id=group, chat_type="supergroup")
        for _ in range(20):
            await bot.send_message(group, "g")
            clock.now += 1.0
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group, "21st this minute")
        assert seconds(caught.value) == 40  # the first of the 20 leaves the window then
        clock.now += 40
        await bot.send_message(group, "fits again")


async def test_edits_buttons_and_callback_answers(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends(USER, "/start")
    sent = await bot.send_message(USER, "Pick", reply_markup=keyboard("yes", "no"))
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Pick", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("yes", "no")
        )

    update = tg.user_presses(USER, sent.message_id, "yes")
    query_id = update["callback_query"]["id"]
    query = Update.de_json(update, bot).callback_query
    assert (query.data, query.message.text) == ("yes", "Pick")
    assert update["callback_query"]["message"]["message_id"] == sent.message_id
    assert [q["id"] for q in tg.unanswered_callbacks()] == [query_id]
    assert await bot.answer_callback_query(query_id, text="Noted")
    assert tg.unanswered_callbacks() == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)

    # Editing the text without reply_markup removes the keyboard, as on Telegram.
    edited = await bot.edit_message_text("Chosen: yes", chat_id=USER, message_id=sent.message_id)
    assert edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    with pytest.raises(ValueError):
        tg.user_presses(USER, sent.message_id, "no")  # the button is gone
    assert [(r.text, r.edited) for r in tg.sent(USER)] == [("Pick", False), ("Chosen: yes", True)]


async def test_commands_documents_and_actions(tg: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "Beginnen")], language_code="de")
    assert [c["command"] for c in tg.commands[""]] == ["start", "help"]
    assert tg.commands["de"] == [{"command": "start", "description": "Beginnen"}]
    assert [c.description for c in await bot.get_my_commands(language_code="de")] == ["Beginnen"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])

    tg.user_sends(USER, "/export")
    await bot.send_chat_action(USER, "upload_document")
    message = await bot.send_document(USER, b"line\n", filename="export.txt", caption="Yours")
    [doc] = tg.documents(USER)
    assert (doc.filename, doc.content, doc.caption) == ("export.txt", b"line\n", "Yours")
    assert message.document.file_name == "export.txt"


async def test_dropped_connection_is_a_network_error(tg: FakeTelegram, bot: Bot) -> None:
    tg.drop_connections(1)
    with pytest.raises(NetworkError):
        await bot.get_me()
    assert (await bot.get_me()).username == "keepgoing_test_bot"


async def test_simulated_updates_parse_as_real_updates(tg: FakeTelegram, bot: Bot) -> None:
    first = tg.user_sends(USER, "/start now", first_name="Ada", language_code="de")
    updates = [
        first,
        tg.user_sends_photo(USER, caption="me"),
        tg.user_sends_sticker(USER),
        tg.user_sends_voice(USER),
        tg.user_sends_document(USER),
        tg.user_sends_location(USER),
        tg.user_edits(USER, first["message"]["message_id"], "/start later"),
        tg.user_sends(7, "/help@keepgoing_test_bot", chat_id=-55, chat_type="group"),
        tg.block(USER),
    ]
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    parsed = [Update.de_json(u, bot) for u in updates]
    message = parsed[0].effective_message
    assert message.text == "/start now" and message.entities[0].type == "bot_command"
    assert parsed[0].effective_user.language_code == "de"
    assert parsed[1].message.photo and parsed[2].message.sticker and parsed[3].message.voice
    assert parsed[4].message.document and parsed[5].message.location
    assert parsed[6].edited_message.text == "/start later"
    assert parsed[7].effective_chat.type == "group" and parsed[7].effective_chat.id == -55
    assert parsed[8].my_chat_member.new_chat_member.status == "kicked"
    got = await bot.get_updates()
    assert [u.update_id for u in got] == ids


async def test_get_updates_conflicts(tg: FakeTelegram, bot: Bot) -> None:
    async with Bot(tg.token, base_url=tg.base_url) as second:
        first_poll = asyncio.create_task(bot.get_updates(timeout=5))
        await tg.wait_for_request("getUpdates", in_flight=True)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first_poll
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()


async def test_offset_confirms_updates(tg: FakeTelegram, bot: Bot) -> None:
    a = tg.user_sends(USER, "one")
    b = tg.user_sends(USER, "two")
    assert len(await bot.get_updates(timeout=0)) == 2
    [only] = await bot.get_updates(offset=b["update_id"], timeout=0)
    assert only.update_id == b["update_id"] > a["update_id"]
    assert await bot.get_updates(offset=b["update_id"] + 1, timeout=0) == ()


async def test_long_polling_application_round_trip(tg: FakeTelegram) -> None:
    async def echo(update: Update, context: Any) -> None:
        await update.effective_message.reply_html(f"<i>{update.effective_message.text}</i>")

    async def pressed(update: Update, context: Any) -> None:
        await update.callback_query.answer()

    app = Application.builder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            tg.user_sends(USER, "hello there")
            [reply] = await tg.wait_for(1, USER, timeout=5)
            assert (reply.text, reply.raw_text) == ("hello there", "<i>hello there</i>")

            sent = await app.bot.send_message(USER, "Q", reply_markup=keyboard("k"))
            tg.user_presses(USER, sent.message_id, "k")
            await tg.wait_for_request("answerCallbackQuery", timeout=5)
            assert tg.unanswered_callbacks() == []
        finally:
            await app.updater.stop()
            await app.stop()
    assert tg.pending_updates() == []  # PTB confirmed everything on shutdown


async def test_webhook_delivery_carries_secret_and_retries(tg: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    statuses = [500]  # the first delivery fails, the retry succeeds

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        url = f"http://127.0.0.1:{port}/hook"
        await bot.set_webhook(url, secret_token="s3cret-Token_1")
        info = await bot.get_webhook_info()
        assert info.url == url
        update = tg.user_sends(USER, "via webhook")
        await tg.webhook_idle(timeout=5)
        assert [secret for secret, _ in received] == ["s3cret-Token_1"] * 2
        assert received[-1][1] == update
        assert [d.status for d in tg.webhook_deliveries] == [500, 200]
        status, _ = await tg.post_update_raw(url, {"update_id": 1}, secret="forged")
        assert status == 200  # this bare receiver does not check; PTB's does (next test)
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_ptb_webhook_server_checks_the_secret(tg: FakeTelegram) -> None:
    async def echo(update: Update, context: Any) -> None:
        await update.effective_message.reply_text("got it")

    app = Application.builder().token(tg.token).base_url(tg.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg"
    async with app:
        await app.start()
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="tg", webhook_url=url, secret_token="abc_123"
        )
        try:
            assert tg.webhook_url == url and tg.webhook_secret == "abc_123"
            tg.user_sends(USER, "hi")
            [reply] = await tg.wait_for(1, USER, timeout=5)
            assert reply.text == "got it"
            assert (await tg.post_update_raw(url, {"update_id": 5}, secret="wrong"))[0] == 403
            assert (await tg.post_update_raw(url, {"update_id": 6}))[0] == 403
        finally:
            await app.updater.stop()
            await app.stop()
