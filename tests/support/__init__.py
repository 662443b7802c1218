"""Helpers shared by the test suites (fresh databases, free ports, fake external servers)."""
