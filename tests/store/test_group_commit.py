"""Turns arriving together: each is durable when its `async with` ends, and one failing loses no other.

The contract part runs on every store; the SQLite part also checks that the turns shared COMMITs and
that each was visible to another connection (committed, not merely written) the moment its turn ended.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.domain import UserData, UserKey
from bot.store import Store, StoreError, store_from_url
from bot.store.sqlite import SQLiteStore
from tests.store.test_contract import person

PEOPLE = 32


class Refused(Exception):
    """A turn body that fails on purpose."""


async def one_turn(store: Store, n: int, *, fail: bool = False) -> None:
    key = UserKey("telegram", str(n))
    async with store.turn(key, f"update-{n}") as turn:
        await asyncio.sleep(0)  # let the others queue up behind this turn
        await turn.save(UserData(person=person(str(n))))
        if fail:
            raise Refused


async def test_concurrent_turns_are_all_stored(store: Store) -> None:
    await asyncio.gather(*(one_turn(store, n) for n in range(PEOPLE)))
    assert await store.count_people() == PEOPLE
    for n in range(PEOPLE):  # each update is remembered: a redelivery is a duplicate
        async with store.turn(UserKey("telegram", str(n)), f"update-{n}") as turn:
            assert turn.duplicate


async def test_a_failing_turn_among_concurrent_ones_loses_only_itself(store: Store) -> None:
    results = await asyncio.gather(
        *(one_turn(store, n, fail=n == 7) for n in range(PEOPLE)), return_exceptions=True
    )
    assert [n for n, r in enumerate(results) if r is not None] == [7]
    assert isinstance(results[7], Refused)
    assert await store.count_people() == PEOPLE - 1
    assert (await store.load(UserKey("telegram", "7"))).person is None
    async with store.turn(UserKey("telegram", "7"), "update-7") as turn:
        assert not turn.duplicate  # its update key was rolled back with it


def committed_people(path: Path) -> set[str]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(path) as other:
        return {row[0] for row in other.execute("SELECT user_id FROM people")}


@pytest.mark.parametrize("grouped", [True, False])
async def test_each_turn_is_committed_when_it_ends(tmp_path: Path, grouped: bool) -> None:
    path = tmp_path / "kg.db"
    store = SQLiteStore(path, group_commit=grouped)
    await store.open()
    seen: dict[int, set[str]] = {}

    async def turn_then_look(n: int) -> None:
        await one_turn(store, n)
        seen[n] = committed_people(path)  # right after this turn's `async with` ended

    try:
        await asyncio.gather(*(turn_then_look(n) for n in range(PEOPLE)))
        assert all(str(n) in seen[n] for n in range(PEOPLE))
        assert store.groups.turns == PEOPLE
        if grouped:
            assert store.groups.commits < PEOPLE / 4  # they shared COMMITs
        else:
            assert store.groups.commits == PEOPLE
    finally:
        await store.close()
    assert committed_people(path) == {str(n) for n in range(PEOPLE)}


async def test_a_turn_whose_writes_fail_in_a_group_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SQLiteStore(path)
    await store.open()

    async def bad_write(n: int) -> None:
        async with store.turn(UserKey("telegram", str(n)), f"update-{n}") as turn:
            await asyncio.sleep(0)
            await turn.save(UserData(person=person(str(n))))
            turn.writes.append(("INSERT INTO no_such_table VALUES (?)", (n,)))  # fails at commit time

    try:
        results = await asyncio.gather(
            *(bad_write(n) if n == 5 else one_turn(store, n) for n in range(PEOPLE)),
            return_exceptions=True,
        )
        assert [n for n, r in enumerate(results) if r is not None] == [5]
        assert isinstance(results[5], StoreError)
        assert store.groups.commits < PEOPLE / 4
    finally:
        await store.close()
    assert committed_people(path) == {str(n) for n in range(PEOPLE) if n != 5}


@pytest.mark.parametrize("grouped", [True, False])
async def test_a_turn_alone_whose_writes_fail_leaves_nothing_and_the_next_turn_works(
    tmp_path: Path, grouped: bool
) -> None:
    path = tmp_path / "kg.db"
    store = SQLiteStore(path, group_commit=grouped)
    await store.open()
    key = UserKey("telegram", "1")
    try:
        with pytest.raises(StoreError):
            async with store.turn(key, "update-1") as turn:
                await turn.save(UserData(person=person("1")))
                turn.writes.append(("INSERT INTO no_such_table VALUES (?)", (1,)))  # fails at commit time
        assert committed_people(path) == set()
        async with store.turn(key, "update-1") as turn:
            assert not turn.duplicate  # its update key went with it: a redelivery is handled afresh
            await turn.save(UserData(person=person("1")))
        assert committed_people(path) == {"1"}
    finally:
        await store.close()


async def test_a_turn_cancelled_while_its_commit_runs_still_commits_and_holds_up_no_other(
    tmp_path: Path,
) -> None:
    """The last turn of a group closes it; its waiter cancelled meanwhile must not strand the others."""
    path = tmp_path / "kg.db"
    store = SQLiteStore(path)
    await store.open()
    release = asyncio.Event()

    async def last_out() -> None:
        async with store.turn(UserKey("telegram", "0"), "update-0") as turn:
            await release.wait()  # the others write meanwhile, and wait for this turn to commit them
            await turn.save(UserData(person=person("0")))

    try:
        closing = asyncio.create_task(last_out())
        others = asyncio.gather(*(one_turn(store, n) for n in range(1, PEOPLE)))
        await asyncio.sleep(0.2)  # every other turn has written and waits on the group's COMMIT
        assert not others.done()
        release.set()
        await asyncio.sleep(0)  # the last turn leaves the group: its COMMIT is on the thread
        closing.cancel()
        await asyncio.wait_for(others, timeout=5)
        with pytest.raises(asyncio.CancelledError):
            await closing
    finally:
        await store.close()
    assert committed_people(path) == {str(n) for n in range(PEOPLE)}


def test_group_commit_is_a_setting_on_by_default(tmp_path: Path) -> None:
    assert Settings.from_env({}).sqlite_group_commit
    assert not Settings.from_env({"SQLITE_GROUP_COMMIT": "off"}).sqlite_group_commit
    with pytest.raises(ConfigError, match="SQLITE_GROUP_COMMIT"):
        Settings.from_env({"SQLITE_GROUP_COMMIT": "sometimes"})
    store = store_from_url(f"sqlite:///{tmp_path / 'kg.db'}", group_commit=False)
    assert isinstance(store, SQLiteStore) and not store.group_commit


async def test_short_writes_arriving_together_share_a_commit_and_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SQLiteStore(path)
    await store.open()
    await asyncio.gather(*(one_turn(store, n) for n in range(PEOPLE)))  # people to touch

    def touch(db: sqlite3.Connection, n: int) -> int:
        if n == 3:
            db.execute("UPDATE people SET locale = 'es' WHERE user_id = '3'")
            db.execute("INSERT INTO no_such_table VALUES (1)")  # after a write: it must be undone
        return db.execute("UPDATE people SET locale = 'es' WHERE user_id = ?", (str(n),)).rowcount

    try:
        results = await asyncio.gather(
            *(store.groups.write(touch, n) for n in range(PEOPLE)), return_exceptions=True
        )
        assert store.groups.batches < PEOPLE / 4  # one transaction for many
    finally:
        await store.close()
    assert isinstance(results[3], sqlite3.Error)
    assert [r for n, r in enumerate(results) if n != 3] == [1] * (PEOPLE - 1)
    with sqlite3.connect(path) as other:
        spanish = {row[0] for row in other.execute("SELECT user_id FROM people WHERE locale = 'es'")}
    assert spanish == {str(n) for n in range(PEOPLE) if n != 3}


async def test_a_turn_cancelled_before_its_reads_went_to_the_thread_leaves_no_update_key(
    tmp_path: Path,
) -> None:
    """Reads asked for while a batch is out wait for the next; one cancelled meanwhile must not run later
    (its undo is already done): its update key would be committed with the group, its redelivery lost."""
    store = SQLiteStore(tmp_path / "kg.db")
    await store.open()
    release = asyncio.Event()

    async def held(n: int) -> None:
        async with store.turn(UserKey("telegram", str(n)), f"update-{n}") as turn:
            await release.wait()
            await turn.save(UserData(person=person(str(n))))

    try:
        first = asyncio.create_task(held(0))  # reads on the loop, keeps the group open
        await asyncio.sleep(0)
        busy = store.db.submit(lambda db: time.sleep(0.2))  # the thread busy: reads go to it
        second = asyncio.create_task(held(1))  # its reads: the batch out on the thread
        await asyncio.sleep(0)
        third = asyncio.create_task(held(2))  # its reads wait for the next batch
        await asyncio.sleep(0)
        third.cancel()
        await busy
        release.set()
        await asyncio.gather(first, second)
        with pytest.raises(asyncio.CancelledError):
            await third
        async with store.turn(UserKey("telegram", "2"), "update-2") as turn:
            assert not turn.duplicate
    finally:
        await store.close()
    assert committed_people(tmp_path / "kg.db") == {"0", "1"}
