"""``/v1/replays``: create, list, watch, pause, resume and cancel bulk replays (docs/engine.md § Replay)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import EngineError, NotFound
from .api import _body_json, _error, _int, _json, _svc

#: Original → replayed run pairs shown by ``GET /v1/replays/{id}`` (the first ones, in match order).
RUNS_SHOWN = 100


async def create(request: Request) -> Response:
    try:
        replay = await _svc(request).replays.create(await _body_json(request))
    except EngineError as exc:
        return _error(exc)
    return _json({"data": replay}, 201)


async def list_all(request: Request) -> Response:
    try:
        limit = min(_int(request, "limit", 50) or 50, 500)
    except EngineError as exc:
        return _error(exc)
    return _json({"data": await _svc(request).store.list_replays(limit)})


async def get(request: Request) -> Response:
    try:
        replay = await _svc(request).replays.get(request.path_params["replay_id"], RUNS_SHOWN)
    except EngineError as exc:
        return _error(exc)
    return _json({"data": replay})


async def action(request: Request) -> Response:
    replays = _svc(request).replays
    acts = {"pause": replays.pause, "resume": replays.resume, "cancel": replays.cancel}
    try:
        act = acts.get(request.path_params["action"])
        if act is None:
            raise NotFound(f"no replay action {request.path_params['action']!r}; use pause, resume or cancel")
        replay = await act(request.path_params["replay_id"])
    except EngineError as exc:
        return _error(exc)
    return _json({"data": replay})


routes = [
    Route("/v1/replays", create, methods=["POST"]),
    Route("/v1/replays", list_all, methods=["GET"]),
    Route("/v1/replays/{replay_id}", get, methods=["GET"]),
    Route("/v1/replays/{replay_id}/{action:str}", action, methods=["POST"]),
]
