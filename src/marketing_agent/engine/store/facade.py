"""The engine store: :class:`Store` is the one object the engine holds for its database.

Two backends behind one small connection interface (``connections.py``):

* SQLite (``sqlite:///path``): stdlib ``sqlite3`` in WAL mode with ``synchronous=NORMAL``, one connection
  used from the event loop (a commit costs tens of microseconds, cheaper than a thread hop). One engine
  process per SQLite file.
* PostgreSQL (``postgresql://…``): ``asyncpg`` pool; several engine processes may share one database.
  Queue items are claimed with ``FOR UPDATE SKIP LOCKED`` and leased; a process heart-beats its leases, so
  the items of a process that died are claimed again once their lease expires. Enqueues ``NOTIFY``
  ``engine_queue`` so idle processes wake at once (polling remains as a fallback).

The operations live in one module per noun (``queue``, ``apps``, ``runs``, ``reads``); ``Store`` combines
them and applies the schema history (``schema.py``) when it opens. JSON is stored as text; times are integer
milliseconds since the epoch.
"""

from __future__ import annotations

from .._ids import new_ulid
from .apps import AppOps
from .queue import QueueOps
from .reads import ReadOps
from .replays import ReplayOps
from .runs import RunOps
from .schema import migrate
from .traces import TraceOps


class Store(QueueOps, AppOps, RunOps, ReadOps, ReplayOps, TraceOps):
    """Owns the database. ``transaction()`` yields a :class:`Conn` for the write methods of its parts."""

    @classmethod
    async def open(cls, url: str, worker_id: str | None = None) -> Store:
        store = cls(url, worker_id or new_ulid())
        await store._connect()
        await store.migrate()
        return store

    async def migrate(self) -> None:
        async with self.transaction() as tx:
            await migrate(tx, self.is_postgres)

    async def schema_version(self) -> int:
        async with self._read() as c:
            row = await c.fetchrow("SELECT MAX(version) AS v FROM engine_schema")
        return int(row["v"]) if row and row["v"] is not None else 0
