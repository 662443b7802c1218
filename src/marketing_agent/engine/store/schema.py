"""The engine's one schema history, for every table: runs, steps and queue (1–3), the dashboard's (4),
bulk replays (5), event trace context (6),
flow control's (101+).

``MIGRATIONS`` is an ordered list of (version, statements); ``engine_schema`` records the versions applied;
``migrate`` applies the missing ones in one transaction at start-up. To change the schema, append a version;
never edit one that has shipped. The same statements run on SQLite and PostgreSQL (JSON as text, times as
``BIGINT`` milliseconds); a statement prefixed with :data:`PG_ONLY` runs on PostgreSQL only.
"""

from __future__ import annotations

import logging

from .._ids import now_ms
from .connections import Conn

log = logging.getLogger(__name__)


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
            # Store.step_run_fast). Same effect as Applier.step_done (execution/opcodes.py) for one StepRun.
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
    (
        4,
        [
            # The dashboard's step log lines and the indexes of its run page (invoked children, reruns).
            # IF NOT EXISTS: databases from before this version created them at dashboard start.
            """CREATE TABLE IF NOT EXISTS step_logs (
                id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL,
                ts BIGINT NOT NULL, level TEXT NOT NULL, logger TEXT NOT NULL, message TEXT NOT NULL)""",
            """CREATE INDEX IF NOT EXISTS dash_step_logs_run ON step_logs (run_id, id)""",
            """CREATE INDEX IF NOT EXISTS dash_runs_parent ON runs (parent_run_id)""",
            """CREATE INDEX IF NOT EXISTS dash_runs_rerun_of ON runs (rerun_of)""",
        ],
    ),
    (
        5,
        [
            # Bulk replays (store/replays.py, docs/engine.md § Replay): what was asked, where it stands, and the
            # original runs it matched, each with the run that replays it once started.
            """CREATE TABLE replays (
                id TEXT PRIMARY KEY, function_id TEXT NOT NULL, statuses TEXT NOT NULL, since BIGINT NOT NULL,
                until BIGINT NOT NULL, filter_expr TEXT, rate DOUBLE PRECISION NOT NULL, status TEXT NOT NULL,
                matched INTEGER NOT NULL, started INTEGER NOT NULL, error TEXT, next_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, ended_at BIGINT)""",
            """CREATE INDEX replays_status ON replays (status)""",
            """CREATE TABLE replay_runs (
                replay_id TEXT NOT NULL, seq INTEGER NOT NULL, original_run_id TEXT NOT NULL, run_id TEXT,
                PRIMARY KEY (replay_id, seq))""",
            """CREATE INDEX replay_runs_run ON replay_runs (run_id)""",
        ],
    ),
    (
        6,
        [
            # The W3C traceparent an event arrived with (store/traces.py): its runs join the sender's trace.
            """ALTER TABLE events ADD COLUMN trace_parent TEXT""",
        ],
    ),
    # ---- flow control (docs/flow-control.md; statements in flow.py) ----
    (
        101,
        [
            """CREATE TABLE flow_gcra (
                kind TEXT NOT NULL, fn_id TEXT NOT NULL, key TEXT NOT NULL, tat BIGINT NOT NULL,
                PRIMARY KEY (kind, fn_id, key))""",
            """CREATE TABLE flow_idempotency (
                fn_id TEXT NOT NULL, key TEXT NOT NULL, event_id TEXT NOT NULL, expires_at BIGINT NOT NULL,
                PRIMARY KEY (fn_id, key))""",
            """CREATE TABLE flow_singleton (
                fn_id TEXT NOT NULL, key TEXT NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (fn_id, key))""",
            """CREATE TABLE flow_debounce (
                fn_id TEXT NOT NULL, key TEXT NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL,
                first_at BIGINT NOT NULL, fire_at BIGINT NOT NULL, item_id TEXT NOT NULL,
                PRIMARY KEY (fn_id, key))""",
            """CREATE TABLE flow_batches (
                id TEXT PRIMARY KEY, fn_id TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,
                bytes BIGINT NOT NULL, opened_at BIGINT NOT NULL, item_id TEXT NOT NULL)""",
            """CREATE UNIQUE INDEX flow_batches_key ON flow_batches (fn_id, key)""",
            """CREATE TABLE flow_batch_events (
                batch_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL,
                PRIMARY KEY (batch_id, seq))""",
            """CREATE TABLE flow_slots (key TEXT NOT NULL, item_id TEXT NOT NULL, PRIMARY KEY (key, item_id))""",
            """CREATE INDEX flow_slots_item ON flow_slots (item_id)""",
            """CREATE TABLE flow_waiters (
                key TEXT NOT NULL, item_id TEXT NOT NULL, since BIGINT NOT NULL, PRIMARY KEY (key, item_id))""",
            """CREATE INDEX flow_waiters_order ON flow_waiters (key, since, item_id)""",
        ],
    ),
]


async def migrate(tx: Conn, is_postgres: bool) -> None:
    """Apply the versions ``engine_schema`` does not list yet, in ``tx`` (PostgreSQL: under an advisory lock,
    so processes starting together do not race)."""
    if is_postgres:
        await tx.execute("SELECT pg_advisory_xact_lock(72881)")
    await tx.execute(
        "CREATE TABLE IF NOT EXISTS engine_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
    )
    done = {r["version"] for r in await tx.fetch("SELECT version FROM engine_schema")}
    for version, statements in MIGRATIONS:
        if version in done:
            continue
        for stmt in statements:
            if stmt.startswith(PG_ONLY) and not is_postgres:
                continue
            await tx.execute(stmt)
        await tx.execute("INSERT INTO engine_schema (version, applied_at) VALUES (?, ?)", version, now_ms())
        log.info("engine store migrated to schema version %s", version)
