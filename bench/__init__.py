"""Benchmarks against peers (``make bench`` runs ``python -m bench``); see docs/benchmarks.md."""
