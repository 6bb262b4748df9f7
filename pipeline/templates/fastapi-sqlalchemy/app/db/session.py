"""The database engine (created on first use) and the `get_db` dependency."""

import functools
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.core.config import settings


def enable_sqlite_foreign_keys(dbapi_connection: Any, _connection_record: Any) -> None:
    """Turns on foreign-key enforcement, which SQLite leaves off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str) -> sa.Engine:
    """An engine for `url`; SQLite connections may cross threads and enforce foreign keys."""
    if url.startswith("sqlite"):
        sqlite_engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(sqlite_engine, "connect", enable_sqlite_foreign_keys)
        return sqlite_engine
    return sa.create_engine(url, pool_pre_ping=True)


@functools.cache
def get_engine() -> sa.Engine:
    """The application's engine, created from `settings.DATABASE_URL` on first use (so tests,
    which override `get_db`, never need the production database driver)."""
    return create_db_engine(settings.DATABASE_URL)


def get_db() -> Iterator[orm.Session]:
    """Yields a session for one request and closes it afterwards."""
    db = orm.Session(bind=get_engine(), autoflush=False, expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
