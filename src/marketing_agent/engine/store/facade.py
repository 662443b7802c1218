"""The engine store: every SQL statement of the engine lives in this module and, for flow control, in its
second module ``store_flow.py`` (the ``flow_*`` tables, schema versions 101+).

Two backends behind one small connection interface:

* SQLite (``sqlite:///path``): stdlib ``sqlite3`` in WAL mode with ``synchronous=NORMAL``, one connection
  used from the event loop (a commit costs tens of microseconds, cheaper than a thread hop). One engine
  process per SQLite file.
* PostgreSQL (``postgresql://…``): ``asyncpg`` pool; several engine processes may share one database.
  Queue items are claimed with ``FOR UPDATE SKIP LOCKED`` and leased; a process heart-beats its leases, so
  the items of a process that died are claimed again once their lease expires. Enqueues ``NOTIFY``
  ``engine_queue`` so idle processes wake at once (polling remains as a fallback).

Queries are written once with ``?`` placeholders (translated to ``$n`` for PostgreSQL). JSON is stored as
text; times are integer milliseconds since the epoch.

Schema migrations: ``MIGRATIONS`` is an ordered list of (version, statements); ``engine_schema`` records the
versions applied. ``Store.open`` applies the missing ones in one transaction (PostgreSQL: under an advisory
lock so two processes starting together do not race). Add a migration by appending to the list; never edit
one that has shipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .._ids import new_ulid, now_ms
from .flow import FLOW_MIGRATIONS

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------------
# schema

#: Prefix of a migration statement that runs on PostgreSQL only.
PG_ONLY = "-- postgresql only\n"

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE engine_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
            """CREATE TABLE apps (
                id TEXT PRIMARY KEY, url TEXT NOT NULL, sdk TEXT, framework TEXT, config TEXT NOT NULL,
                checksum TEXT, error TEXT, created_at BIGINT NOT NULL, synced_at BIGINT NOT NULL)""",
            """CREATE TABLE functions (
                id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)""",
            """CREATE INDEX functions_app ON functions (app_id)""",
            """CREATE TABLE events (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, payload TEXT NOT NULL, user_id TEXT,
                ts BIGINT NOT NULL, received_at BIGINT NOT NULL, duplicate INTEGER NOT NULL DEFAULT 0)""",
            """CREATE INDEX events_received ON events (received_at)""",
            """CREATE INDEX events_name ON events (name, received_at)""",
            """CREATE TABLE event_dedup (key TEXT PRIMARY KEY, event_id TEXT NOT NULL, expires_at BIGINT NOT NULL)""",
            """CREATE TABLE runs (
                id TEXT PRIMARY KEY, function_id TEXT NOT NULL, app_id TEXT NOT NULL, event_id TEXT,
                events TEXT NOT NULL, status TEXT NOT NULL, output TEXT,
                queued_at BIGINT NOT NULL, started_at BIGINT, ended_at BIGINT,
                parent_run_id TEXT, correlation_id TEXT, cron TEXT, rerun_of TEXT,
                race INTEGER NOT NULL DEFAULT 0, step_count INTEGER NOT NULL DEFAULT 0,
                state_bytes BIGINT NOT NULL DEFAULT 0)""",
            """CREATE INDEX runs_function ON runs (function_id, queued_at)""",
            """CREATE INDEX runs_queued ON runs (queued_at)""",
            """CREATE INDEX runs_status ON runs (status, queued_at)""",
            """CREATE INDEX runs_event ON runs (event_id)""",
            """CREATE TABLE steps (
                run_id TEXT NOT NULL, step_id TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
                op TEXT NOT NULL, status TEXT NOT NULL, memo TEXT, has_memo INTEGER NOT NULL DEFAULT 0,
                opts TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                started_at BIGINT NOT NULL, ended_at BIGINT, PRIMARY KEY (run_id, step_id))""",
            """CREATE TABLE attempts (
                id TEXT PRIMARY KEY, run_id TEXT NOT NULL, target TEXT NOT NULL, step_name TEXT,
                attempt INTEGER NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL,
                status_code INTEGER, outcome TEXT NOT NULL, error TEXT)""",
            """CREATE INDEX attempts_run ON attempts (run_id, started_at)""",
            """CREATE TABLE queue (
                id TEXT PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0, available_at BIGINT NOT NULL,
                priority INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until BIGINT,
                payload TEXT, created_at BIGINT NOT NULL)""",
            """CREATE INDEX queue_ready ON queue (available_at)""",
            """CREATE INDEX queue_run ON queue (run_id)""",
            """CREATE INDEX queue_owner ON queue (lease_owner)""",
            """CREATE TABLE pauses (
                id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_id TEXT, kind TEXT NOT NULL,
                event_name TEXT, expression TEXT, correlation_id TEXT, expires_at BIGINT,
                created_at BIGINT NOT NULL, data TEXT)""",
            """CREATE INDEX pauses_event ON pauses (event_name)""",
            """CREATE INDEX pauses_correlation ON pauses (correlation_id)""",
            """CREATE INDEX pauses_run ON pauses (run_id)""",
            """CREATE TABLE crons (
                function_id TEXT NOT NULL, expression TEXT NOT NULL, next_at BIGINT NOT NULL,
                PRIMARY KEY (function_id, expression))""",
            """CREATE TABLE workers (id TEXT PRIMARY KEY, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL)""",
        ],
    ),
    (
        2,
        [
            # The hot path on PostgreSQL: a step's output and the run's next call in one round trip (see
            # Store.step_run_fast). Same effect as the generic path in executor._apply_ops for one StepRun.
            PG_ONLY
            + """CREATE OR REPLACE FUNCTION engine_step_run(
                p_item TEXT, p_run TEXT, p_step TEXT, p_name TEXT, p_memo TEXT, p_attempts INTEGER,
                p_started BIGINT, p_ended BIGINT, p_target TEXT, p_step_name TEXT, p_attempt INTEGER,
                p_status_code INTEGER, p_size BIGINT, p_attempt_id TEXT, p_new_item TEXT, p_owner TEXT,
                p_lease_until BIGINT, p_max_steps INTEGER, p_max_bytes BIGINT) RETURNS TEXT
            LANGUAGE plpgsql AS $fn$
            DECLARE r RECORD; st TEXT; pending INTEGER;
            BEGIN
                SELECT status, race, step_count, state_bytes INTO r FROM runs WHERE id = p_run FOR UPDATE;
                IF NOT FOUND THEN RETURN 'fallback'; END IF;
                IF NOT EXISTS (SELECT 1 FROM queue WHERE id = p_item) THEN RETURN 'gone'; END IF;
                IF r.status NOT IN ('QUEUED', 'RUNNING') OR r.race = 1 OR r.step_count + 1 > p_max_steps
                   OR r.state_bytes + p_size > p_max_bytes THEN RETURN 'fallback'; END IF;
                SELECT status INTO st FROM steps WHERE run_id = p_run AND step_id = p_step;
                IF st IN ('completed', 'failed') THEN RETURN 'fallback'; END IF;
                INSERT INTO steps (run_id, step_id, seq, name, op, status, memo, has_memo, opts, attempts,
                                   started_at, ended_at)
                VALUES (p_run, p_step, (SELECT COUNT(*) FROM steps WHERE run_id = p_run), p_name, 'StepRun',
                        'completed', p_memo, 1, NULL, p_attempts, p_started, p_ended)
                ON CONFLICT (run_id, step_id) DO UPDATE SET op = 'StepRun', status = 'completed',
                    memo = excluded.memo, has_memo = 1,
                    attempts = GREATEST(steps.attempts, excluded.attempts), ended_at = excluded.ended_at;
                UPDATE runs SET status = 'RUNNING', started_at = COALESCE(started_at, p_started),
                    step_count = step_count + 1, state_bytes = state_bytes + p_size WHERE id = p_run;
                DELETE FROM queue WHERE id = p_item;
                INSERT INTO attempts (id, run_id, target, step_name, attempt, started_at, ended_at, status_code,
                                      outcome, error)
                VALUES (p_attempt_id, p_run, p_target, p_step_name, p_attempt, p_started, p_ended, p_status_code,
                        'step_completed', NULL);
                SELECT COUNT(*) INTO pending FROM steps WHERE run_id = p_run
                    AND status IN ('planned', 'sleeping', 'waiting', 'invoking');
                IF pending > 0 THEN RETURN 'ok:'; END IF;
                INSERT INTO queue (id, run_id, kind, target, attempt, available_at, priority, lease_owner,
                                   lease_until, payload, created_at)
                VALUES (p_new_item, p_run, 'call', 'step', 0, p_ended, 0, p_owner, p_lease_until, NULL, p_ended);
                RETURN 'ok:' || p_new_item;
            END
            $fn$""",
        ],
    ),
    (
        3,
        [
            # The runs list filtered by function AND status (dashboard, /v1/runs): without statistics SQLite
            # walked runs_status for it (≈ 100 ms at 100,000 runs, bench B4); this index answers it directly.
            """CREATE INDEX runs_function_status ON runs (function_id, status, queued_at)""",
        ],
    ),
]

MIGRATIONS.extend(FLOW_MIGRATIONS)  # flow-control tables (versions 101+), defined in store_flow.py

ACTIVE_STATUSES = ("QUEUED", "RUNNING")
PENDING_STEP_STATUSES = ("planned", "sleeping", "waiting", "invoking")


# --------------------------------------------------------------------------------------------------------
# connections


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


@dataclass(frozen=True)
class QueueItem:
    id: str
    run_id: str
    kind: str  # call | sleep | wait_timeout | invoke_timeout
    target: str  # "step" (discovery) or a step hash
    attempt: int
    available_at: int
    payload: dict[str, Any] | None = None


def _item(row: dict[str, Any]) -> QueueItem:
    payload = row.get("payload")
    return QueueItem(
        id=row["id"],
        run_id=row["run_id"],
        kind=row["kind"],
        target=row["target"],
        attempt=int(row["attempt"]),
        available_at=int(row["available_at"]),
        payload=json.loads(payload) if payload else None,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------------------
# the store


class Store:
    """Owns the database. ``transaction()`` yields a :class:`Conn` for the write methods below."""

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

    @classmethod
    async def open(cls, url: str, worker_id: str | None = None) -> Store:
        store = cls(url, worker_id or new_ulid())
        await store._connect()
        await store.migrate()
        return store

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

    async def migrate(self) -> None:
        async with self.transaction() as tx:
            if self.is_postgres:
                await tx.execute("SELECT pg_advisory_xact_lock(72881)")
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS engine_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
            )
            done = {r["version"] for r in await tx.fetch("SELECT version FROM engine_schema")}
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for stmt in statements:
                    if stmt.startswith(PG_ONLY) and not self.is_postgres:
                        continue
                    await tx.execute(stmt)
                await tx.execute("INSERT INTO engine_schema (version, applied_at) VALUES (?, ?)", version, now_ms())
                log.info("engine store migrated to schema version %s", version)

    async def schema_version(self) -> int:
        async with self._read() as c:
            row = await c.fetchrow("SELECT MAX(version) AS v FROM engine_schema")
        return int(row["v"]) if row and row["v"] is not None else 0

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

    # ---- workers and leases -----------------------------------------------------------------------

    async def register_worker(self, release_all: bool) -> None:
        async with self.transaction() as tx:
            now = now_ms()
            await tx.execute(
                "INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?)", self.worker_id, now, now
            )
            if release_all:  # SQLite: one process per file, so every lease left over is from a dead process
                await tx.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL")

    async def heartbeat(self, lease_ms: int) -> None:
        async with self.transaction() as tx:
            now = now_ms()
            await tx.execute("UPDATE workers SET heartbeat_at = ? WHERE id = ?", now, self.worker_id)
            await tx.execute("UPDATE queue SET lease_until = ? WHERE lease_owner = ?", now + lease_ms, self.worker_id)
            await tx.execute("DELETE FROM workers WHERE heartbeat_at < ?", now - 3_600_000)

    async def unregister_worker(self) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?", self.worker_id
            )
            await tx.execute("DELETE FROM workers WHERE id = ?", self.worker_id)

    async def claim(self, limit: int, lease_ms: int) -> list[QueueItem]:
        now = now_ms()
        if self.is_postgres:
            sql = (
                "UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM queue WHERE available_at <= ? AND (lease_owner IS NULL OR lease_until < ?)"
                " ORDER BY priority DESC, available_at LIMIT ? FOR UPDATE SKIP LOCKED)"
                " RETURNING id, run_id, kind, target, attempt, available_at, payload"
            )
        else:
            sql = (
                "UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM queue WHERE available_at <= ? AND (lease_owner IS NULL OR lease_until < ?)"
                " ORDER BY priority DESC, available_at LIMIT ?)"
                " RETURNING id, run_id, kind, target, attempt, available_at, payload"
            )
        async with self.transaction() as tx:
            rows = await tx.fetch(sql, self.worker_id, now + lease_ms, now, now, limit)
        return [_item(r) for r in rows]

    async def next_due(self) -> int | None:
        """Earliest ``available_at`` of an item nobody holds (or whose lease expired)."""
        now = now_ms()
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT MIN(available_at) AS t FROM queue WHERE lease_owner IS NULL OR lease_until < ?", now
            )
            lease = await c.fetchrow("SELECT MIN(lease_until) AS t FROM queue WHERE lease_owner IS NOT NULL")
        times = [int(r["t"]) for r in (row, lease) if r and r["t"] is not None]
        return min(times) if times else None

    # ---- queue writes (inside a transaction) ----------------------------------------------------------

    async def enqueue(
        self,
        tx: Conn,
        run_id: str,
        kind: str,
        target: str,
        *,
        attempt: int = 0,
        available_at: int | None = None,
        payload: dict[str, Any] | None = None,
        lease_ms: int | None = None,
        priority: int = 0,
    ) -> QueueItem:
        """Insert a queue item. With ``lease_ms`` it is leased to this process (to run it inline at once)."""
        now = now_ms()
        at = now if available_at is None else available_at
        item_id = new_ulid()
        owner = self.worker_id if lease_ms is not None else None
        until = now + lease_ms if lease_ms is not None else None
        await tx.execute(
            "INSERT INTO queue (id, run_id, kind, target, attempt, available_at, priority, lease_owner, lease_until,"
            " payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            item_id, run_id, kind, target, attempt, at, priority, owner, until,
            _dumps(payload) if payload is not None else None, now,
        )  # fmt: skip
        if owner is None:
            self._want_notify()
        return QueueItem(item_id, run_id, kind, target, attempt, at, payload)

    async def delete_item(self, tx: Conn, item_id: str) -> None:
        await tx.execute("DELETE FROM queue WHERE id = ?", item_id)

    async def reschedule_item(self, tx: Conn, item_id: str, attempt: int, available_at: int) -> None:
        await tx.execute(
            "UPDATE queue SET attempt = ?, available_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
            attempt, available_at, item_id,
        )  # fmt: skip
        self._want_notify()

    async def release_item(self, item_id: str) -> None:
        async with self.transaction() as tx:
            await tx.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE id = ?", item_id)

    async def item_exists(self, tx: Conn, item_id: str) -> bool:
        return await tx.fetchrow("SELECT 1 AS x FROM queue WHERE id = ?", item_id) is not None

    async def delete_run_items(self, tx: Conn, run_id: str, kinds: Sequence[str] | None = None) -> None:
        if kinds:
            marks = ",".join("?" * len(kinds))
            await tx.execute(f"DELETE FROM queue WHERE run_id = ? AND kind IN ({marks})", run_id, *kinds)
        else:
            await tx.execute("DELETE FROM queue WHERE run_id = ?", run_id)

    async def delete_timeout_item(self, tx: Conn, run_id: str, pause_id: str) -> None:
        await tx.execute(
            "DELETE FROM queue WHERE run_id = ? AND kind IN ('wait_timeout', 'invoke_timeout') AND target = ?",
            run_id, pause_id,
        )  # fmt: skip

    # ---- apps and functions -----------------------------------------------------------------------

    async def save_app(
        self,
        app_id: str,
        url: str,
        payload: dict[str, Any],
        functions: Sequence[tuple[str, str, dict[str, Any]]],
        checksum: str,
    ) -> bool:
        """Store an app and its functions (id, name, config). Functions no longer present become inactive.

        Returns True when the config changed.
        """
        now = now_ms()
        async with self.transaction() as tx:
            old = await tx.fetchrow("SELECT checksum FROM apps WHERE id = ?", app_id)
            modified = old is None or old["checksum"] != checksum
            await tx.execute(
                "INSERT INTO apps (id, url, sdk, framework, config, checksum, error, created_at, synced_at)"
                " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url,"
                " sdk = excluded.sdk, framework = excluded.framework, config = excluded.config,"
                " checksum = excluded.checksum, error = NULL, synced_at = excluded.synced_at",
                app_id, url, str(payload.get("sdk") or ""), str(payload.get("framework") or ""),
                _dumps({k: v for k, v in payload.items() if k != "functions"}), checksum, now, now,
            )  # fmt: skip
            await tx.execute("UPDATE functions SET active = 0, updated_at = ? WHERE app_id = ?", now, app_id)
            for fid, name, cfg in functions:
                await tx.execute(
                    "INSERT INTO functions (id, app_id, name, config, active, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET app_id = excluded.app_id,"
                    " name = excluded.name, config = excluded.config, active = 1, updated_at = excluded.updated_at",
                    fid, app_id, name, _dumps(cfg), now, now,
                )  # fmt: skip
            await self._bump_functions_version(tx)
        return modified

    async def record_app_error(self, url: str, app_id: str | None, error: str) -> None:
        async with self.transaction() as tx:
            if app_id:
                await tx.execute("UPDATE apps SET error = ? WHERE id = ?", error, app_id)
            else:
                await tx.execute("UPDATE apps SET error = ? WHERE url = ?", error, url)

    async def _bump_functions_version(self, tx: Conn) -> None:
        await tx.execute(
            "INSERT INTO engine_meta (key, value) VALUES ('functions_version', ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value",
            new_ulid(),
        )

    async def functions_version(self) -> str:
        async with self._read() as c:
            row = await c.fetchrow("SELECT value FROM engine_meta WHERE key = 'functions_version'")
        return row["value"] if row else ""

    async def active_functions(self) -> list[dict[str, Any]]:
        async with self._read() as c:
            rows = await c.fetch(
                "SELECT f.id, f.app_id, f.name, f.config, a.url AS app_url FROM functions f"
                " JOIN apps a ON a.id = f.app_id WHERE f.active = 1"
            )
        for r in rows:
            r["config"] = json.loads(r["config"])
        return rows

    # ---- crons ------------------------------------------------------------------------------------

    async def sync_crons(self, wanted: dict[tuple[str, str], int]) -> None:
        """Make ``crons`` hold exactly ``wanted`` ((function id, expression) → first fire time)."""
        async with self.transaction() as tx:
            rows = await tx.fetch("SELECT function_id, expression FROM crons")
            have = {(r["function_id"], r["expression"]) for r in rows}
            for key in have - wanted.keys():
                await tx.execute("DELETE FROM crons WHERE function_id = ? AND expression = ?", *key)
            for key in wanted.keys() - have:
                await tx.execute(
                    "INSERT INTO crons (function_id, expression, next_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    key[0], key[1], wanted[key],
                )  # fmt: skip

    async def due_crons(self, now: int) -> list[dict[str, Any]]:
        async with self._read() as c:
            return await c.fetch("SELECT function_id, expression, next_at FROM crons WHERE next_at <= ?", now)

    async def next_cron(self) -> int | None:
        async with self._read() as c:
            row = await c.fetchrow("SELECT MIN(next_at) AS t FROM crons")
        return int(row["t"]) if row and row["t"] is not None else None

    async def advance_cron(self, tx: Conn, function_id: str, expression: str, old: int, new: int) -> bool:
        """Move a cron to its next fire time; False when another process already did (so it must not fire)."""
        n = await tx.execute(
            "UPDATE crons SET next_at = ? WHERE function_id = ? AND expression = ? AND next_at = ?",
            new, function_id, expression, old,
        )  # fmt: skip
        return n == 1

    # ---- events -----------------------------------------------------------------------------------

    async def insert_event(
        self,
        tx: Conn,
        event_id: str,
        name: str,
        payload: dict[str, Any],
        user_id: str | None,
        ts: int,
        received_at: int,
    ) -> bool:
        """Insert an event; False when it is a duplicate (same user id within 24 h, or same id resent)."""
        duplicate = False
        if user_id:
            row = await tx.fetchrow("SELECT event_id, expires_at FROM event_dedup WHERE key = ?", user_id)
            if row is not None and int(row["expires_at"]) > received_at:
                duplicate = True
            else:
                await tx.execute(
                    "INSERT INTO event_dedup (key, event_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                    " DO UPDATE SET event_id = excluded.event_id, expires_at = excluded.expires_at",
                    user_id, event_id, received_at + 24 * 3_600_000,
                )  # fmt: skip
        n = await tx.execute(
            "INSERT INTO events (id, name, payload, user_id, ts, received_at, duplicate) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            event_id, name, _dumps(payload), user_id, ts, received_at, 1 if duplicate else 0,
        )  # fmt: skip
        return n == 1 and not duplicate

    # ---- runs -------------------------------------------------------------------------------------

    async def create_run(
        self,
        tx: Conn,
        *,
        run_id: str,
        function_id: str,
        app_id: str,
        event_id: str | None,
        events: list[dict[str, Any]],
        now: int,
        parent_run_id: str | None = None,
        correlation_id: str | None = None,
        cron: str | None = None,
        rerun_of: str | None = None,
        status: str = "QUEUED",
    ) -> None:
        await tx.execute(
            "INSERT INTO runs (id, function_id, app_id, event_id, events, status, queued_at, parent_run_id,"
            " correlation_id, cron, rerun_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            run_id, function_id, app_id, event_id, _dumps(events), status, now, parent_run_id,
            correlation_id, cron, rerun_of,
        )  # fmt: skip

    async def lock_run(self, tx: Conn, run_id: str) -> dict[str, Any] | None:
        """The run row, locked for the rest of the transaction (PostgreSQL: ``FOR UPDATE``)."""
        suffix = " FOR UPDATE" if self.is_postgres else ""
        return await tx.fetchrow(
            "SELECT id, function_id, app_id, status, events, parent_run_id, correlation_id, race, step_count,"
            " state_bytes, started_at, queued_at, cron FROM runs WHERE id = ?" + suffix,
            run_id,
        )

    async def load_call_state(self, run_id: str) -> tuple[dict[str, Any] | None, list[tuple[str, str]], int]:
        """(run row, memoized steps as (hash, memo JSON text), number of pending steps) for a call."""
        async with self._read() as c:
            run = await c.fetchrow(
                "SELECT id, function_id, app_id, status, events, race, step_count, state_bytes FROM runs WHERE id = ?",
                run_id,
            )
            if run is None:
                return None, [], 0
            rows = await c.fetch(
                "SELECT step_id, memo, has_memo, status FROM steps WHERE run_id = ? ORDER BY seq", run_id
            )
        memos = [(r["step_id"], r["memo"] if r["memo"] is not None else "null") for r in rows if r["has_memo"]]
        pending = sum(1 for r in rows if r["status"] in PENDING_STEP_STATUSES)
        return run, memos, pending

    async def memos(self, run_id: str) -> dict[str, Any]:
        async with self._read() as c:
            rows = await c.fetch("SELECT step_id, memo FROM steps WHERE run_id = ? AND has_memo = 1", run_id)
        return {r["step_id"]: json.loads(r["memo"]) if r["memo"] is not None else None for r in rows}

    async def run_events(self, run_id: str) -> list[dict[str, Any]] | None:
        async with self._read() as c:
            row = await c.fetchrow("SELECT events FROM runs WHERE id = ?", run_id)
        return None if row is None else json.loads(row["events"])

    async def mark_started(self, tx: Conn, run_id: str, now: int) -> None:
        await tx.execute(
            "UPDATE runs SET status = 'RUNNING', started_at = COALESCE(started_at, ?)"
            " WHERE id = ? AND status = 'QUEUED'",
            now, run_id,
        )  # fmt: skip

    async def set_race(self, tx: Conn, run_id: str) -> None:
        await tx.execute("UPDATE runs SET race = 1 WHERE id = ?", run_id)

    async def finish_run(self, tx: Conn, run_id: str, status: str, output: str | None, now: int) -> None:
        await tx.execute(
            "UPDATE runs SET status = ?, output = ?, ended_at = ?, started_at = COALESCE(started_at, ?) WHERE id = ?",
            status, output, now, now, run_id,
        )  # fmt: skip
        await tx.execute("DELETE FROM queue WHERE run_id = ?", run_id)
        await tx.execute("DELETE FROM pauses WHERE run_id = ?", run_id)
        await tx.execute(
            "UPDATE steps SET status = 'cancelled', ended_at = ? WHERE run_id = ? AND has_memo = 0", now, run_id
        )

    async def add_state(self, tx: Conn, run_id: str, steps: int, nbytes: int) -> None:
        await tx.execute(
            "UPDATE runs SET step_count = step_count + ?, state_bytes = state_bytes + ? WHERE id = ?",
            steps, nbytes, run_id,
        )  # fmt: skip

    # ---- steps and attempts -----------------------------------------------------------------------

    async def step_statuses(self, tx: Conn, run_id: str) -> dict[str, str]:
        rows = await tx.fetch("SELECT step_id, status FROM steps WHERE run_id = ?", run_id)
        return {r["step_id"]: r["status"] for r in rows}

    async def pending_steps(self, tx: Conn, run_id: str) -> int:
        marks = ",".join("?" * len(PENDING_STEP_STATUSES))
        row = await tx.fetchrow(
            f"SELECT COUNT(*) AS n FROM steps WHERE run_id = ? AND status IN ({marks})", run_id, *PENDING_STEP_STATUSES
        )
        return int(row["n"]) if row else 0

    async def upsert_step(
        self,
        tx: Conn,
        run_id: str,
        step_id: str,
        *,
        name: str,
        op: str,
        status: str,
        now: int,
        memo: Any = ...,
        opts: dict[str, Any] | None = None,
        attempts: int | None = None,
        started_at: int | None = None,
    ) -> None:
        """Create or update a step row. ``memo`` omitted: no memo yet; any value (incl. None): memoized."""
        has_memo = memo is not ...
        memo_text = _dumps(memo) if has_memo else None
        ended = now if has_memo or status in ("completed", "failed") else None
        await tx.execute(
            "INSERT INTO steps (run_id, step_id, seq, name, op, status, memo, has_memo, opts, attempts, started_at,"
            " ended_at) VALUES (?, ?, (SELECT COUNT(*) FROM steps WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id, step_id) DO UPDATE SET op = excluded.op, status = excluded.status,"
            " memo = CASE WHEN excluded.has_memo = 1 THEN excluded.memo ELSE steps.memo END,"
            " has_memo = CASE WHEN excluded.has_memo = 1 THEN 1 ELSE steps.has_memo END,"
            " attempts = CASE WHEN excluded.attempts > steps.attempts THEN excluded.attempts ELSE steps.attempts END,"
            " ended_at = excluded.ended_at",
            run_id, step_id, run_id, name, op, status, memo_text, 1 if has_memo else 0,
            _dumps(opts) if opts is not None else None, attempts or 0, started_at or now, ended,
        )  # fmt: skip

    async def step_row(self, tx: Conn, run_id: str, step_id: str) -> dict[str, Any] | None:
        return await tx.fetchrow(
            "SELECT step_id, name, op, status, has_memo, opts FROM steps WHERE run_id = ? AND step_id = ?",
            run_id, step_id,
        )  # fmt: skip

    async def step_run_fast(
        self,
        item: QueueItem,
        step_id: str,
        name: str,
        memo_text: str,
        started: int,
        ended: int,
        status_code: int,
        lease_ms: int,
        max_steps: int,
        max_bytes: int,
    ) -> QueueItem | str | None:
        """PostgreSQL only: record one completed ``step.run`` and queue the next call, in one round trip.

        Returns the next item (leased to this process), None (recorded; other steps still pending),
        ``"gone"`` (the item was taken over: drop the answer) or ``"fallback"`` (use the generic path).
        """
        new_id = new_ulid()
        step_name = None if item.target == "step" else name
        if self._sqlite is not None:
            return await self._step_run_fast_sqlite(
                item, step_id, name, step_name, memo_text, started, ended, status_code, new_id, lease_ms,
                max_steps, max_bytes,
            )  # fmt: skip
        async with self._pool.acquire() as raw:
            result = await raw.fetchval(
                "SELECT engine_step_run($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
                " $17, $18, $19)",
                item.id, item.run_id, step_id, name, memo_text, item.attempt + 1, started, ended, item.target,
                step_name, item.attempt, status_code, len(memo_text), new_ulid(), new_id, self.worker_id,
                ended + lease_ms, max_steps, max_bytes,
            )  # fmt: skip
        if result in ("gone", "fallback"):
            return str(result)
        if result == "ok:":
            return None
        return QueueItem(new_id, item.run_id, "call", "step", 0, ended, None)

    async def _step_run_fast_sqlite(
        self,
        item: QueueItem,
        step_id: str,
        name: str,
        step_name: str | None,
        memo_text: str,
        started: int,
        ended: int,
        status_code: int,
        new_id: str,
        lease_ms: int,
        max_steps: int,
        max_bytes: int,
    ) -> QueueItem | str | None:
        """The same statements as ``engine_step_run`` (PostgreSQL), on the SQLite connection."""
        db = self._sqlite
        assert db is not None
        async with self._sqlite_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT status, race, step_count, state_bytes, EXISTS (SELECT 1 FROM queue WHERE id = ?)"
                    " FROM runs WHERE id = ?",
                    (item.id, item.run_id),
                ).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return "fallback"
                status, race, step_count, state_bytes, item_ok = row
                if not item_ok:
                    db.execute("ROLLBACK")
                    return "gone"
                size = len(memo_text)
                step = db.execute(
                    "SELECT status FROM steps WHERE run_id = ? AND step_id = ?", (item.run_id, step_id)
                ).fetchone()
                if (
                    status not in ACTIVE_STATUSES or race or step_count + 1 > max_steps
                    or state_bytes + size > max_bytes or (step is not None and step[0] in ("completed", "failed"))
                ):  # fmt: skip
                    db.execute("ROLLBACK")
                    return "fallback"
                db.execute(
                    "INSERT INTO steps (run_id, step_id, seq, name, op, status, memo, has_memo, opts, attempts,"
                    " started_at, ended_at) VALUES (?, ?, (SELECT COUNT(*) FROM steps WHERE run_id = ?), ?,"
                    " 'StepRun', 'completed', ?, 1, NULL, ?, ?, ?) ON CONFLICT (run_id, step_id) DO UPDATE SET"
                    " op = 'StepRun', status = 'completed', memo = excluded.memo, has_memo = 1,"
                    " attempts = MAX(steps.attempts, excluded.attempts), ended_at = excluded.ended_at",
                    (item.run_id, step_id, item.run_id, name, memo_text, item.attempt + 1, started, ended),
                )
                db.execute(
                    "UPDATE runs SET status = 'RUNNING', started_at = COALESCE(started_at, ?),"
                    " step_count = step_count + 1, state_bytes = state_bytes + ? WHERE id = ?",
                    (started, size, item.run_id),
                )
                db.execute("DELETE FROM queue WHERE id = ?", (item.id,))
                db.execute(
                    "INSERT INTO attempts (id, run_id, target, step_name, attempt, started_at, ended_at, status_code,"
                    " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'step_completed', NULL)",
                    (new_ulid(), item.run_id, item.target, step_name, item.attempt, started, ended, status_code),
                )
                pending = db.execute(
                    "SELECT COUNT(*) FROM steps WHERE run_id = ?"
                    " AND status IN ('planned', 'sleeping', 'waiting', 'invoking')",
                    (item.run_id,),
                ).fetchone()[0]
                nxt: QueueItem | None = None
                if not pending:
                    db.execute(
                        "INSERT INTO queue (id, run_id, kind, target, attempt, available_at, priority, lease_owner,"
                        " lease_until, payload, created_at) VALUES (?, ?, 'call', 'step', 0, ?, 0, ?, ?, NULL, ?)",
                        (new_id, item.run_id, ended, self.worker_id, ended + lease_ms, ended),
                    )
                    nxt = QueueItem(new_id, item.run_id, "call", "step", 0, ended, None)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return nxt

    async def record_attempt(
        self,
        tx: Conn,
        run_id: str,
        target: str,
        step_name: str | None,
        attempt: int,
        started_at: int,
        ended_at: int,
        status_code: int | None,
        outcome: str,
        error: Any = None,
    ) -> None:
        await tx.execute(
            "INSERT INTO attempts (id, run_id, target, step_name, attempt, started_at, ended_at, status_code,"
            " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            new_ulid(), run_id, target, step_name, attempt, started_at, ended_at, status_code, outcome,
            _dumps(error) if error is not None else None,
        )  # fmt: skip

    # ---- pauses (wait for event, invoke, cancel_on) -----------------------------------------------

    async def create_pause(
        self,
        tx: Conn,
        *,
        run_id: str,
        step_id: str | None,
        kind: str,
        event_name: str | None,
        expression: str | None,
        correlation_id: str | None,
        expires_at: int | None,
        data: Any,
        now: int,
    ) -> str:
        pause_id = new_ulid()
        await tx.execute(
            "INSERT INTO pauses (id, run_id, step_id, kind, event_name, expression, correlation_id, expires_at,"
            " created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            pause_id, run_id, step_id, kind, event_name, expression, correlation_id, expires_at, now,
            _dumps(data) if data is not None else None,
        )  # fmt: skip
        return pause_id

    async def pauses_for_events(self, tx: Conn, names: Sequence[str]) -> list[dict[str, Any]]:
        if not names:
            return []
        marks = ",".join("?" * len(names))
        rows = await tx.fetch(
            "SELECT id, run_id, step_id, kind, event_name, expression, expires_at, created_at, data FROM pauses"
            f" WHERE event_name IN ({marks}) ORDER BY created_at",
            *names,
        )
        for r in rows:
            r["data"] = json.loads(r["data"]) if r["data"] else None
        return rows

    async def take_pause(self, tx: Conn, pause_id: str) -> dict[str, Any] | None:
        """Delete a pause and return it; None when it was already consumed (exactly-once resume)."""
        row = await tx.fetchrow(
            "DELETE FROM pauses WHERE id = ? RETURNING id, run_id, step_id, kind, correlation_id, data", pause_id
        )
        if row is not None:
            row["data"] = json.loads(row["data"]) if row["data"] else None
        return row

    async def take_pause_by_correlation(self, tx: Conn, correlation_id: str) -> dict[str, Any] | None:
        row = await tx.fetchrow(
            "DELETE FROM pauses WHERE correlation_id = ? AND kind = 'invoke'"
            " RETURNING id, run_id, step_id, kind, correlation_id, data",
            correlation_id,
        )
        if row is not None:
            row["data"] = json.loads(row["data"]) if row["data"] else None
        return row

    async def delete_pause(self, tx: Conn, pause_id: str) -> None:
        await tx.execute("DELETE FROM pauses WHERE id = ?", pause_id)

    # ---- read side: inspection queries (the /v1 API, /v0/gql and the dashboard) -------------------

    async def list_apps(self) -> list[dict[str, Any]]:
        async with self._read() as c:
            return await c.fetch(
                "SELECT a.id, a.url, a.sdk, a.framework, a.error, a.created_at, a.synced_at,"
                " (SELECT COUNT(*) FROM functions f WHERE f.app_id = a.id AND f.active = 1) AS function_count"
                " FROM apps a ORDER BY a.id"
            )

    async def get_app(self, app_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT id, url, sdk, framework, config, error, created_at, synced_at FROM apps WHERE id = ?", app_id
            )
        if row:
            row["config"] = json.loads(row["config"])
        return row

    async def list_functions(self, app_id: str | None = None, include_inactive: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT id, app_id, name, config, active, created_at, updated_at FROM functions WHERE 1 = 1"
        args: list[Any] = []
        if app_id:
            sql += " AND app_id = ?"
            args.append(app_id)
        if not include_inactive:
            sql += " AND active = 1"
        async with self._read() as c:
            rows = await c.fetch(sql + " ORDER BY app_id, id", *args)
        for r in rows:
            r["config"] = json.loads(r["config"])
            r["active"] = bool(r["active"])
        return rows

    async def get_function(self, function_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT id, app_id, name, config, active, created_at, updated_at FROM functions WHERE id = ?",
                function_id,
            )
        if row:
            row["config"] = json.loads(row["config"])
            row["active"] = bool(row["active"])
        return row

    async def list_runs(
        self,
        *,
        status: Sequence[str] | None = None,
        function_id: str | None = None,
        app_id: str | None = None,
        event_id: str | None = None,
        since: int | None = None,
        until: int | None = None,
        time_field: str = "queued_at",
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Runs newest first. ``cursor`` is the last run id of the previous page (ids are ULIDs)."""
        if time_field not in ("queued_at", "started_at", "ended_at"):
            time_field = "queued_at"
        sql = (
            "SELECT id, function_id, app_id, event_id, status, output, queued_at, started_at, ended_at,"
            " parent_run_id, cron, rerun_of, step_count FROM runs WHERE 1 = 1"
        )
        args: list[Any] = []
        if status:
            sql += f" AND status IN ({','.join('?' * len(status))})"
            args.extend(status)
        for col, val in (("function_id", function_id), ("app_id", app_id), ("event_id", event_id)):
            if val:
                sql += f" AND {col} = ?"
                args.append(val)
        if since is not None:
            sql += f" AND {time_field} >= ?"
            args.append(since)
        if until is not None:
            sql += f" AND {time_field} < ?"
            args.append(until)
        if cursor:
            sql += " AND id < ?"
            args.append(cursor)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 500)))
        async with self._read() as c:
            return await c.fetch(sql, *args)

    async def count_runs(self, status: str | None = None) -> int:
        async with self._read() as c:
            if status:
                row = await c.fetchrow("SELECT COUNT(*) AS n FROM runs WHERE status = ?", status)
            else:
                row = await c.fetchrow("SELECT COUNT(*) AS n FROM runs")
        return int(row["n"]) if row else 0

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run with its trigger events, every step (in order) and every attempt."""
        async with self._read() as c:
            run = await c.fetchrow(
                "SELECT id, function_id, app_id, event_id, events, status, output, queued_at, started_at,"
                " ended_at, parent_run_id, correlation_id, cron, rerun_of, step_count, state_bytes"
                " FROM runs WHERE id = ?",
                run_id,
            )
            if run is None:
                return None
            steps = await c.fetch(
                "SELECT step_id, seq, name, op, status, memo, has_memo, opts, attempts, started_at, ended_at"
                " FROM steps WHERE run_id = ? ORDER BY seq",
                run_id,
            )
            attempts = await c.fetch(
                "SELECT id, target, step_name, attempt, started_at, ended_at, status_code, outcome, error"
                " FROM attempts WHERE run_id = ? ORDER BY started_at, id",
                run_id,
            )
        run["events"] = json.loads(run["events"])
        for s in steps:
            s["memo"] = json.loads(s["memo"]) if s["has_memo"] and s["memo"] is not None else None
            s["has_memo"] = bool(s["has_memo"])
            s["opts"] = json.loads(s["opts"]) if s["opts"] else None
        for a in attempts:
            a["error"] = json.loads(a["error"]) if a["error"] else None
        run["steps"] = steps
        run["attempts"] = attempts
        return run

    async def get_step(self, run_id: str, step_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT step_id, seq, name, op, status, memo, has_memo, attempts, started_at, ended_at"
                " FROM steps WHERE run_id = ? AND step_id = ?",
                run_id, step_id,
            )  # fmt: skip
        if row:
            row["memo"] = json.loads(row["memo"]) if row["has_memo"] and row["memo"] is not None else None
        return row

    async def list_events(
        self,
        *,
        name: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        since: int | None = None,
        until: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events newest first, each with the ids and statuses of the runs it triggered."""
        sql = "SELECT id, name, payload, user_id, ts, received_at, duplicate FROM events WHERE 1 = 1"
        args: list[Any] = []
        if name:
            sql += " AND name = ?"
            args.append(name)
        if since is not None:
            sql += " AND received_at >= ?"
            args.append(since)
        if until is not None:
            sql += " AND received_at < ?"
            args.append(until)
        if cursor:
            sql += " AND id < ?"
            args.append(cursor)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 500)))
        async with self._read() as c:
            rows = await c.fetch(sql, *args)
            await self._attach_runs(c, rows)
        return rows

    async def get_event(self, event_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT id, name, payload, user_id, ts, received_at, duplicate FROM events WHERE id = ?", event_id
            )
            if row is None:
                return None
            await self._attach_runs(c, [row])
        return row

    async def _attach_runs(self, c: Conn, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            r["payload"] = json.loads(r["payload"])
            r["duplicate"] = bool(r["duplicate"])
            r["runs"] = await c.fetch(
                "SELECT id, function_id, status, queued_at, ended_at FROM runs WHERE event_id = ? ORDER BY id",
                r["id"],
            )

    async def queue_depth(self) -> dict[str, int]:
        now = now_ms()
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT COUNT(*) AS total, SUM(CASE WHEN available_at <= ? THEN 1 ELSE 0 END) AS ready,"
                " SUM(CASE WHEN lease_owner IS NOT NULL AND lease_until >= ? THEN 1 ELSE 0 END) AS leased"
                " FROM queue",
                now, now,
            )  # fmt: skip
        return {k: int(row[k] or 0) for k in ("total", "ready", "leased")} if row else {}
