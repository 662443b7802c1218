"""``Authorization: Bearer <api key>`` → the user, for every route except health and webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from marketing_agent.api.context import AppContext, get_context
from marketing_agent.api.rate_limit import UserRateLimiter
from marketing_agent.errors import MissingAuthHeader, Unauthorized
from marketing_agent.services import User, resolve_user_by_api_key

# Only for the OpenAPI page's "Authorize" button; the header is parsed below so errors keep our codes.
bearer_scheme = HTTPBearer(auto_error=False, description="API key from `marketing-agent users create`.")


async def current_user(
    request: Request,
    context: Annotated[AppContext, Depends(get_context)],
    _scheme: Annotated[object, Depends(bearer_scheme)] = None,
) -> User:
    header = request.headers.get("authorization")
    if not header:
        raise MissingAuthHeader("the Authorization header is missing (Authorization: Bearer <api key>)")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("use Authorization: Bearer <api key>")
    user = await resolve_user_by_api_key(context.database, key.strip())
    limiter: UserRateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.hit(user.id)  # every authenticated route, present and future (rate_limit.py)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
Context = Annotated[AppContext, Depends(get_context)]
