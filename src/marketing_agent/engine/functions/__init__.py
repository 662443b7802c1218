"""Registered functions: the parsed, validated config (``model``, flow control's part in ``flow_config``)
and the in-memory trigger index every engine process keeps (``registry``)."""

from __future__ import annotations

from .._duration import parse_duration
from .model import CronSpec, FunctionDef, Trigger, parse_app, parse_function

__all__ = ["CronSpec", "FunctionDef", "Trigger", "parse_app", "parse_duration", "parse_function"]
