"""Database URLs, engines and transactions for the app database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from marketing_agent.errors import ConfigError, ServiceUnavailable

logger = logging.getLogger(__name__)

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


def normalize_database_url(url: str) -> URL:
    """Turn a plain ``sqlite:///…`` / ``postgresql://…`` URL into its async driver's form.

    Raises :class:`ConfigError` for anything else, so a bad ``DATABASE_URL`` is a one-line start-up error.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL: {exc}") from exc
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"DATABASE_URL scheme {parsed.drivername!r} is not supported (use sqlite:/// or postgresql://)"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite") and not parsed.database:
        raise ConfigError("DATABASE_URL for SQLite needs a file path (sqlite:///path/to/app.db)")
    return parsed


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; cascades and SET NULL rely on them. WAL and a busy timeout
    # let the API and the functions (same process, separate connections) write without "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    parsed = normalize_database_url(url)
    if parsed.drivername.startswith("sqlite"):
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    else:
        engine = create_async_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    return engine


#: SQLSTATE classes of a lost or refused connection: 08 connection exception, 57P01-03 shutdown/starting up.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_connection_error(exc: DBAPIError) -> bool:
    """True when ``exc`` says the database went away, not that the statement was wrong."""
    if exc.connection_invalidated:
        return True
    # The driver's own error is ``orig`` or, behind SQLAlchemy's asyncpg adapter, ``orig.__cause__``.
    for err in (exc.orig, getattr(exc.orig, "__cause__", None)):
        if isinstance(err, OSError | ConnectionError):
            return True
        sqlstate = getattr(err, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_CONNECTION_SQLSTATES):
            return True
        if type(err).__name__ in ("ConnectionDoesNotExistError", "InterfaceError") and "connection" in str(err):
            return True
    return False


class Database:
    """The app database: one engine and a session factory. Open once per process, pass it down."""

    def __init__(self, url: str) -> None:
        self.url = normalize_database_url(url)
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.drivername.startswith("sqlite")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back when it raises.

        Losing the database (a restart, a dropped connection) raises :class:`ServiceUnavailable`, which is
        retryable and which the API answers with 503, instead of a driver error that would be a 500.
        """
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            if is_connection_error(exc):
                raise ServiceUnavailable("the database is unavailable; try again shortly") from exc
            raise
        except ConnectionError as exc:  # a refused connect surfaces from the driver unwrapped
            raise ServiceUnavailable("the database is unavailable; try again shortly") from exc

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
