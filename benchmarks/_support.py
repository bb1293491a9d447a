"""Shared pieces of the comparison benchmarks: a local Bot API, Telegram updates, stores, memory readings.

`LocalRequest` answers python-telegram-bot's HTTP calls in-process with canned successful JSON, so a bot
runs with no network; both sides of every comparison get the same one, so sending costs them the same.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.domain import Button, Flow, Markup, Outgoing, Person, Rhythm, Schedule, TargetKind, UserKey
from bot.engine.nudging import fewer_buttons, nudge_buttons
from bot.engine.reflection import REASONS
from bot.engine.say import ANY_STEP, payload
from bot.nudges.content import NudgeContent, choose
from bot.store.records import PERSON_COLUMNS, SCHEDULE_COLUMNS, person_row, schedule_row
from bot.templates import Templates

TOKEN = "123456789:AAFakeTokenForKeepGoingBenchmarks_abcd"
BOT_ID = 123456789
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Keep Going", "username": "keepgoing_bench_bot"}
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
ANSWERS = {reason: ("yes", "partly", "no", "unsure")[j % 4] for j, reason in enumerate(REASONS)}
FIRST_NEW_USER = 2_000_000_000  # people in a scripted conversation; stored people have ids below this


# ---- a Bot API answered in-process ------------------------------------------------------------
class LocalRequest(BaseRequest):
    """Answers every Bot API method with a canned success, as Telegram would, without a socket.

    The request parameters are JSON-encoded as PTB's HTTPXRequest would before posting them, and the
    answer is JSON that PTB parses, so the per-call cost both bots pay is the library's real one.
    """

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._message_id = 1_000

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        self.calls[name] = self.calls.get(name, 0) + 1
        params: dict[str, Any] = {}
        if request_data is not None:
            encoded = request_data.json_parameters  # what an HTTP request would carry
            params = {k: v for k, v in encoded.items() if k in ("chat_id", "text")}
        result: object = True
        if name == "getMe":
            result = BOT_USER
        elif name in ("sendMessage", "editMessageReplyMarkup"):
            self._message_id += 1
            chat = int(params.get("chat_id", 0))
            result = {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "Bench"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        elif name == "getUpdates":
            result = []
        return 200, json.dumps({"ok": True, "result": result}).encode()


# ---- Telegram updates of one scripted reflection -------------------------------------------------
def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "Bench", "language_code": "en"}


def _chat(uid: int) -> dict[str, Any]:
    return {"id": uid, "type": "private", "first_name": "Bench"}


def command(update_id: int, uid: int, name: str) -> dict[str, Any]:
    text = f"/{name}"
    entity = {"type": "bot_command", "offset": 0, "length": len(text)}
    message = {
        "message_id": update_id,
        "date": int(NOW.timestamp()),
        "chat": _chat(uid),
        "from": _user(uid),
        "text": text,
        "entities": [entity],
    }
    return {"update_id": update_id, "message": message}


def press(update_id: int, uid: int, data: str) -> dict[str, Any]:
    message = {
        "message_id": update_id - 1,
        "date": int(NOW.timestamp()),
        "chat": _chat(uid),
        "from": BOT_USER,
        "text": "a question",
    }
    query = {
        "id": str(update_id),
        "from": _user(uid),
        "chat_instance": str(uid),
        "data": data,
        "message": message,
    }
    return {"update_id": update_id, "callback_query": query}


def reflection_updates(first_update: int, uid: int) -> list[dict[str, Any]]:
    """One person's whole reflection by button presses, as Telegram would deliver it (11 updates)."""
    presses = [
        payload(ANY_STEP, "consent"),
        payload(ANY_STEP, "country.GB"),
        payload("ending", "stopped"),
        *[payload(f"reason:{r}", "partly") for r in REASONS],
    ]
    ids = iter(range(first_update, first_update + 20))
    return [
        command(next(ids), uid, "start"),
        *[press(next(ids), uid, data) for data in presses],
        command(next(ids), uid, "plan"),
    ]


# ---- stored people -----------------------------------------------------------------------------
def stored_schedule(i: int, uid: str, *, due: bool) -> Schedule:
    """A daily 18:00 (UTC) schedule; due now, or at a minute later in the day when not `due`."""
    later = NOW + timedelta(hours=1, minutes=i % 600)
    return Schedule(
        platform="telegram",
        target_kind=TargetKind.PERSON,
        target_id=uid,
        chat_id=uid,
        rhythm=Rhythm.DAILY,
        local_time="18:00" if due else later.strftime("%H:%M"),
        timezone="UTC",
        next_due_at=NOW - timedelta(seconds=i % 600) if due else later,
        created_at=NOW - timedelta(days=3),
        sent_count=i % 7,
        recent_templates=tuple(f"nudges/care_{k}" for k in range(1 + i % 3, 4 + i % 3)),
    )


def fill_sqlite(path: Path, people: int, *, schedules: bool = False, due: int = 0) -> None:
    """Store `people` people who finished their plan (ids 1..people), optionally with daily schedules of
    which the first `due` are due now. The file must already hold the schema (open the store once)."""

    def rows() -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:
        flow = Flow(version=1, step="done", ending="stopped", answers=ANSWERS)
        for i in range(people):
            uid = str(1 + i)
            person = Person(
                UserKey("telegram", uid), uid, "en", flow, NOW, NOW, "GB", consented_at=NOW, plan_at=NOW
            )
            schedule = schedule_row(stored_schedule(i, uid, due=i < due)) if schedules else None
            yield person_row(person), schedule

    with closing(sqlite3.connect(path)) as db, db:
        people_rows, schedule_rows = [], []
        for person, schedule in rows():
            people_rows.append(person)
            if schedule is not None:
                schedule_rows.append(schedule)
        marks = ", ".join("?" for _ in PERSON_COLUMNS)
        db.executemany(f"INSERT INTO people ({', '.join(PERSON_COLUMNS)}) VALUES ({marks})", people_rows)
        if schedule_rows:
            marks = ", ".join("?" for _ in SCHEDULE_COLUMNS)
            db.executemany(
                f"INSERT INTO schedules ({', '.join(SCHEDULE_COLUMNS)}) VALUES ({marks})", schedule_rows
            )
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def baseline_user_data(i: int, nudges_from: datetime | None = None) -> dict[str, Any]:
    """What the baseline bot keeps in `context.user_data` for a person who finished; with `nudges_from`,
    also a daily nudge at a minute within the ten hours after it (UTC)."""
    data: dict[str, Any] = {
        "consented_at": NOW,
        "country": "GB",
        "ending": "stopped",
        "answers": dict(ANSWERS),
        "plan_at": NOW,
        "last_seen": NOW,
    }
    if nudges_from is not None:
        s = stored_schedule(i, str(1 + i), due=False)
        data["nudges"] = {
            "time": (nudges_from + timedelta(minutes=i % 600)).strftime("%H:%M"),
            "timezone": s.timezone,
            "created_at": s.created_at,
            "sent_count": s.sent_count,
            "recent": list(s.recent_templates),
        }
    return data


def fill_pickle(
    path: Path, people: int, conversation: str, state: object, nudges_from: datetime | None = None
) -> None:
    """A PicklePersistence single file, as PTB writes it, for `people` people who finished (ids 1..people):
    their user_data, an (empty) chat_data each, and their ConversationHandler state."""
    data = {
        "conversations": {conversation: {(1 + i, 1 + i): state for i in range(people)}},
        "user_data": {1 + i: baseline_user_data(i, nudges_from) for i in range(people)},
        "chat_data": {1 + i: {} for i in range(people)},
        "bot_data": {},
        "callback_data": None,
    }
    with path.open("wb") as file:
        pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)


# ---- rendering a nudge the way the dispatcher does ------------------------------------------------
def render_nudge(templates: Templates, s: Schedule, answers: dict[str, str]) -> tuple[NudgeContent, Outgoing]:
    """The same choice and text as `Dispatcher.prepare` and `Engine.render`, for the baseline bot."""
    content = choose(s, answers)
    rows = fewer_buttons(s) if content.asks_fewer else nudge_buttons(s)
    text = templates.render(content.template, s.locale, Markup.HTML, **content.values)
    buttons = tuple(
        tuple(Button(templates.label(c.label, s.locale, **c.values), c.payload) for c in row) for row in rows
    )
    return content, Outgoing(text=text, buttons=buttons)


# ---- memory ------------------------------------------------------------------------------------
def status_kib(field: str, pid: int | str = "self") -> int:
    """A `VmRSS`/`VmHWM`-style line of /proc/<pid>/status, in KiB (0 where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
