"""Connections to SQLite or PostgreSQL behind one small interface, :class:`Conn`.

Queries are written once with ``?`` placeholders (translated to ``$n`` for PostgreSQL, once per statement).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Conn(Protocol):
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]: ...
    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None: ...
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


_PLACEHOLDER = re.compile(r"\?")


def _to_pg(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


class _SqliteConn:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, *args: Any) -> int:
        return self._db.execute(sql, args).rowcount

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        cur = self._db.execute(sql, args)
        cols = [c[0] for c in cur.description or ()]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        cur = self._db.execute(sql, args)
        row = cur.fetchone()
        if row is None:
            return None
        cols = [c[0] for c in cur.description or ()]
        cur.close()
        return dict(zip(cols, row, strict=True))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)


class _PgConn:
    def __init__(self, conn: Any, cache: dict[str, str]) -> None:
        self._conn = conn
        self._cache = cache

    def _sql(self, sql: str) -> str:
        out = self._cache.get(sql)
        if out is None:
            out = self._cache[sql] = _to_pg(sql)
        return out

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self._conn.execute(self._sql(sql), *args)
        try:
            return int(str(status).rsplit(" ", 1)[-1])
        except ValueError:
            return 0

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._conn.fetch(self._sql(sql), *args)]

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        row = await self._conn.fetchrow(self._sql(sql), *args)
        return None if row is None else dict(row)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(self._sql(sql), list(rows))


def _no_reset_connection_class() -> Any:
    import asyncpg  # type: ignore[import-untyped]

    class NoResetConnection(asyncpg.Connection):  # type: ignore[misc]
        """Skips the reset query asyncpg's pool sends on every release (a round trip per transaction).

        The engine keeps no session state on pooled connections: no cursors, no LISTEN (that has its own
        connection), only transaction-scoped advisory locks, and every transaction ends before release.
        """

        def get_reset_query(self) -> str:
            return ""

    return NoResetConnection


_NoResetConnection: Any = None


class Database:
    """Owns the connections: one SQLite connection used from the event loop, or an asyncpg pool and a
    LISTEN connection. The store's operation classes (``queue``, ``apps``, ``runs``, ``reads``) extend it."""

    def __init__(self, url: str, worker_id: str) -> None:
        self.url = url
        self.worker_id = worker_id
        self.is_postgres = url.startswith("postgres")
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_lock = asyncio.Lock()
        self._pool: Any = None
        self._sql_cache: dict[str, str] = {}
        self._listen_conn: Any = None
        self._listen_callback: Callable[[], None] | None = None
        self._notify_pending = False

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self.is_postgres:
            import asyncpg

            global _NoResetConnection
            if _NoResetConnection is None:
                _NoResetConnection = _no_reset_connection_class()
            url = self.url.replace("postgresql+asyncpg://", "postgresql://")
            self._pool = await asyncpg.create_pool(url, min_size=2, max_size=12, connection_class=_NoResetConnection)
        else:
            path = self.url.split("sqlite:///", 1)[-1] if "sqlite:///" in self.url else ":memory:"
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA foreign_keys=OFF")
            self._sqlite = db

    async def close(self) -> None:
        if self._listen_conn is not None:
            try:
                await self._listen_conn.close()
            except Exception:  # closing a broken listener is best effort
                log.debug("closing listener failed", exc_info=True)
            self._listen_conn = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        if self._sqlite is not None:
            async with self._sqlite_lock:
                self._sqlite.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteConn(self._sqlite)
                except BaseException:
                    self._sqlite.execute("ROLLBACK")
                    raise
                self._sqlite.execute("COMMIT")
            return
        async with self._pool.acquire() as raw, raw.transaction():
            conn = _PgConn(raw, self._sql_cache)
            yield conn
            if self._notify_pending:
                self._notify_pending = False
                await raw.execute("NOTIFY engine_queue")

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[Conn]:
        if self._sqlite is not None:
            yield _SqliteConn(self._sqlite)
            return
        async with self._pool.acquire() as raw:
            yield _PgConn(raw, self._sql_cache)

    # ---- wake-ups (PostgreSQL LISTEN/NOTIFY) ---------------------------------------------------------

    async def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever another process enqueues work (PostgreSQL only)."""
        if not self.is_postgres:
            return
        import asyncpg

        self._listen_callback = callback
        self._listen_conn = await asyncpg.connect(self.url.replace("postgresql+asyncpg://", "postgresql://"))
        await self._listen_conn.add_listener("engine_queue", lambda *_a: callback())

    async def ensure_listening(self) -> None:
        """Re-open the LISTEN connection if it was lost (polling covers the gap meanwhile)."""
        callback = self._listen_callback
        if callback is None or (self._listen_conn is not None and not self._listen_conn.is_closed()):
            return
        log.warning("LISTEN connection lost; reconnecting")
        await self.listen(callback)

    def _want_notify(self) -> None:
        if self.is_postgres:
            self._notify_pending = True
