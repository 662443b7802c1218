"""The dashboard's Replays pages: create a bulk replay from a form, watch its progress, pause/resume/cancel.

They act only through :class:`~..execution.replays.Replays` (the same code as ``/v1/replays``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from .._duration import duration_ms
from .._ids import now_ms
from ..errors import EngineError
from ..store.replays import REPLAYABLE_STATUSES
from .pages import Pages

#: Original → replayed pairs shown on a replay's page.
RUNS_SHOWN = 200


def _time_field(text: str) -> int | str | None:
    """A form's time: a duration ago (``1h``), an ISO time / ``datetime-local`` value (read as UTC), or empty."""
    text = text.strip()
    if not text:
        return None
    try:
        ago = duration_ms(text)
    except ValueError:
        ago = None
    if ago is not None:
        return now_ms() - ago
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text  # the engine names the field in its error
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1000)


class ReplayPages:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.svc = pages.svc

    async def list(self, request: Request) -> Response:
        functions = await self.svc.store.list_functions()
        data = {
            "replays": await self.svc.store.list_replays(50),
            "functions": [f["id"] for f in functions],
            "statuses": REPLAYABLE_STATUSES,
            "draft_function": request.query_params.get("function", ""),
        }
        return self.pages.render(request, "replays.html", data)

    async def create(self, request: Request) -> Response:
        form = await request.form()
        statuses = [s for s in form.getlist("status") if isinstance(s, str)]
        text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        body: dict[str, object] = {"function_id": text.get("function_id", ""), "statuses": statuses,
                                   "since": _time_field(text.get("since", ""))}  # fmt: skip
        until = _time_field(text.get("until", ""))
        if until is not None:
            body["until"] = until
        if text.get("filter"):
            body["filter"] = text["filter"]
        try:
            body["rate"] = float(text.get("rate") or 10)
        except ValueError:
            return self.pages.back(request, "/replays", error="rate must be a number of runs per second")
        try:
            replay = await self.svc.replays.create(body)
        except EngineError as exc:
            return self.pages.back(request, "/replays", error=str(exc))
        matched = replay["progress"]["matched"]
        return self.pages.back(request, f"/replays/{replay['id']}", flash=f"Replaying {matched} runs")

    async def show(self, request: Request) -> Response:
        try:
            replay = await self.svc.replays.get(request.path_params["replay_id"], RUNS_SHOWN)
        except EngineError:
            return self.pages.render(request, "error.html", {"error": "No such replay."}, 404)
        return self.pages.render(request, "replay.html", {"replay": replay})

    async def act(self, request: Request) -> Response:
        replay_id = request.path_params["replay_id"]
        action = request.path_params["action"]
        replays = self.svc.replays
        acts = {"pause": replays.pause, "resume": replays.resume, "cancel": replays.cancel}
        path = f"/replays/{quote(replay_id)}"
        if action not in acts:
            return self.pages.render(request, "error.html", {"error": "No such replay action."}, 404)
        try:
            replay = await acts[action](replay_id)
        except EngineError as exc:
            return self.pages.back(request, path, error=str(exc))
        return self.pages.back(request, path, flash=f"Replay {replay['status'].lower()}")
