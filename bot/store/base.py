"""The store contract: domain methods every store implements, and the errors they raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.domain import Schedule, UserData, UserKey


class StoreError(Exception):
    """The store could not do what was asked; the caller should tell the person kindly and keep state."""


class StoreBusy(StoreError):
    """The database stayed locked longer than the busy timeout."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or written (missing, read-only, wrong URL)."""


class NudgeOutcome(StrEnum):
    """What became of one nudge slot (one `nudge_log` row each)."""

    SENT = "sent"
    UNREACHABLE = "unreachable"  # the platform says the target is gone or blocked us: opted out
    FAILED = "failed"  # kept failing until the grace window closed
    MISSED = "missed"  # the bot was down past the grace window; the slot is skipped
    QUIET = "quiet"  # sending now would break the target's quiet hours; the slot is skipped


@dataclass(frozen=True)
class NudgeRecord:
    """What became of one claimed slot, as the dispatcher reports it to the store."""

    schedule_id: int
    slot_at: datetime
    owner: str
    outcome: NudgeOutcome
    recorded_at: datetime
    next_due_at: datetime | None = None
    template: str | None = None
    recent_templates: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DueNudge:
    """A claimed (or, for a dry run, merely due) schedule, with the slot it is due for."""

    schedule: Schedule
    slot_at: datetime  # the due time claimed; with the schedule id, the key of its nudge_log row
    answers: Mapping[str, str] = field(default_factory=dict)  # the person's reflection answers


class Turn(Protocol):
    """One conversation turn's unit of work, holding the person's lock until it ends."""

    duplicate: bool  # this platform update was already handled: do nothing
    data: UserData  # what is stored about the person now

    async def save(self, data: UserData) -> None:
        """Write the person's record and own schedule as they should be after this turn."""

    async def forget(self) -> None:
        """Erase every row about the person, in every table (their update ids included)."""

    async def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Every stored row about the person, table by table, as it was when the turn began (/mydata)."""


class Store(Protocol):
    """Durable state. A turn is one short write transaction, serialised per person."""

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None: ...

    def turn(self, key: UserKey, update_key: str | None = None) -> AbstractAsyncContextManager[Turn]:
        """Begin a turn for `key`; commits on normal exit, rolls back on error."""

    async def load(self, key: UserKey) -> UserData:
        """Read what is stored about a person, outside any turn."""

    async def expire_inactive(self, before: datetime) -> int:
        """Erase everyone last seen before `before`; returns how many people."""

    async def prune_updates(self, before: datetime) -> int:
        """Forget update ids handled before `before`, everyone's (see records.UPDATE_ID_RETENTION)."""

    async def checkpoint(self) -> None:
        """Make erased rows unrecoverable from logs where the store keeps them (SQLite's WAL)."""

    async def count_people(self) -> int: ...

    async def table_rows_for(self, key: UserKey) -> dict[str, int]:
        """How many rows each table holds about a person (for proving /forget)."""

    # ---- nudges: claimed with a lease, so several dispatchers (or a restarted one) share the work ----
    async def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int, platforms: Sequence[str]
    ) -> list[DueNudge]:
        """Lease up to `limit` schedules due by `now` on `platforms` (unleased, or whose lease has expired).

        One transaction sets lease_owner/lease_until and returns the rows (earliest first) with the person's
        answers; the slot is the row's next_due_at. PostgreSQL: `FOR UPDATE SKIP LOCKED` in the select.
        """

    async def record_nudge(self, record: NudgeRecord) -> bool:
        """Record a slot's outcome and move the schedule on, in one transaction, and release the lease.

        Only while `owner` still holds the lease, and only once per (schedule_id, slot_at); False otherwise
        (the lease was lost or the schedule is gone). SENT adds one to sent_count and unanswered and stores
        `recent_templates`; UNREACHABLE sets next_due_at to NULL; otherwise next_due_at becomes `next_due_at`
        unless the person changed it meanwhile (it no longer equals `slot_at`).
        """

    async def retry_nudge(self, schedule_id: int, owner: str, retry_at: datetime) -> bool:
        """Give the lease up but keep the same slot unclaimable until `retry_at` (a failed send's backoff)."""

    async def release_nudges(self, owner: str) -> int:
        """Drop every lease `owner` holds, unsent (a clean shut-down); returns how many."""

    async def earliest_due(self, platforms: Sequence[str]) -> datetime | None:
        """The earliest next_due_at on `platforms`, leased or not (how long a dispatcher may sleep)."""

    async def schedules_due_before(
        self, end: datetime, *, after_id: int = 0, limit: int = 1000, platforms: Sequence[str] | None = None
    ) -> list[DueNudge]:
        """Schedules due before `end`, by id after `after_id` (keyset pages), read-only (the dry run)."""

    async def upsert_channel_schedule(self, schedule: Schedule) -> Schedule:
        """Create or replace a community channel's schedule (target_kind CHANNEL); returns it with its id."""

    async def delete_channel_schedule(self, platform: str, channel_id: str) -> bool:
        """Remove a channel's schedule and its log; True when there was one."""
