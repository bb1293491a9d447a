"""Shared fixtures: a store of each kind, an engine on a temporary database, a controllable clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.engine import Engine, EngineSettings
from bot.safety import CrisisDetector, ResourceBook
from bot.store import Store, store_from_url
from bot.templates import Templates

STORE_KINDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates()


@pytest.fixture(scope="session")
def detector() -> CrisisDetector:
    return CrisisDetector.load()


@pytest.fixture(scope="session")
def resources() -> ResourceBook:
    return ResourceBook.load()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def make_store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return store_from_url(f"sqlite:///{tmp_path / 'test.db'}")
    from tests.store.pg import fresh_postgres_url

    return store_from_url(await fresh_postgres_url())


async def opened(kind: str, tmp_path: Path) -> AsyncIterator[Store]:
    s = await make_store(kind, tmp_path)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in opened(request.param, tmp_path):
        yield s


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    async for s in opened("sqlite", tmp_path):
        yield s


@pytest.fixture
def engine(
    sqlite_store: Store,
    templates: Templates,
    detector: CrisisDetector,
    resources: ResourceBook,
    clock: Clock,
) -> Engine:
    return Engine(
        sqlite_store,
        templates,
        detector,
        resources,
        EngineSettings(default_country="GB", retention_days=30),
        clock=clock,
    )
