"""Bad input against the engine's SDK-facing endpoints: the event API (``POST /e/{key}``) and registration
(``POST /fn/register``). Each malformed request gets a 4xx that says why, and the engine stays up and keeps
accepting good events afterwards."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketing_agent.engine import EngineConfig, create_engine_app
from reliability.servers import serve_in_thread


def nested(depth: int) -> bytes:
    """A JSON document ``depth`` arrays deep (deeper than Python's json module can recurse)."""
    return b'{"name": "deep/event", "data": {"x": ' + b"[" * depth + b"]" * depth + b"}}"


BAD_BODIES: dict[str, bytes] = {
    "empty": b"",
    "not json": b"{this is not json",
    "truncated": b'{"name": "a", "data": {',
    "invalid utf-8": b'{"name": "caf\xe9\xff", "data": {}}',
    "invalid utf-8 in a list": b'[{"name": "ok", "data": {"v": "\xc3\x28"}}]',
    "a number": b"42",
    "a string": b'"skill.execute"',
    "null": b"null",
    "list of numbers": b"[1, 2, 3]",
    "name missing": b'{"data": {"a": 1}}',
    "name not a string": b'{"name": 5, "data": {}}',
    "name empty": b'{"name": "", "data": {}}',
    "data not an object": b'{"name": "a", "data": [1, 2]}',
    "ts not a number": b'{"name": "a", "data": {}, "ts": "yesterday"}',
    "ts infinite": b'{"name": "a", "data": {}, "ts": Infinity}',
    "ts beyond any timestamp": b'{"name": "a", "data": {}, "ts": 1e308}',
    "id not a string": b'{"name": "a", "data": {}, "id": {"x": 1}}',
    "deeply nested": nested(100_000),
    "huge event": json.dumps({"name": "big", "data": {"blob": "x" * 400_000}}).encode(),
    "huge request": json.dumps([{"name": "big", "data": {"blob": "x" * 200_000}}] * 20).encode(),
}

BAD_REGISTRATIONS: dict[str, bytes] = {
    "not json": b"{nope",
    "invalid utf-8": b'{"url": "http://127.0.0.1:9/api/inngest", "appName": "\xff"}',
    "a list": b"[1, 2]",
    "url missing": b'{"appName": "a", "functions": []}',
    "url not a string": b'{"url": 5, "appName": "a", "functions": []}',
    "functions not a list": b'{"url": "http://127.0.0.1:9/x", "appName": "a", "functions": "all"}',
    "function not an object": b'{"url": "http://127.0.0.1:9/x", "appName": "a", "functions": [7]}',
    "function id missing": b'{"url": "http://127.0.0.1:9/x", "appName": "a", "functions": [{"name": "f"}]}',
    "triggers wrong type": (
        b'{"url": "http://127.0.0.1:9/x", "appName": "a", "functions": [{"id": "f", "name": "f",'
        b' "triggers": "event", "steps": {}}]}'
    ),
    "deeply nested": b'{"url": "http://127.0.0.1:9/x", "appName": "a", "functions": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "huge": json.dumps(
        {"url": "http://127.0.0.1:9/x", "appName": "a", "functions": [], "pad": "x" * 4_000_000}
    ).encode(),
}


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("engine-bad-input")
    config = EngineConfig(database_url=f"sqlite:///{folder / 'engine.db'}", cron=False)
    with serve_in_thread(create_engine_app(config)) as url:
        yield url


def assert_rejected_with_reason(reply: httpx.Response, what: str) -> None:
    assert 400 <= reply.status_code < 500, f"{what}: {reply.status_code} {reply.text[:300]}"
    body: Any = reply.json()
    reason = body.get("error") or body.get("message")
    assert isinstance(reason, str), f"{what}: no reason in {body}"
    assert reason.strip(), f"{what}: empty reason in {body}"


def assert_still_serving(http: httpx.Client, url: str) -> None:
    assert http.get(f"{url}/health").status_code == 200
    reply = http.post(f"{url}/e/any", json={"name": "probe/ok", "data": {"n": random.random()}})
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["ids"]) == 1


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_event_api_rejects_bad_body_with_a_reason(engine_url: str, case: str) -> None:
    with httpx.Client(timeout=30) as http:
        reply = http.post(f"{engine_url}/e/any", content=BAD_BODIES[case], headers={"content-type": "application/json"})
        assert_rejected_with_reason(reply, case)
        assert_still_serving(http, engine_url)


@pytest.mark.parametrize("case", sorted(BAD_REGISTRATIONS))
def test_registration_rejects_bad_body_with_a_reason(engine_url: str, case: str) -> None:
    with httpx.Client(timeout=30) as http:
        reply = http.post(
            f"{engine_url}/fn/register",
            content=BAD_REGISTRATIONS[case],
            headers={"content-type": "application/json"},
        )
        assert_rejected_with_reason(reply, case)
        assert_still_serving(http, engine_url)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 6 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 2**70, 1.5, float("1e308")])
    if kind == 2:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 12)))
    if kind == 3:
        return rng.choice(["", "name", "data", "ts", "id", "user", "v"])
    if kind == 4:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    keys = ["name", "data", "ts", "id", "user", "v", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


def fuzz_event_api(url: str, examples: int, seed: int) -> dict[int, int]:
    """Random JSON and random bytes at both endpoints: never a 5xx; statuses seen, counted."""
    rng = random.Random(seed)
    seen: dict[int, int] = {}
    with httpx.Client(timeout=30) as http:
        for _ in range(examples):
            raw = rng.random() < 0.2
            body = rng.randbytes(rng.randrange(1, 200)) if raw else json.dumps(random_json(rng)).encode()
            for path in ("/e/any", "/fn/register"):
                reply = http.post(url + path, content=body, headers={"content-type": "application/json"})
                assert reply.status_code < 500, f"{path} {body[:200]!r}: {reply.status_code} {reply.text[:300]}"
                seen[reply.status_code] = seen.get(reply.status_code, 0) + 1
        assert_still_serving(http, url)
    return seen


def test_short_random_bodies_never_5xx(engine_url: str) -> None:
    seen = fuzz_event_api(engine_url, examples=60, seed=8)
    assert set(seen) <= {200, 400, 401, 413, 422}, seen


@pytest.mark.reliability
@pytest.mark.timeout(900)
def test_random_bodies_never_5xx(engine_url: str) -> None:
    fuzz_event_api(engine_url, examples=3000, seed=random.randrange(1 << 30))
