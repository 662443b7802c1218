from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser, current_user
from marketing_agent.api.routes._common import ERRORS, Limit, Offset
from marketing_agent.api.schemas import DownloadOut, Envelope, OutputDetailOut, OutputListOut
from marketing_agent.errors import Unauthorized
from marketing_agent.services import (
    get_download_link,
    get_output,
    get_output_content,
    list_feedback,
    list_outputs,
    output_link_valid,
    read_output_content,
)

router = APIRouter(prefix="/outputs", tags=["outputs"], responses=ERRORS)


@router.get("", response_model=Envelope[OutputListOut])
async def outputs_index(
    *,
    user: CurrentUser,
    ctx: Context,
    skill_name: Annotated[str | None, Query(alias="skillName")] = None,
    client_id: Annotated[uuid.UUID | None, Query(alias="clientId")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Envelope[OutputListOut]:
    page = await list_outputs(
        ctx.database, user.id, skill_name=skill_name, client_id=client_id, limit=limit, offset=offset
    )
    return Envelope(
        data=OutputListOut(outputs=[views.output(o) for o in page.items], total=page.total, limit=limit, offset=offset)
    )


@router.get("/{output_id}", response_model=Envelope[OutputDetailOut])
async def outputs_show(output_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[OutputDetailOut]:
    found = await get_output(ctx.database, user.id, output_id)
    ratings = await list_feedback(ctx.database, user.id, output_id=output_id, limit=100)
    return Envelope(
        data=OutputDetailOut(**views.output(found).model_dump(), feedback=[views.feedback(f) for f in ratings.items])
    )


@router.get("/{output_id}/download", response_model=Envelope[DownloadOut])
async def outputs_download(output_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[DownloadOut]:
    link = await get_download_link(ctx.database, ctx.store, user.id, output_id)
    # A local folder has no signed URLs: point at the content route (same API key) instead.
    url = link.url or f"{ctx.settings.api_url}/api/v1/outputs/{output_id}/content"
    return Envelope(data=DownloadOut(download_url=url, expires_at=link.expires_at, filename=link.filename))


@router.get(
    "/{output_id}/content",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
async def outputs_content(
    output_id: uuid.UUID,
    request: Request,
    ctx: Context,
    expires: Annotated[int | None, Query(description="Signed link: expiry (Unix seconds).")] = None,
    signature: Annotated[str | None, Query(max_length=128, description="Signed link: HMAC.")] = None,
) -> Response:
    """With ``Authorization: Bearer <api key>``, or through a signed link from a notification (no key)."""
    if expires is None and signature is None:
        user = await current_user(request, ctx)
        data = await get_output_content(ctx.database, ctx.store, user.id, output_id)
        return Response(content=data, media_type="text/markdown; charset=utf-8")
    if expires is None or signature is None or not output_link_valid(ctx.settings, output_id, expires, signature):
        raise Unauthorized("this link is invalid or has expired; open the output with your API key")
    data = await read_output_content(ctx.database, ctx.store, output_id)
    # The link is the credential: keep it out of caches and out of the Referer of any link in the page.
    headers = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
    return Response(content=data, media_type="text/markdown; charset=utf-8", headers=headers)
