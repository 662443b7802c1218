"""Route handlers of the dashboard. Reads go through :mod:`.views`; actions call :class:`EngineService`.

Every GET page answers HTML, or its view data as JSON for ``Accept: application/json``. Every POST is a
plain form (works without JavaScript), checked for auth and CSRF, and answers ``303`` back to a page with a
flash message in the query string.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..config import EngineConfig
from ..errors import EngineError
from ..http import auth
from ..service import EngineService
from . import views

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str, separators=(",", ":")), status_code=status,
                    media_type="application/json")  # fmt: skip


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths (no ``//host`` or scheme) may be redirect targets."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Pages:
    def __init__(self, service: EngineService, config: EngineConfig, env: Environment) -> None:
        self.svc = service
        self.config = config
        self.env = env

    # ---- plumbing ------------------------------------------------------------------------------------

    def render(self, request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
        if _wants_json(request):
            return auth.finish(request, _json(data, status))
        context = {
            **data,
            "base": request.scope.get("root_path", ""),
            "csrf": auth.csrf_token(request),
            "flash": request.query_params.get("flash"),
            "flash_error": request.query_params.get("error"),
            "path": request.url.path,
            "mode": "dev" if self.config.dev else "production",
            "logged_in": bool(self.config.dashboard_token and request.cookies.get(auth.SESSION_COOKIE)),
        }
        html = self.env.get_template(template).render(context)
        return auth.finish(request, HTMLResponse(html, status_code=status))

    def _denied(self, request: Request) -> Response | None:
        verdict = auth.access(request, self.config)
        if verdict == "ok":
            return None
        if verdict == "locked":
            data = {"error": "The dashboard is open only to loopback clients in dev mode. "
                             "Set ENGINE_DASHBOARD_TOKEN to use it from elsewhere."}  # fmt: skip
            return self.render(request, "error.html", data, 403)
        if _wants_json(request) or request.headers.get("authorization"):
            return _json({"error": "dashboard token required", "code": "unauthorized"}, 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{request.scope.get('root_path', '')}/login?next={quote(target)}", 303)

    def guard(self, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            denied = self._denied(request)
            if denied is not None:
                return denied
            if request.method == "POST":
                form = await request.form()
                csrf = form.get("csrf")
                if not auth.csrf_ok(request, csrf if isinstance(csrf, str) else None):
                    return self.render(request, "error.html",
                                       {"error": "The form's CSRF token is missing or stale: reload, retry."},
                                       403)  # fmt: skip
            return await handler(request)

        return wrapped

    def back(self, request: Request, path: str, *, flash: str | None = None, error: str | None = None) -> Response:
        query = urlencode({k: v for k, v in (("flash", flash), ("error", error)) if v})
        base = request.scope.get("root_path", "")
        sep = "&" if "?" in path else "?"
        return RedirectResponse(f"{base}{path}{sep + query if query else ''}", 303)

    async def form(self, request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    # ---- pages ---------------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        hours = 1 if request.query_params.get("window") == "1h" else 24
        return self.render(request, "overview.html", await views.overview(self.svc, hours))

    async def apps(self, request: Request) -> Response:
        return self.render(request, "apps.html", await views.apps(self.svc))

    async def sync_app(self, request: Request) -> Response:
        url = (await self.form(request)).get("url", "").strip()
        if not url.startswith(("http://", "https://")):
            return self.back(request, "/apps", error="The app URL must start with http:// or https://")
        try:
            await self.svc.sync_app(url)
        except EngineError as exc:
            return self.back(request, "/apps", error=str(exc))
        return self.back(request, "/apps", flash=f"Synced {url}")

    async def functions(self, request: Request) -> Response:
        return self.render(request, "functions.html", await views.functions(self.svc))

    async def function(self, request: Request) -> Response:
        data = await views.function(self.svc, request.path_params["function_id"])
        if data is None:
            return self.render(request, "error.html", {"error": "No such function."}, 404)
        return self.render(request, "function.html", data)

    async def invoke(self, request: Request) -> Response:
        fid = request.path_params["function_id"]
        raw = (await self.form(request)).get("data", "").strip() or "{}"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return self.back(request, f"/functions/{quote(fid)}", error=f"The payload is not JSON: {exc}")
        if not isinstance(data, dict):
            return self.back(request, f"/functions/{quote(fid)}", error="The payload must be a JSON object")
        try:
            run_id = await self.svc.invoke(fid, data)
        except EngineError as exc:
            return self.back(request, f"/functions/{quote(fid)}", error=str(exc))
        if not run_id:
            return self.back(request, f"/functions/{quote(fid)}", flash="Invoked; flow control held the run")
        return self.back(request, f"/runs/{run_id}", flash="Invoked")

    async def runs(self, request: Request) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        params["status"] = [s.upper() for s in request.query_params.getlist("status") if s]
        data = await views.runs(self.svc, params)
        template = "_runs_rows.html" if request.query_params.get("fragment") == "rows" else "runs.html"
        return self.render(request, template, data)

    async def run(self, request: Request) -> Response:
        data = await views.run(self.svc, request.path_params["run_id"])
        if data is None:
            return self.render(request, "error.html", {"error": "No such run (it may have been pruned)."}, 404)
        return self.render(request, "run.html", data)

    async def cancel(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            changed = await self.svc.cancel_run(run_id)
        except EngineError as exc:
            return self.back(request, f"/runs/{run_id}", error=str(exc))
        return self.back(request, f"/runs/{run_id}", flash="Cancelled" if changed else "The run had already ended")

    async def rerun(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            new_id = await self.svc.rerun(run_id)
        except EngineError as exc:
            return self.back(request, f"/runs/{run_id}", error=str(exc))
        if not new_id:
            return self.back(request, f"/runs/{run_id}", flash="Rerun queued; flow control held it")
        return self.back(request, f"/runs/{new_id}", flash=f"Rerun of {run_id}")

    async def events(self, request: Request) -> Response:
        q = request.query_params
        data = await views.events(self.svc, q.get("name"), q.get("cursor"))
        data["draft_name"] = q.get("draft_name", "")
        data["draft_data"] = q.get("draft_data", "")
        return self.render(request, "events.html", data)

    async def event(self, request: Request) -> Response:
        row = await self.svc.store.get_event(request.path_params["event_id"])
        if row is None:
            return self.render(request, "error.html", {"error": "No such event (it may have been pruned)."}, 404)
        return self.render(request, "event.html", {"event": row})

    async def send_event(self, request: Request) -> Response:
        form = await self.form(request)
        name = form.get("name", "").strip()
        raw = form.get("data", "").strip() or "{}"
        draft = urlencode({"draft_name": name, "draft_data": raw})
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return self.back(request, f"/events?{draft}", error=f"The data is not JSON: {exc}")
        body = json.dumps({"name": name, "data": data}).encode()
        try:
            ids = await self.svc.send_events(self.svc.parse_events(body, None))
        except EngineError as exc:
            return self.back(request, f"/events?{draft}", error=str(exc))
        return self.back(request, f"/events/{ids[0]}", flash=f"Sent {name}")

    # ---- login ---------------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        data = {
            "next": _safe_next(request.query_params.get("next")),
            "configured": bool(self.config.dashboard_token),
        }
        return self.render(request, "login.html", data)

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        if not auth.csrf_ok(request, form.get("csrf")):
            return self.render(request, "error.html", {"error": "The login form expired: reload and retry."}, 403)
        nxt = _safe_next(form.get("next"))
        client = request.client.host if request.client else "?"
        if auth.login_throttled(client):
            wait = {"error": "Too many failed logins from your address: wait a few minutes."}
            return self.render(request, "error.html", wait, 429)
        if not auth.token_matches(self.config, form.get("token", "")):
            auth.record_login_failure(client)
            log.warning("dashboard login refused from %s", client)
            data = {"next": nxt, "configured": bool(self.config.dashboard_token), "failed": True}
            return self.render(request, "login.html", data, 401)
        response = RedirectResponse(nxt, 303)
        # Secure whenever the browser came over https — behind a proxy, uvicorn's proxy headers (trusted from
        # FORWARDED_ALLOW_IPS) make the scheme the client's, not the proxy's plain http.
        response.set_cookie(auth.SESSION_COOKIE, auth.new_session(str(self.config.dashboard_token)),
                            httponly=True, samesite="lax", secure=request.url.scheme == "https",
                            max_age=auth.SESSION_TTL_S, path="/")  # fmt: skip
        return response

    async def logout(self, request: Request) -> Response:
        auth.revoke_session(request.cookies.get(auth.SESSION_COOKIE, ""))  # a copied cookie stops working too
        response = RedirectResponse("/login", 303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response
