"""Durable state behind one contract: SQLite by default, PostgreSQL for several processes."""

from __future__ import annotations

from urllib.parse import urlparse

from bot.store.base import Store, StoreBusy, StoreError, StoreUnavailable, Turn

__all__ = ["Store", "StoreBusy", "StoreError", "StoreUnavailable", "Turn", "store_from_url"]


def store_from_url(url: str, *, group_commit: bool = True) -> Store:
    """The store a `DATABASE_URL` names: `sqlite:///path`, `sqlite:///:memory:` or `postgresql://…`.

    `group_commit` (SQLite): turns arriving together share one COMMIT (the SQLITE_GROUP_COMMIT setting).
    """
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from bot.store.sqlite import SQLiteStore

        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[len("sqlite:") :]
        return SQLiteStore(path or "keepgoing.db", group_commit=group_commit)
    if scheme in {"postgres", "postgresql"}:
        try:
            from bot.store.postgres import PostgresStore
        except ImportError as error:  # asyncpg is the `postgres` extra
            raise StoreUnavailable(
                "PostgreSQL needs the postgres extra: pip install 'keepgoing[postgres]'"
            ) from error
        return PostgresStore(url)
    raise StoreUnavailable(f"unsupported DATABASE_URL scheme {scheme!r} (use sqlite or postgresql)")
