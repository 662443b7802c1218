"""Bad input against the REST API: schemathesis generates requests for every operation in its OpenAPI schema
(valid and invalid ones), authenticated; no answer may be a 5xx or break the schema (status code, content
type, body). Operations come from the app's own schema, so new routes are covered without editing this file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reliability.servers import LiveApi, live_api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def running_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with live_api(tmp_path_factory.mktemp("fuzz-api")) as api:
        yield api


def fuzz_every_operation(api: LiveApi, examples: int, *, derandomize: bool) -> list[str]:
    """Run ``examples`` generated cases per operation and mode; the operations exercised."""
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    labels: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise AssertionError(f"the API's OpenAPI schema has an operation schemathesis cannot read: {result.err()}")
        operation = result.ok()
        labels.append(operation.label)
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=examples, deadline=None, derandomize=derandomize, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=api.auth(), checks=CHECKS)

        check()
    return labels


@pytest.mark.slow
@pytest.mark.timeout(110)
def test_short_every_operation_survives_generated_input(running_api: LiveApi) -> None:
    labels = fuzz_every_operation(running_api, examples=6, derandomize=True)
    assert any(label.startswith("POST /api/v1/runs") for label in labels)


@pytest.mark.reliability
@pytest.mark.timeout(1800)
def test_every_operation_survives_generated_input(running_api: LiveApi) -> None:
    fuzz_every_operation(running_api, examples=150, derandomize=False)
