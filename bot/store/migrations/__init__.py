"""Numbered schema migrations, one folder per SQL dialect (`0001_initial.sql`, `0002_….sql`, …)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def migrations_for(dialect: str) -> list[tuple[int, list[str]]]:
    """Every migration for a dialect, in order, as (version, statements)."""
    found = []
    for path in sorted((HERE / dialect).glob("[0-9][0-9][0-9][0-9]_*.sql")):
        lines = [line for line in path.read_text().splitlines() if not line.strip().startswith("--")]
        statements = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
        found.append((int(path.name[:4]), statements))
    return found
