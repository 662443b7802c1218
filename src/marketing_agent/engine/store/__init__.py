"""The engine's store: all engine SQL, for SQLite and PostgreSQL.

``facade.Store`` opens the database and carries the operations the executor and the runtime use;
``flow`` holds the flow-control tables' statements and ``inspect`` the dashboard's reads. Nothing outside
this package writes SQL.
"""

from __future__ import annotations

from .facade import ACTIVE_STATUSES, MIGRATIONS, PENDING_STEP_STATUSES, Conn, QueueItem, Store

__all__ = ["ACTIVE_STATUSES", "MIGRATIONS", "PENDING_STEP_STATUSES", "Conn", "QueueItem", "Store"]
