"""Every kind of bad input gets the contract's 4xx and code — never a 500. One test per case."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from marketing_agent.services import SkillRunStatus, list_runs, resolve_user_by_api_key
from support.api_harness import Api


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["requestId"]
    return dict(body["error"])


async def _run_id(api: Api, key: str | None = None) -> str:
    response = await api.http.post(
        "/api/v1/runs", json={"skillName": "copywriting", "message": "x"}, headers=api.auth(key)
    )
    return str(response.json()["data"]["runId"])


async def test_missing_auth_header(api: Api) -> None:
    error(await api.http.get("/api/v1/skills"), 401, "MISSING_AUTH_HEADER")


async def test_auth_header_without_bearer(api: Api) -> None:
    error(await api.http.get("/api/v1/skills", headers={"Authorization": api.key}), 401, "UNAUTHORIZED")


async def test_wrong_api_key(api: Api) -> None:
    error(await api.http.get("/api/v1/skills", headers=api.auth("mak_wrong")), 401, "INVALID_API_KEY")


async def test_malformed_json(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/runs",
        content=b'{"skillName": "copywriting", ',
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    error(response, 400, "VALIDATION_ERROR")


async def test_json_that_is_not_an_object(api: Api) -> None:
    error(await api.http.post("/api/v1/runs", json=["copywriting"], headers=api.auth()), 422, "VALIDATION_ERROR")


async def test_wrong_type(api: Api) -> None:
    response = await api.http.post("/api/v1/runs", json={"skillName": "copywriting", "message": 5}, headers=api.auth())
    details = error(response, 422, "VALIDATION_ERROR")["details"]
    assert [d["field"] for d in details] == ["message"]


async def test_numeric_string_is_not_a_score(api: Api) -> None:
    body = {"outputId": str(uuid.uuid4()), "overallScore": "5"}
    details = error(await api.http.post("/api/v1/feedback", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    assert details["details"][0]["field"] == "overallScore"


async def test_unknown_field(api: Api) -> None:
    body = {"skillName": "copywriting", "message": "x", "priority": "high"}
    details = error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    assert details["details"][0]["field"] == "priority"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"temperature": 9}, "options.temperature"),
        ({"outputType": "Home Page"}, "options.outputType"),
        ({"telegramMessageId": "2"}, "options.telegramMessageId"),
        ({"max_tokens": 5}, "options.max_tokens"),
        ({"colour": "red"}, "options.colour"),
    ],
)
async def test_bad_run_options_are_a_422_naming_the_field(api: Api, options: dict[str, object], field: str) -> None:
    body = {"skillName": "copywriting", "message": "x", "options": options}
    details = error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    assert [d["field"] for d in details["details"]] == [field]


async def test_the_original_bots_options_are_accepted(api: Api) -> None:
    options = {"outputType": "homepage", "telegramChatId": 1, "telegramMessageId": 2}
    body = {"skillName": "copywriting", "message": "x", "options": options}
    response = await api.http.post("/api/v1/runs", json=body, headers=api.auth())
    assert response.status_code == 202, response.text


async def test_snake_case_field_is_unknown(api: Api) -> None:
    body = {"skill_name": "copywriting", "message": "x"}
    error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("score", [0, 6])
async def test_score_out_of_range(api: Api, score: int) -> None:
    body = {"outputId": str(uuid.uuid4()), "overallScore": score}
    details = error(await api.http.post("/api/v1/feedback", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    assert details["details"][0]["field"] == "overallScore"


async def test_bad_issue_severity(api: Api) -> None:
    body = {
        "outputId": str(uuid.uuid4()),
        "overallScore": 3,
        "issues": [{"description": "x", "severity": "huge"}],
    }
    error(await api.http.post("/api/v1/feedback", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")


async def test_message_too_long(api: Api) -> None:
    body = {"skillName": "copywriting", "message": "x" * 10_001}
    error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")


async def test_empty_message(api: Api) -> None:
    body = {"skillName": "copywriting", "message": ""}
    error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")


async def test_unknown_skill(api: Api) -> None:
    body = {"skillName": "juggling", "message": "x"}
    error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 404, "SKILL_NOT_FOUND")
    error(await api.http.get("/api/v1/skills/juggling", headers=api.auth()), 404, "SKILL_NOT_FOUND")
    error(await api.http.get("/api/v1/skills/juggling/metrics", headers=api.auth()), 404, "SKILL_NOT_FOUND")


async def test_foreign_client(api: Api) -> None:
    theirs = await api.http.post("/api/v1/clients", json={"name": "T", "slug": "t"}, headers=api.auth(api.other_key))
    body = {"skillName": "copywriting", "message": "x", "clientId": theirs.json()["data"]["id"]}
    error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 404, "CLIENT_NOT_FOUND")
    error(await api.http.get(f"/api/v1/clients/{body['clientId']}", headers=api.auth()), 404, "CLIENT_NOT_FOUND")


async def test_another_users_run_is_like_a_missing_one(api: Api) -> None:
    theirs = await _run_id(api, api.other_key)
    foreign = error(await api.http.get(f"/api/v1/runs/{theirs}", headers=api.auth()), 404, "RUN_NOT_FOUND")
    missing = error(await api.http.get(f"/api/v1/runs/{uuid.uuid4()}", headers=api.auth()), 404, "RUN_NOT_FOUND")
    assert foreign["message"] == missing["message"]
    error(await api.http.post(f"/api/v1/runs/{theirs}/cancel", headers=api.auth()), 404, "RUN_NOT_FOUND")


async def test_missing_output(api: Api) -> None:
    error(await api.http.get(f"/api/v1/outputs/{uuid.uuid4()}", headers=api.auth()), 404, "OUTPUT_NOT_FOUND")
    body = {"outputId": str(uuid.uuid4()), "overallScore": 3}
    error(await api.http.post("/api/v1/feedback", json=body, headers=api.auth()), 404, "OUTPUT_NOT_FOUND")


async def test_malformed_id_in_path(api: Api) -> None:
    error(await api.http.get("/api/v1/runs/not-a-uuid", headers=api.auth()), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "status=exploded"])
async def test_bad_list_parameters(api: Api, query: str) -> None:
    error(await api.http.get(f"/api/v1/runs?{query}", headers=api.auth()), 422, "VALIDATION_ERROR")


async def test_body_over_one_mib_by_content_length(api: Api) -> None:
    body = b'{"skillName": "copywriting", "message": "' + b"x" * (1024 * 1024) + b'"}'
    response = await api.http.post(
        "/api/v1/runs", content=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_body_over_one_mib_streamed_without_length(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65_536

    client = (await api.http.post("/api/v1/clients", json={"name": "A", "slug": "a"}, headers=api.auth())).json()
    response = await api.http.put(
        f"/api/v1/clients/{client['data']['id']}/files/profile.md",
        content=chunks(),
        headers={**api.auth(), "Content-Type": "text/markdown"},
    )
    assert "content-length" not in response.request.headers
    error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_duplicate_client_slug(api: Api) -> None:
    await api.http.post("/api/v1/clients", json={"name": "A", "slug": "acme"}, headers=api.auth())
    again = await api.http.post("/api/v1/clients", json={"name": "B", "slug": "acme"}, headers=api.auth())
    error(again, 409, "CONFLICT")


async def test_bad_client_slug(api: Api) -> None:
    bad = await api.http.post("/api/v1/clients", json={"name": "A", "slug": "Acme Inc"}, headers=api.auth())
    assert error(bad, 422, "VALIDATION_ERROR")["details"][0]["field"] == "slug"


@pytest.mark.parametrize("path", ["notes.txt", "../escape.md", "brand/../../x.md", "%2Fetc%2Fpasswd.md"])
async def test_bad_context_file_path(api: Api, path: str) -> None:
    client = (await api.http.post("/api/v1/clients", json={"name": "A", "slug": "a"}, headers=api.auth())).json()
    response = await api.http.put(
        f"/api/v1/clients/{client['data']['id']}/files/{path}", content=b"x", headers=api.auth()
    )
    assert response.status_code in {404, 422}, response.text
    assert response.json()["success"] is False


async def test_missing_context_file(api: Api) -> None:
    client = (await api.http.post("/api/v1/clients", json={"name": "A", "slug": "a"}, headers=api.auth())).json()
    response = await api.http.get(f"/api/v1/clients/{client['data']['id']}/files/profile.md", headers=api.auth())
    error(response, 404, "NOT_FOUND")


async def test_bad_channel(api: Api) -> None:
    body = {"channel": "pigeon", "address": "roof"}
    error(await api.http.post("/api/v1/me/channels", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    body = {"channel": "slack", "address": "not a url"}
    error(await api.http.post("/api/v1/me/channels", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")


async def test_unknown_route(api: Api) -> None:
    error(await api.http.get("/api/v1/nothing-here", headers=api.auth()), 404, "NOT_FOUND")


async def test_engine_refusing_the_event_fails_the_run_and_answers_503(api: Api) -> None:
    api.events.fail_with = "connection refused to http://10.1.2.3:8288/e/evt-secret"
    response = await api.http.post(
        "/api/v1/runs", json={"skillName": "copywriting", "message": "x"}, headers=api.auth()
    )
    found = error(response, 503, "SERVICE_UNAVAILABLE")
    # The cause (an internal address, a key in a URL) goes to the log under the request id, not to the client.
    assert "10.1.2.3" not in response.text
    assert "evt-secret" not in response.text
    assert found["message"] == "a service this request needs is unavailable; retry later"
    assert response.headers["x-request-id"] == found["requestId"]
    user = await resolve_user_by_api_key(api.database, api.key)
    [run] = (await list_runs(api.database, user.id)).items
    assert run.status is SkillRunStatus.FAILED
    assert "connection refused" in (run.error_message or "")


async def test_another_users_output_is_like_a_missing_one(api: Api) -> None:
    from marketing_agent.services import mark_run_running, record_output

    theirs = await _run_id(api, api.other_key)
    await mark_run_running(api.database, theirs)
    output = await record_output(api.database, theirs, storage_key=f"outputs/x/{theirs}.md", title="t", content="c")
    for path in ("", "/content", "/download"):
        response = await api.http.get(f"/api/v1/outputs/{output.id}{path}", headers=api.auth())
        error(response, 404, "OUTPUT_NOT_FOUND")
    body = {"outputId": str(output.id), "overallScore": 5}
    error(await api.http.post("/api/v1/feedback", json=body, headers=api.auth()), 404, "OUTPUT_NOT_FOUND")
    mine = await api.http.get(f"/api/v1/outputs/{output.id}", headers=api.auth(api.other_key))
    assert mine.status_code == 200


async def test_a_run_cannot_name_a_telegram_chat(api: Api) -> None:
    """The attack: POST /runs with options.telegram.chatId of someone else's chat, to message them."""
    body = {"skillName": "copywriting", "message": "x", "options": {"telegram": {"chatId": 4711, "messageId": 1}}}
    found = error(await api.http.post("/api/v1/runs", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    assert "telegram" in str(found)


async def test_a_telegram_chat_cannot_be_added_through_the_api(api: Api) -> None:
    body = {"channel": "telegram", "address": "4711"}
    found = error(await api.http.post("/api/v1/me/channels", json=body, headers=api.auth()), 422, "VALIDATION_ERROR")
    assert "/link" in found["message"]


async def test_an_undeclared_method_is_a_405_naming_the_allowed_ones(api: Api) -> None:
    # Issue 17: the 405 came without its Allow header.
    response = await api.http.delete("/api/v1/runs", headers=api.auth())
    error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert "DELETE" not in response.headers["allow"]


async def test_the_schema_states_that_client_files_are_markdown(api: Api) -> None:
    # Issue 17: the API refused a path without .md that its OpenAPI document allowed.
    schema = (await api.http.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/clients/{client_id}/files/{path}"]["put"]
    [path] = [p for p in operation["parameters"] if p["name"] == "path"]
    assert path["schema"]["pattern"].endswith(r"\.[mM][dD]$")
