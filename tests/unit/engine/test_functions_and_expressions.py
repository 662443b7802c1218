from __future__ import annotations

import pytest

from marketing_agent.engine._expr import matches
from marketing_agent.engine.errors import FunctionConfigInvalid
from marketing_agent.engine.functions import parse_app, parse_duration


def _fn(**over: object) -> dict[str, object]:
    cfg: dict[str, object] = {
        "id": "app-fn",
        "name": "fn",
        "triggers": [{"event": "app/go"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": "http://x/api?fnId=app-fn&stepId=step"},
            }
        },
    }
    cfg.update(over)
    return cfg


def _app(*fns: dict[str, object]) -> dict[str, object]:
    return {"appname": "app", "url": "http://x/api", "functions": list(fns)}


def test_parse_defaults() -> None:
    app_id, (fn,) = parse_app(_app(_fn()))
    assert app_id == "app"
    assert fn.retries == 4
    assert fn.max_attempts == 5


def test_wildcard_and_expression_triggers() -> None:
    _, (fn,) = parse_app(_app(_fn(triggers=[{"event": "app/*", "expression": "event.data.ok == true"}])))
    trig = fn.triggers[0]
    assert trig.matches_name("app/anything")
    assert not trig.matches_name("other/x")
    assert matches(trig.expression, {"event": {"data": {"ok": True}}})
    assert not matches(trig.expression, {"event": {"data": {}}})  # missing key: no match, no error


@pytest.mark.parametrize(
    "bad",
    [
        {"triggers": []},
        {"triggers": [{"event": f"e{i}"} for i in range(11)]},
        {"triggers": [{"cron": "not a cron"}]},
        {"triggers": [{"cron": "TZ=Nowhere/City * * * * *"}]},
        {"triggers": [{"event": "x", "expression": "event.data.("}]},
        {"steps": {"step": {"id": "step", "retries": {"attempts": 21}, "runtime": {"url": "http://x"}}}},
        {"steps": {}},
    ],
)
def test_invalid_configs(bad: dict[str, object]) -> None:
    with pytest.raises(FunctionConfigInvalid):
        parse_app(_app(_fn(**bad)))


def test_cron_with_timezone() -> None:
    _, (fn,) = parse_app(_app(_fn(triggers=[{"cron": "TZ=Europe/Paris 0 9 * * 1-5"}])))
    spec = fn.triggers[0].cron
    assert spec is not None
    assert spec.tz == "Europe/Paris"
    assert spec.cron == "0 9 * * 1-5"


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration(1500) == 1.5
    assert parse_duration(None) is None
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("soon")
