"""The store contract: every store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) passes it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Flow, Person, Rhythm, Schedule, TargetKind, UserData, UserKey
from bot.store import Store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def person(user_id: str = "42", platform: str = "telegram", **changes: object) -> Person:
    base = Person(
        key=UserKey(platform, user_id),
        chat_id=user_id,
        locale="en",
        flow=Flow(version=1, step="reason:rapport", ending="stopped", answers={"ready": "yes"}),
        created_at=NOW,
        last_seen_at=NOW,
        country="IE",
        consented_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def schedule(user_id: str = "42", **changes: object) -> Schedule:
    base = Schedule(
        platform="telegram",
        target_kind=TargetKind.PERSON,
        target_id=user_id,
        chat_id=user_id,
        rhythm=Rhythm.WEEKLY,
        local_time="10:30",
        timezone="Europe/Dublin",
        next_due_at=NOW + timedelta(days=1),
        created_at=NOW,
        recent_templates=("nudges/hope_1",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def save(store: Store, data: UserData, update_key: str | None = None) -> None:
    assert data.person is not None
    async with store.turn(data.person.key, update_key) as turn:
        await turn.save(data)


async def test_new_person_has_nothing_stored(store: Store) -> None:
    async with store.turn(UserKey("telegram", "1")) as turn:
        assert not turn.duplicate
        assert turn.data == UserData()
    assert await store.count_people() == 0


async def test_saved_person_and_schedule_round_trip(store: Store) -> None:
    p = person(note="bring this to the first session — ☕ עברית")
    s = schedule()
    await save(store, UserData(p, s))
    loaded = await store.load(p.key)
    assert loaded.person == p
    assert loaded.schedule is not None
    assert replace(loaded.schedule, id=None) == s
    assert await store.count_people() == 1


async def test_saving_without_schedule_removes_it(store: Store) -> None:
    p = person()
    await save(store, UserData(p, schedule()))
    await save(store, UserData(p, None))
    assert (await store.load(p.key)).schedule is None


async def test_update_is_handled_once(store: Store) -> None:
    p = person()
    await save(store, UserData(p), update_key="u-1")
    async with store.turn(p.key, "u-1") as turn:
        assert turn.duplicate
    async with store.turn(p.key, "u-2") as turn:
        assert not turn.duplicate
        assert turn.data.person == p


async def test_failed_turn_rolls_back_state_and_dedupe(store: Store) -> None:
    p = person()
    with pytest.raises(RuntimeError):
        async with store.turn(p.key, "u-9") as turn:
            await turn.save(UserData(p))
            raise RuntimeError("crash mid-turn")
    assert (await store.load(p.key)).person is None
    async with store.turn(p.key, "u-9") as turn:  # the update can be handled again
        assert not turn.duplicate


async def test_forget_erases_every_row(store: Store) -> None:
    p = person()
    other = person("43")
    await save(store, UserData(p, schedule()), update_key="a")
    await save(store, UserData(other, schedule("43")), update_key="b")
    assert sum((await store.table_rows_for(p.key)).values()) >= 3
    async with store.turn(p.key) as turn:
        await turn.forget()
    assert set((await store.table_rows_for(p.key)).values()) == {0}
    assert (await store.load(other.key)).person == other  # nobody else is touched
    assert (await store.load(other.key)).schedule is not None


async def test_expire_inactive_removes_only_the_inactive(store: Store) -> None:
    old = person("1", last_seen_at=NOW - timedelta(days=400))
    recent = person("2", last_seen_at=NOW - timedelta(days=10))
    await save(store, UserData(old, schedule("1")), update_key="x")
    await save(store, UserData(recent))
    removed = await store.expire_inactive(NOW - timedelta(days=365))
    assert removed == 1
    assert set((await store.table_rows_for(old.key)).values()) == {0}
    assert (await store.load(recent.key)).person == recent


async def test_turns_for_one_person_are_serialised(store: Store) -> None:
    p = person(note="0")
    await save(store, UserData(p))

    async def increment() -> None:
        async with store.turn(p.key) as turn:
            current = turn.data.person
            assert current is not None
            await asyncio.sleep(0)
            await turn.save(UserData(replace(current, note=str(int(current.note or 0) + 1))))

    await asyncio.gather(*(increment() for _ in range(40)))
    loaded = await store.load(p.key)
    assert loaded.person is not None and loaded.person.note == "40"


async def test_platforms_keep_people_apart(store: Store) -> None:
    await save(store, UserData(person("7", platform="telegram")))
    assert (await store.load(UserKey("discord", "7"))).person is None
