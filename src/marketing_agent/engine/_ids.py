"""Identifiers: ULIDs (runs, events) and Inngest's idempotent event-id seed."""

from __future__ import annotations

import base64
import os
import time

from ulid import ULID


def new_ulid(ms: int | None = None) -> str:
    if ms is None:
        return str(ULID())
    return str(ULID.from_bytes(ms.to_bytes(6, "big") + os.urandom(10)))


def now_ms() -> int:
    return int(time.time() * 1000)


def seeded_event_ids(seed: str | None, count: int) -> list[str]:
    """ULIDs derived from ``x-inngest-event-id-seed`` (``<unix_ms>,<base64 of 10 bytes>``).

    As in Inngest's event API: the i-th event (1-based) gets the seed millis and the seed entropy with
    ``i`` added to its last 4 bytes, so a retried send yields the same ids. Falls back to random ULIDs.
    """
    if seed:
        try:
            ms_text, entropy_b64 = seed.split(",", 1)
            ms = int(ms_text)
            entropy = base64.b64decode(entropy_b64)
            if len(entropy) == 10 and 0 <= ms < 2**48:
                out = []
                head, tail = entropy[:6], int.from_bytes(entropy[6:], "big")
                for i in range(1, count + 1):
                    last = ((tail + i) % 2**32).to_bytes(4, "big")
                    out.append(str(ULID.from_bytes(ms.to_bytes(6, "big") + head + last)))
                return out
        except (ValueError, TypeError):
            pass
    return [new_ulid() for _ in range(count)]


def ulid_bytes(text: str) -> bytes:
    """The 16 bytes of a ULID (a run id); any other text hashes to 16 bytes, so ids built on it stay stable."""
    try:
        return ULID.from_str(text).bytes
    except ValueError:
        import hashlib

        return hashlib.blake2b(text.encode(), digest_size=16).digest()
