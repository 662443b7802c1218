"""The pipeline every system runs: 8 steps doing what ``skill-execute``'s steps do, in the same code.

Each step is a small write to an app database (a SQLite file in WAL mode, one connection per process and
thread), except ``execute-skill`` (a no-latency LLM call: a canned reply built in process, optionally after
a simulated provider delay) and ``save-output`` (a small file write, as the object store does). Every system
under test calls these same functions, so what differs between them is the orchestration only.

When tracing is on, each step also records ``(run, step index, wall-clock time)``; the latency bench reads
those rows to measure hand-offs across processes (same machine, same clock).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

STEP_NAMES: tuple[str, ...] = (
    "update-status-running",
    "get-client-slug",
    "load-skill",
    "execute-skill",
    "save-output",
    "create-output-record",
    "update-status-completed",
    "send-completion-event",
)
STEPS = len(STEP_NAMES)

ENV_DB = "BENCH_APP_DB"
ENV_OUT = "BENCH_OUT_DIR"
ENV_TRACE = "BENCH_TRACE"
ENV_LLM_DELAY = "BENCH_LLM_DELAY"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, status TEXT NOT NULL, updated REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outputs (run_id TEXT PRIMARY KEY, key TEXT NOT NULL, preview TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, name TEXT NOT NULL, run_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS trace (run_id TEXT NOT NULL, step INTEGER NOT NULL, t REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, slug TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS skills (name TEXT PRIMARY KEY, instructions TEXT NOT NULL)",
)

_local = threading.local()


def prepare(db_path: Path, out_dir: Path) -> None:
    """Create the app database (fresh) and the output folder before a system runs."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT INTO clients VALUES ('acme', 'acme')")
        conn.execute("INSERT INTO skills VALUES ('copywriting', 'Write the copy.')")


def _conn() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "pid", None) != os.getpid():
        conn = sqlite3.connect(os.environ[ENV_DB], isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _local.conn, _local.pid = conn, os.getpid()
    return conn


def _trace(run_id: str, index: int) -> None:
    if os.environ.get(ENV_TRACE) == "1":
        _conn().execute("INSERT INTO trace VALUES (?, ?, ?)", (run_id, index, time.time()))


def fake_llm(prompt: str) -> dict[str, Any]:
    """A provider answer with no latency: the skill's output, title and token counts."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
    text = f"# Homepage copy {digest}\n\nHeadline that converts.\n\n" + "Body copy. " * 40
    return {"output": text, "title": f"Homepage copy {digest}", "tokens_in": 420, "tokens_out": 310}


def step(index: int, run_id: str, previous: Any = None) -> Any:
    """Step ``index`` (0-based) of run ``run_id``; synchronous (threads and prefork workers call it)."""
    _trace(run_id, index)
    conn = _conn()
    if index == 0:
        conn.execute("INSERT OR REPLACE INTO runs VALUES (?, 'running', ?)", (run_id, time.time()))
        return True
    if index == 1:
        row = conn.execute("SELECT slug FROM clients WHERE id = 'acme'").fetchone()
        return row[0]
    if index == 2:
        row = conn.execute("SELECT instructions FROM skills WHERE name = 'copywriting'").fetchone()
        conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))
        return row[0]
    if index == 3:
        return fake_llm(f"{run_id}:{previous}")
    if index == 4:
        key = f"outputs/copywriting/acme/{run_id}.md"
        path = Path(os.environ[ENV_OUT]) / f"{run_id}.md"
        path.write_text(f"output of {run_id}\n" + "Body copy. " * 40)
        return key
    if index == 5:
        conn.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?)", (run_id, str(previous), "Body copy."))
        return f"out-{run_id}"
    if index == 6:
        conn.execute("UPDATE runs SET status = 'completed', updated = ? WHERE id = ?", (time.time(), run_id))
        return True
    conn.execute("INSERT OR REPLACE INTO events VALUES (?, 'skill/execute.completed', ?)", (f"{run_id}-c", run_id))
    return {"success": True, "runId": run_id}


async def astep(index: int, run_id: str, previous: Any = None) -> Any:
    """The async form (Inngest and DBOS async workflows): the LLM step may wait a simulated latency."""
    if index == 3:
        delay = float(os.environ.get(ENV_LLM_DELAY) or 0)
        if delay:
            _trace(run_id, index)
            await asyncio.sleep(delay)
            return fake_llm(f"{run_id}:{previous}")
    return step(index, run_id, previous)


def completed_runs(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()[0])


def trace_rows(db_path: Path) -> list[tuple[str, int, float]]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return [(str(r), int(s), float(t)) for r, s, t in conn.execute("SELECT run_id, step, t FROM trace")]
