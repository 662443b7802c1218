"""The engine's store: all engine SQL, for SQLite and PostgreSQL.

``facade.Store`` is what the rest of the engine holds: it opens the database (``connections``), applies the
one schema history (``schema``) and carries the operations of its parts, one module per noun — ``queue``,
``apps``, ``runs`` (events, runs, steps, attempts, pauses) and ``reads`` (the inspection queries). ``flow``
holds flow control's statements and ``inspect`` the dashboard's aggregates. Runs, steps and queue items
leave the store as the records of ``records``. Nothing outside this package writes SQL.
"""

from __future__ import annotations

from .connections import Conn
from .facade import Store
from .records import (
    ACTIVE_STATUSES,
    DONE_STEP_STATUSES,
    PENDING_STEP_STATUSES,
    CallState,
    Opcode,
    QueueItem,
    QueueKind,
    RunRecord,
    RunStatus,
    StepRecord,
    StepStatus,
)
from .schema import MIGRATIONS

__all__ = [
    "ACTIVE_STATUSES",
    "DONE_STEP_STATUSES",
    "MIGRATIONS",
    "PENDING_STEP_STATUSES",
    "CallState",
    "Conn",
    "Opcode",
    "QueueItem",
    "QueueKind",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "StepStatus",
    "Store",
]
