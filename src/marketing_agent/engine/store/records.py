"""The records that cross the store's boundary, and the statuses they carry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Run statuses of a run that has not ended.
ACTIVE_STATUSES = ("QUEUED", "RUNNING")
#: Step statuses that keep a run from being called again (parallel steps, sleeps, waits, invokes).
PENDING_STEP_STATUSES = ("planned", "sleeping", "waiting", "invoking")


@dataclass(frozen=True)
class QueueItem:
    id: str
    run_id: str
    kind: str  # call | sleep | wait_timeout | invoke_timeout
    target: str  # "step" (discovery) or a step hash
    attempt: int
    available_at: int
    payload: dict[str, Any] | None = None


def queue_item(row: dict[str, Any]) -> QueueItem:
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
