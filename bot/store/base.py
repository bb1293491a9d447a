"""The store contract: domain methods every store implements, and the errors they raise."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bot.domain import UserData, UserKey


class StoreError(Exception):
    """The store could not do what was asked; the caller should tell the person kindly and keep state."""


class StoreBusy(StoreError):
    """The database stayed locked longer than the busy timeout."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or written (missing, read-only, wrong URL)."""


class Turn(Protocol):
    """One conversation turn's unit of work, holding the person's lock until it ends."""

    duplicate: bool  # this platform update was already handled: do nothing
    data: UserData  # what is stored about the person now

    async def save(self, data: UserData) -> None:
        """Write the person's record and own schedule as they should be after this turn."""

    async def forget(self) -> None:
        """Erase every row about the person, in every table."""


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

    async def count_people(self) -> int: ...

    async def table_rows_for(self, key: UserKey) -> dict[str, int]:
        """How many rows each table holds about a person (for proving /forget)."""
