"""The store contract for crisis care: a safety plan on the person's row, and a one-off check-in
schedule beside their nudges; both round-trip, both go with /forget, and a sent check-in is never claimed
again. Runs on every store (PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain import SafetyPlan, TargetKind, UserData
from bot.store import Store
from bot.store.base import NudgeOutcome, NudgeRecord
from tests.store.test_contract import NOW, person, save, schedule

PLAN = SafetyPlan(
    steps={"warning": "not sleeping, «pulling away»", "people": "Ana 555-0101"},
    with_lines=False,
    made_at=NOW,
)


def followup(user_id: str = "42", **changes: object) -> object:
    return schedule(user_id, target_kind=TargetKind.FOLLOWUP, recent_templates=(), **changes)


async def test_safety_plan_and_check_in_round_trip_beside_nudges(store: Store) -> None:
    data = UserData(person(safety_plan=PLAN), schedule(), followup())  # type: ignore[arg-type]
    await save(store, data)
    loaded = await store.load(data.person.key)  # type: ignore[union-attr]
    assert loaded.person == data.person and loaded.person.safety_plan == PLAN  # type: ignore[union-attr]
    assert loaded.schedule == replace(data.schedule, id=loaded.schedule.id)  # type: ignore[arg-type,union-attr]
    assert loaded.followup == replace(data.followup, id=loaded.followup.id)  # type: ignore[arg-type,union-attr]
    assert loaded.schedule.id != loaded.followup.id  # type: ignore[union-attr]


async def test_plan_and_check_in_can_be_removed_alone(store: Store) -> None:
    data = UserData(person(safety_plan=PLAN), schedule(), followup())  # type: ignore[arg-type]
    await save(store, data)
    loaded = await store.load(data.person.key)  # type: ignore[union-attr]
    await save(store, replace(loaded, person=replace(loaded.person, safety_plan=None), followup=None))  # type: ignore[arg-type]
    after = await store.load(data.person.key)  # type: ignore[union-attr]
    assert after.person is not None and after.person.safety_plan is None
    assert after.followup is None and after.schedule is not None


async def test_forget_erases_plan_and_check_in(store: Store) -> None:
    data = UserData(person(safety_plan=PLAN), None, followup())  # type: ignore[arg-type]
    await save(store, data)
    key = data.person.key  # type: ignore[union-attr]
    assert (await store.table_rows_for(key))["schedules"] == 1
    async with store.turn(key) as turn:
        await turn.forget()
    assert set((await store.table_rows_for(key)).values()) == {0}
    assert await store.load(key) == UserData()


async def test_a_sent_check_in_is_claimed_once(store: Store) -> None:
    due = NOW - timedelta(minutes=1)
    data = UserData(person(), None, followup(next_due_at=due))  # type: ignore[arg-type]
    await save(store, data)
    claimed = await store.claim_due(NOW, "w1", NOW + timedelta(minutes=5), 10, ["telegram"])
    assert [c.schedule.target_kind for c in claimed] == [TargetKind.FOLLOWUP]
    record = NudgeRecord(claimed[0].schedule.id, due, "w1", NudgeOutcome.SENT, NOW, None, "followup/message")  # type: ignore[arg-type]
    assert await store.record_nudge(record)
    later = NOW + timedelta(days=3)
    assert await store.claim_due(later, "w2", later + timedelta(minutes=5), 10, ["telegram"]) == []
    kept = (await store.load(data.person.key)).followup  # type: ignore[union-attr]
    assert kept is not None and kept.next_due_at is None and kept.sent_count == 1
