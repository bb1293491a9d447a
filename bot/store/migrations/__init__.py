"""Numbered schema migrations, one folder per SQL dialect (`0001_initial.sql`, `0002_….sql`, …)."""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent


TRACKING_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
)


def pending(dialect: str, done: set[int]) -> list[tuple[int, list[str]]]:
    """The migrations not yet applied, in order; each is logged as it is handed out."""
    todo = [(version, statements) for version, statements in migrations_for(dialect) if version not in done]
    for version, _ in todo:
        logger.info("applying migration %04d", version)
    return todo


def migrations_for(dialect: str) -> list[tuple[int, list[str]]]:
    """Every migration for a dialect, in order, as (version, statements)."""
    found = []
    for path in sorted((HERE / dialect).glob("[0-9][0-9][0-9][0-9]_*.sql")):
        lines = [line for line in path.read_text().splitlines() if not line.strip().startswith("--")]
        statements = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
        found.append((int(path.name[:4]), statements))
    return found
