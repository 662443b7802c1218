"""Flow control (``docs/flow-control.md``). The package's face is the port in ``port.py`` (the two gates
the queue consults); ``control.FlowControl`` implements it with ``concurrency``, ``timers`` and ``keys``."""

from __future__ import annotations

from .port import FLOW_KIND_PREFIX, START, AdmitAll, AllowAll, RunStartGate, StartDecision, StepClaimGate

__all__ = ["FLOW_KIND_PREFIX", "START", "AdmitAll", "AllowAll", "RunStartGate", "StartDecision", "StepClaimGate"]
