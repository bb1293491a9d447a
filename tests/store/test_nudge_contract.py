"""The nudge half of the store contract: claims, leases, records, retries. Every store passes it.

These run on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set; the dispatcher relies on exactly
this behaviour, whichever store is behind it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.domain import Rhythm, Schedule, TargetKind, UserData, UserKey
from bot.store import Store
from bot.store.base import DueNudge, NudgeOutcome, NudgeRecord
from tests.store.test_contract import NOW, person, save, schedule

LEASE = NOW + timedelta(minutes=5)
LATER = NOW + timedelta(days=1)


async def due_person(
    store: Store, user_id: str, due: datetime | None, platform: str = "telegram", **changes: object
) -> Schedule:
    """A person with a schedule due at `due`; returns the stored schedule (with its id)."""
    p = person(user_id, platform=platform)
    await save(store, UserData(p, schedule(user_id, platform=platform, next_due_at=due, **changes)))
    stored = (await store.load(p.key)).schedule
    assert stored is not None and stored.id is not None
    return stored


async def record(
    store: Store,
    due: DueNudge,
    owner: str,
    outcome: NudgeOutcome = NudgeOutcome.SENT,
    next_due_at: datetime | None = LATER,
) -> bool:
    assert due.schedule.id is not None
    sent = outcome is NudgeOutcome.SENT
    return await store.record_nudge(
        NudgeRecord(
            due.schedule.id,
            due.slot_at,
            owner,
            outcome,
            NOW,
            next_due_at=next_due_at,
            template="nudges/care_2" if sent else None,
            recent_templates=(*due.schedule.recent_templates, "nudges/care_2") if sent else None,
        )
    )


async def claim(store: Store, owner: str, now: datetime = NOW, limit: int = 100) -> list[DueNudge]:
    return await store.claim_due(now, owner, now + timedelta(minutes=5), limit, ["telegram"])


async def stored(store: Store, user_id: str) -> Schedule:
    s = (await store.load(UserKey("telegram", user_id))).schedule
    assert s is not None
    return s


async def test_claims_take_due_rows_earliest_first_with_the_persons_answers(store: Store) -> None:
    later = await due_person(store, "2", NOW - timedelta(minutes=1))
    earlier = await due_person(store, "1", NOW - timedelta(minutes=2))
    await due_person(store, "3", NOW + timedelta(hours=1))  # not due yet
    await due_person(store, "4", NOW - timedelta(minutes=3), platform="discord")  # not asked for
    await due_person(store, "5", None)  # switched off
    [first] = await claim(store, "a", limit=1)
    assert first.schedule == earlier and first.slot_at == earlier.next_due_at
    assert first.answers == {"ready": "yes"}  # from the person's reflection
    rest = await claim(store, "a")
    assert [d.schedule.id for d in rest] == [later.id]
    assert await claim(store, "b") == []  # both leased
    assert await store.claim_due(NOW, "a", LEASE, 10, []) == []


async def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_record(store: Store) -> None:
    s = await due_person(store, "1", NOW)
    [crashed] = await claim(store, "crashed")
    assert await claim(store, "b", NOW + timedelta(minutes=4)) == []  # still leased
    [taken] = await claim(store, "b", NOW + timedelta(minutes=5))  # the lease has run out
    assert taken.slot_at == crashed.slot_at and taken.schedule.id == s.id
    assert await record(store, crashed, "crashed") is False
    assert await record(store, taken, "b") is True
    after = await stored(store, "1")
    assert after.sent_count == 1 and after.next_due_at == LATER
    assert (await store.table_rows_for(UserKey("telegram", "1")))["nudge_log"] == 1


async def test_recording_a_sent_nudge_moves_on_counts_and_releases_once(store: Store) -> None:
    s = await due_person(store, "1", NOW, sent_count=2, unanswered=1)
    [due] = await claim(store, "a")
    assert await record(store, due, "a") is True
    after = await stored(store, "1")
    assert after.next_due_at == LATER
    assert (after.sent_count, after.unanswered) == (3, 2)
    assert after.recent_templates == (*s.recent_templates, "nudges/care_2")
    assert await record(store, due, "a") is False  # a slot is recorded once
    [again] = await claim(store, "b", LATER)  # released: anyone may claim the next slot
    assert again.slot_at == LATER


async def test_a_next_due_time_the_person_changed_meanwhile_is_kept(store: Store) -> None:
    s = await due_person(store, "1", NOW)
    [due] = await claim(store, "a")
    mine = NOW + timedelta(days=3)
    await save(store, UserData(person("1"), replace(s, id=None, next_due_at=mine, rhythm=Rhythm.WEEKLY)))
    assert await record(store, due, "a") is True
    after = await stored(store, "1")
    assert after.next_due_at == mine and after.rhythm is Rhythm.WEEKLY and after.sent_count == 1


@pytest.mark.parametrize("outcome", [NudgeOutcome.MISSED, NudgeOutcome.QUIET, NudgeOutcome.FAILED])
async def test_a_skipped_slot_moves_on_without_counting(store: Store, outcome: NudgeOutcome) -> None:
    s = await due_person(store, "1", NOW)
    [due] = await claim(store, "a")
    assert await record(store, due, "a", outcome) is True
    after = await stored(store, "1")
    assert after.next_due_at == LATER
    assert (after.sent_count, after.unanswered, after.recent_templates) == (0, 0, s.recent_templates)


async def test_unreachable_switches_the_schedule_off(store: Store) -> None:
    await due_person(store, "1", NOW)
    [due] = await claim(store, "a")
    assert await record(store, due, "a", NudgeOutcome.UNREACHABLE, next_due_at=None) is True
    assert (await stored(store, "1")).next_due_at is None
    assert await claim(store, "b", NOW + timedelta(days=30)) == []
    assert await store.earliest_due(["telegram"]) is None


async def test_a_retry_keeps_the_same_slot_unclaimable_until_the_backoff_ends(store: Store) -> None:
    s = await due_person(store, "1", NOW)
    assert s.id is not None
    [due] = await claim(store, "a")
    assert await store.retry_nudge(s.id, "someone else", NOW + timedelta(seconds=30)) is False
    assert await store.retry_nudge(s.id, "a", NOW + timedelta(seconds=30)) is True
    assert await store.retry_nudge(s.id, "a", NOW + timedelta(seconds=30)) is False  # given up already
    assert await claim(store, "a", NOW + timedelta(seconds=29)) == []
    [again] = await claim(store, "b", NOW + timedelta(seconds=30))
    assert again.slot_at == due.slot_at  # the same slot, not the next one
    assert await record(store, due, "a") is False  # the first owner's lease is gone


async def test_release_drops_only_the_owners_own_leases(store: Store) -> None:
    for i in range(3):
        await due_person(store, str(i), NOW - timedelta(minutes=3 - i))
    mine = await claim(store, "a", limit=2)
    theirs = await claim(store, "b")
    assert len(mine) == 2 and len(theirs) == 1
    assert await store.release_nudges("a") == 2
    assert await store.release_nudges("a") == 0
    assert sorted(d.schedule.id or 0 for d in await claim(store, "c")) == sorted(
        d.schedule.id or 0 for d in mine
    )


async def test_earliest_due_includes_leased_rows_and_filters_platforms(store: Store) -> None:
    assert await store.earliest_due(["telegram"]) is None
    await due_person(store, "1", NOW + timedelta(hours=2))
    await due_person(store, "2", NOW + timedelta(hours=1))
    await due_person(store, "3", NOW, platform="discord")
    assert await store.earliest_due(["telegram"]) == NOW + timedelta(hours=1)
    assert await store.earliest_due(["telegram", "discord"]) == NOW
    await store.claim_due(NOW, "a", LEASE, 10, ["discord"])
    assert await store.earliest_due(["discord"]) == NOW  # a lease does not hide a due row
    assert await store.earliest_due([]) is None


async def test_schedules_due_before_pages_by_id_and_claims_nothing(store: Store) -> None:
    ids = [(await due_person(store, str(i), NOW + timedelta(hours=i))).id for i in range(5)]
    await due_person(store, "d", NOW, platform="discord")
    end = NOW + timedelta(hours=3, minutes=30)
    first = await store.schedules_due_before(end, limit=2, platforms=["telegram"])
    assert [d.schedule.id for d in first] == ids[:2]
    after = first[-1].schedule.id or 0
    second = await store.schedules_due_before(end, after_id=after, limit=2, platforms=["telegram"])
    assert [d.schedule.id for d in second] == ids[2:4]
    assert all(d.answers == {"ready": "yes"} for d in first + second)
    everyone = await store.schedules_due_before(end)
    assert len(everyone) == 5 and {d.schedule.platform for d in everyone} == {"telegram", "discord"}
    assert len(await claim(store, "a", end)) == 4  # reading claimed nothing


async def test_a_channel_schedule_is_replaced_by_target_and_deleted_with_its_log(store: Store) -> None:
    channel = Schedule(
        platform="telegram",
        target_kind=TargetKind.CHANNEL,
        target_id="-100",
        chat_id="-100",
        rhythm=Rhythm.WEEKLY,
        local_time="12:00",
        timezone="UTC",
        next_due_at=NOW,
        created_at=NOW,
    )
    first = await store.upsert_channel_schedule(channel)
    moved = await store.upsert_channel_schedule(replace(channel, local_time="13:00"))
    assert first.id is not None and moved.id == first.id and moved.local_time == "13:00"
    [due] = await claim(store, "a")
    assert due.schedule.id == first.id and due.answers == {}  # a channel has no reflection
    assert await record(store, due, "a") is True
    assert await store.delete_channel_schedule("telegram", "-100") is True
    assert await store.delete_channel_schedule("telegram", "-100") is False
    assert await store.schedules_due_before(NOW + timedelta(days=30)) == []
    with pytest.raises(ValueError):
        await store.upsert_channel_schedule(replace(channel, target_kind=TargetKind.PERSON))


async def test_a_forgotten_persons_claimed_nudge_is_not_recorded(store: Store) -> None:
    await due_person(store, "1", NOW)
    [due] = await claim(store, "a")
    async with store.turn(UserKey("telegram", "1")) as turn:
        await turn.forget()
    assert await record(store, due, "a") is False
    assert set((await store.table_rows_for(UserKey("telegram", "1"))).values()) == {0}


async def test_owners_claiming_at_once_never_share_a_row(store: Store) -> None:
    for i in range(60):
        await due_person(store, str(i), NOW - timedelta(seconds=i))
    claimed: dict[str, list[int]] = {}

    async def drain(owner: str) -> None:
        while batch := await claim(store, owner, limit=7):
            claimed.setdefault(owner, []).extend(d.schedule.id or 0 for d in batch)
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(f"owner-{n}") for n in range(6)))
    everything = [i for ids in claimed.values() for i in ids]
    assert len(everything) == len(set(everything)) == 60


async def test_a_turn_does_not_undo_a_nudge_recorded_while_it_ran(store: Store) -> None:
    """A person's turn and a dispatcher's record for them at the same time: both changes survive.

    The turn has read the schedule when the record starts; if the record could commit before the turn
    saves, the turn would write back the counts it read and the nudge would be forgotten.
    """
    s = await due_person(store, "1", NOW)
    [due] = await claim(store, "a")
    async with store.turn(UserKey("telegram", "1")) as turn:
        assert turn.data.schedule == s
        recording = asyncio.create_task(record(store, due, "a"))
        await asyncio.sleep(0.3)  # ample time for a record that does not wait for the turn to commit
        await turn.save(UserData(turn.data.person, replace(s, local_time="11:00")))
    assert await recording is True
    after = await stored(store, "1")
    assert after.local_time == "11:00"  # the turn's change
    assert (after.sent_count, after.unanswered, after.next_due_at) == (1, 1, LATER)  # and the nudge
    assert after.recent_templates == (*s.recent_templates, "nudges/care_2")
