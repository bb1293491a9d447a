"""Privacy matches what we say: /mydata shows every row about a person, /forget erases them, update ids go.

The schema is read from the database itself (SQLite: sqlite_master and PRAGMA table_info; PostgreSQL:
information_schema), so a table added by a future migration with a person's key in it fails here until
/mydata exports it and /forget clears it. Runs against SQLite, and PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import Incoming, Kind, Rhythm, Schedule, TargetKind, UserKey, Who
from bot.engine import Engine, EngineSettings
from bot.engine.mydata import SCHEMA, schema_document
from bot.engine.say import ANY_STEP, payload
from bot.safety import CrisisDetector, ResourceBook
from bot.store import Store
from bot.store.base import NudgeOutcome, NudgeRecord
from bot.store.records import PERSONAL_TABLES, UPDATE_ID_RETENTION
from bot.store.sqlite import SQLiteStore
from bot.templates import Templates
from tests.chat import Chat, reach_plan
from tests.conftest import Clock

# Columns that name a person, by this test's own rule (not the code's list): any table with one holds rows
# about someone. A `target_kind` column tells a person's rows from a community channel's.
KEY_COLUMNS = ("user_id", "target_id")
PLATFORM = "telegram"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))  # update ids are stamped with the real time


@pytest.fixture
def engine(
    store: Store, templates: Templates, detector: CrisisDetector, resources: ResourceBook, clock: Clock
) -> Engine:
    settings = EngineSettings(default_country="GB", retention_days=30)
    return Engine(store, templates, detector, resources, settings, clock=clock)


# ---- the database, read directly ----------------------------------------------------------------
async def fetch(store: Store, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows as dicts; `sql` uses `?` marks (numbered for PostgreSQL)."""
    if isinstance(store, SQLiteStore):
        rows = await store.db.call(lambda db: db.execute(sql, params).fetchall())
    else:
        parts = sql.split("?")
        numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
        rows = await store.pool.fetch(numbered, *params)  # type: ignore[attr-defined]
    return [{name: row[name] for name in row.keys()} for row in rows]  # noqa: SIM118 (rows iterate values)


async def execute(store: Store, sql: str) -> None:
    if isinstance(store, SQLiteStore):
        await store.db.call(lambda db: db.execute(sql))
    else:
        await store.pool.execute(sql)  # type: ignore[attr-defined]


async def tables_with_person_keys(store: Store) -> dict[str, set[str]]:
    """Every table in the schema with a column naming a person -> all its columns."""
    columns: dict[str, set[str]] = {}
    if isinstance(store, SQLiteStore):
        for table in await fetch(store, "SELECT name FROM sqlite_master WHERE type = 'table'"):
            name = table["name"]
            info = await fetch(store, f"PRAGMA table_info({name})")
            columns[name] = {column["name"] for column in info}
    else:
        found = await fetch(
            store,
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()",
        )
        for row in found:
            columns.setdefault(row["table_name"], set()).add(row["column_name"])
    return {table: cols for table, cols in columns.items() if cols & set(KEY_COLUMNS)}


async def rows_about(store: Store, table: str, columns: set[str], key: UserKey) -> list[dict[str, Any]]:
    """Every row of `table` naming the person (not a channel that happens to share their id)."""
    rows: list[dict[str, Any]] = []
    for column in KEY_COLUMNS:
        if column in columns:
            where = f"platform = ? AND {column} = ?"
            if "target_kind" in columns:
                where += " AND target_kind <> 'channel'"
            rows += await fetch(store, f"SELECT * FROM {table} WHERE {where}", key.platform, key.user_id)
    return rows


def normalised(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


# ---- filling every table ------------------------------------------------------------------------
def own_schedule(key: UserKey, kind: TargetKind, due: datetime) -> Schedule:
    return Schedule(
        platform=key.platform,
        target_kind=kind,
        target_id=key.user_id,
        chat_id=key.user_id,
        rhythm=Rhythm.WEEKLY,
        local_time="10:30",
        timezone="Europe/Dublin",
        next_due_at=due,
        created_at=due,
    )


async def fill_every_table(engine: Engine, user_id: str, clock: Clock) -> UserKey:
    """A person with a record, update ids, nudges, a check-in and a nudge log row for each."""
    store = engine.store
    chat = Chat(engine, user_id=user_id, platform=PLATFORM)
    await reach_plan(chat)
    await chat.press_payload(payload(ANY_STEP, "privacy"), update_key=f"{user_id}-update-1")
    key = chat.who.key
    due = clock.now - timedelta(minutes=5)
    async with store.turn(key) as turn:
        await turn.save(
            replace(
                turn.data,
                schedule=own_schedule(key, TargetKind.PERSON, due),
                followup=own_schedule(key, TargetKind.FOLLOWUP, due),
            )
        )
    owner = f"test-{user_id}"
    for claimed in await store.claim_due(clock.now, owner, clock.now + timedelta(minutes=1), 10, [PLATFORM]):
        record = NudgeRecord(
            schedule_id=claimed.schedule.id or 0,
            slot_at=claimed.slot_at,
            owner=owner,
            outcome=NudgeOutcome.SENT,
            recorded_at=clock.now,
            next_due_at=clock.now + timedelta(days=7),
            template="nudges/hope_1",
            recent_templates=("nudges/hope_1",),
        )
        assert await store.record_nudge(record)
    return key


async def privacy_gaps(engine: Engine, key: UserKey) -> list[str]:
    """What /mydata leaves out and /forget leaves behind, for every table that names a person."""
    store = engine.store
    tables = await tables_with_person_keys(store)
    before = {table: await rows_about(store, table, cols, key) for table, cols in tables.items()}
    gaps = [f"{table}: nothing stored to test with" for table, rows in before.items() if not rows]
    who = Who(key.platform, key.user_id, key.user_id)
    replies = await engine.handle(Incoming(who, Kind.COMMAND, command="mydata"))
    files = [reply.attachment for reply in replies if reply.attachment is not None]
    assert len(files) == 1
    export = json.loads(files[0].content)
    for table, rows in before.items():
        if table not in export["rows"]:
            gaps.append(f"{table}: missing from /mydata")
        elif normalised(export["rows"][table]) != normalised(rows):
            gaps.append(f"{table}: /mydata rows differ from the stored rows")
    await engine.handle(Incoming(who, Kind.COMMAND, command="forget"))
    await engine.handle(Incoming(who, Kind.BUTTON, payload=payload(ANY_STEP, "forget_yes")))
    for table, cols in tables.items():
        if await rows_about(store, table, cols, key):
            gaps.append(f"{table}: not cleared by /forget")
    return gaps


# ---- the tests ------------------------------------------------------------------------------------
async def test_mydata_shows_and_forget_clears_every_table_naming_a_person(
    engine: Engine, clock: Clock
) -> None:
    key = await fill_every_table(engine, "u1", clock)
    other = await fill_every_table(engine, "u2", clock)
    channel = replace(own_schedule(key, TargetKind.CHANNEL, clock.now), chat_id="c1")  # shares u1's id
    await engine.store.upsert_channel_schedule(channel)
    tables = await tables_with_person_keys(engine.store)
    assert set(PERSONAL_TABLES) <= set(tables)  # the introspection sees the tables we know of
    assert await privacy_gaps(engine, key) == []
    for table, cols in tables.items():  # nobody else's rows went with them, nor the channel's
        assert await rows_about(engine.store, table, cols, other), table
    assert await fetch(engine.store, "SELECT id FROM schedules WHERE target_kind = 'channel'")


async def test_a_table_left_out_is_caught(engine: Engine, clock: Clock) -> None:
    """The check itself: a new table naming people, unknown to /mydata and /forget, is reported."""
    key = await fill_every_table(engine, "u1", clock)
    await execute(engine.store, "CREATE TABLE extra_notes (platform TEXT NOT NULL, user_id TEXT NOT NULL)")
    await execute(engine.store, f"INSERT INTO extra_notes VALUES ('{PLATFORM}', 'u1')")
    gaps = await privacy_gaps(engine, key)
    assert gaps == ["extra_notes: missing from /mydata", "extra_notes: not cleared by /forget"]


async def test_mydata_file_lists_the_nudge_log_and_update_ids(engine: Engine, clock: Clock) -> None:
    key = await fill_every_table(engine, "u1", clock)
    chat = Chat(engine, user_id=key.user_id, platform=PLATFORM)
    await chat.send("/mydata")
    summary = chat.last[0]
    assert "Nudges and check-ins logged: 2" in summary.text
    assert "Ids of your recent messages: 1, kept 48 hours" in summary.text
    assert summary.attachment is not None
    export = json.loads(summary.attachment.content)
    assert export["schema"] == SCHEMA == "keepgoing.mydata/2"
    assert sorted(entry["kind"] for entry in export["nudge_log"]) == ["followup", "person"]
    assert {entry["outcome"] for entry in export["nudge_log"]} == {"sent"}
    assert [u["update_key"] for u in export["update_ids"]] == ["u1-update-1"]
    assert export["nudges"]["sent_count"] == 1 and export["check_in"]["timezone"] == "Europe/Dublin"


async def test_the_json_schema_documents_the_file(engine: Engine, clock: Clock) -> None:
    key = await fill_every_table(engine, "u1", clock)
    chat = Chat(engine, user_id=key.user_id, platform=PLATFORM)
    await chat.send("/mydata")
    assert chat.last[0].attachment is not None
    export = json.loads(chat.last[0].attachment.content)
    schema = schema_document()
    assert schema["properties"]["schema"]["const"] == SCHEMA
    assert set(schema["required"]) == set(export) == set(schema["properties"])
    assert set(schema["properties"]["rows"]["required"]) == set(export["rows"]) == set(PERSONAL_TABLES)
    for section in ("person", "nudges", "check_in"):
        assert set(export[section]) == set(schema["properties"][section]["properties"]), section
    log_fields = set(schema["properties"]["nudge_log"]["items"]["properties"])
    assert all(set(entry) == log_fields for entry in export["nudge_log"])


async def test_spanish_mydata_names_the_log_and_ids(engine: Engine, clock: Clock) -> None:
    key = await fill_every_table(engine, "u1", clock)
    chat = Chat(engine, user_id=key.user_id, platform=PLATFORM, locale="es")
    await chat.send("/mydata")
    assert "registrados: 2" in chat.last[0].text
    assert "Identificadores de tus mensajes recientes: 1, guardados 48 horas" in chat.last[0].text


def _update(who: Who, n: int) -> Incoming:
    return Incoming(who, Kind.COMMAND, command="start", update_key=f"{who.user_id}-{n}")


async def test_update_ids_of_someone_who_never_agreed_go_after_the_retention(
    engine: Engine, clock: Clock
) -> None:
    who = Who(PLATFORM, "stranger", "stranger")
    for n in range(3):
        await engine.handle(_update(who, n))  # /start, never agreeing: no record, only update ids
    assert (await engine.store.load(who.key)).person is None
    assert (await engine.store.table_rows_for(who.key))["processed_updates"] == 3
    assert await engine.handle(_update(who, 0)) == []  # still a duplicate within the retention
    clock.advance(hours=UPDATE_ID_RETENTION.total_seconds() / 3600 - 1)
    await engine.expire_inactive()
    assert (await engine.store.table_rows_for(who.key))["processed_updates"] == 3
    clock.advance(hours=2)
    await engine.expire_inactive()
    assert (await engine.store.table_rows_for(who.key))["processed_updates"] == 0


async def test_update_ids_of_people_who_agreed_go_too(engine: Engine, clock: Clock) -> None:
    key = await fill_every_table(engine, "u1", clock)
    clock.advance(hours=UPDATE_ID_RETENTION.total_seconds() / 3600 + 1)
    await engine.expire_inactive()
    counts = await engine.store.table_rows_for(key)
    assert counts["processed_updates"] == 0 and counts["people"] == 1  # the record stays 30 days


async def test_prune_updates_keeps_recent_ids(store: Store) -> None:
    key = UserKey(PLATFORM, "p")
    async with store.turn(key, "recent") as turn:
        assert not turn.duplicate
    assert await store.prune_updates(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert (await store.table_rows_for(key))["processed_updates"] == 1
    assert await store.prune_updates(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert (await store.table_rows_for(key))["processed_updates"] == 0


@pytest.mark.parametrize(("locale", "words"), [("en", "nothing to delete"), ("es", "nada que borrar")])
async def test_forget_without_a_record_erases_update_ids(engine: Engine, locale: str, words: str) -> None:
    who = Who(PLATFORM, "stranger", "stranger")
    await engine.handle(_update(who, 1))
    assert (await engine.store.table_rows_for(who.key))["processed_updates"] == 1
    replies = await engine.handle(
        Incoming(who, Kind.COMMAND, command="forget", update_key="stranger-2", locale=locale)
    )
    assert words in replies[0].text
    assert set((await engine.store.table_rows_for(who.key)).values()) == {0}


@pytest.mark.parametrize(("locale", "hours"), [("en", "48 hours"), ("es", "48 horas")])
async def test_privacy_lists_each_kind_with_how_long(engine: Engine, locale: str, hours: str) -> None:
    assert hours.startswith(str(int(UPDATE_ID_RETENTION.total_seconds() // 3600)))
    chat = Chat(engine, locale=locale)
    await chat.send("/privacy")
    text = chat.text
    assert hours in text and "30" in text  # update ids; the record's retention (the engine's setting)
    kinds = {
        "en": ["platform id", "options you pick", "country", "under 18", "note", "safety plan",
               "Encouragement messages", "log of each one", "check-in", "ids of your recent messages"],
        "es": ["id en la plataforma", "opciones", "país", "menos de 18", "nota", "plan de seguridad",
               "Mensajes de ánimo", "registro de cada uno", "saber cómo estás",
               "identificadores de tus mensajes"],
    }[locale]  # fmt: skip
    assert [kind for kind in kinds if kind not in text] == []
