from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS, Limit, Offset
from marketing_agent.api.schemas import (
    ClientCreateIn,
    ClientDetailOut,
    ClientListOut,
    ClientOut,
    ClientUpdateIn,
    ContextFileListOut,
    ContextFileOut,
    ContextSummaryOut,
    DeletedOut,
    Envelope,
    ErrorEnvelope,
)
from marketing_agent.services import (
    context_summary,
    create_client,
    delete_client,
    delete_context_file,
    get_client,
    get_context_file,
    list_clients,
    list_context_files,
    put_context_file,
    update_client,
)

router = APIRouter(prefix="/clients", tags=["clients"], responses=ERRORS)

MARKDOWN = "text/markdown; charset=utf-8"


@router.get("", response_model=Envelope[ClientListOut])
async def clients_index(
    user: CurrentUser, ctx: Context, limit: Limit = 20, offset: Offset = 0
) -> Envelope[ClientListOut]:
    page = await list_clients(ctx.database, user.id, limit=limit, offset=offset)
    return Envelope(
        data=ClientListOut(clients=[views.client(c) for c in page.items], total=page.total, limit=limit, offset=offset)
    )


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ClientOut],
    responses={409: {"model": ErrorEnvelope, "description": "CONFLICT: you already have this slug."}},
)
async def clients_create(body: ClientCreateIn, user: CurrentUser, ctx: Context) -> Envelope[ClientOut]:
    created = await create_client(ctx.database, user.id, name=body.name, slug=body.slug, description=body.description)
    return Envelope(data=views.client(created))


@router.get("/{client_id}", response_model=Envelope[ClientDetailOut])
async def clients_show(client_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[ClientDetailOut]:
    found = await get_client(ctx.database, user.id, client_id)
    summary = await context_summary(ctx.store, found)
    return Envelope(
        data=ClientDetailOut(
            **views.client(found).model_dump(),
            context_summary=ContextSummaryOut(
                has_profile=summary.has_profile,
                has_brand_voice=summary.has_brand_voice,
                has_brand_messaging=summary.has_brand_messaging,
                has_primary_icp=summary.has_primary_icp,
                has_product_overview=summary.has_product_overview,
                has_competitors=summary.has_competitors,
            ),
        )
    )


@router.put("/{client_id}", response_model=Envelope[ClientOut])
async def clients_update(
    client_id: uuid.UUID, body: ClientUpdateIn, user: CurrentUser, ctx: Context
) -> Envelope[ClientOut]:
    updated = await update_client(
        ctx.database,
        user.id,
        client_id,
        name=body.name,
        description=body.description,
        clear_description="description" in body.model_fields_set and body.description is None,
    )
    return Envelope(data=views.client(updated))


@router.delete("/{client_id}", response_model=Envelope[DeletedOut])
async def clients_delete(client_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[DeletedOut]:
    await delete_client(ctx.database, ctx.store, user.id, client_id)
    return Envelope(data=DeletedOut())


# --- context files -----------------------------------------------------------------------------------
@router.get("/{client_id}/files", response_model=Envelope[ContextFileListOut])
async def files_index(client_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[ContextFileListOut]:
    files = await list_context_files(ctx.database, ctx.store, user.id, client_id)
    return Envelope(
        data=ContextFileListOut(
            files=[ContextFileOut(path=f.path, size=f.size, modified_at=f.modified) for f in files],
            total=len(files),
        )
    )


#: What the storage keys accept (storage/keys.py), stated in the schema so generated clients know it: a
#: markdown file (``.md``), in folders if need be.
ClientFilePath = Annotated[
    str,
    Path(
        pattern=r"^(?:[^/]+/)*[^/]+\.[mM][dD]$",
        description="A markdown file under the client's folder, e.g. `profile.md` or `brand/voice.md`.",
    ),
]


@router.put(
    "/{client_id}/files/{path:path}",
    response_model=Envelope[ContextFileOut],
    openapi_extra={"requestBody": {"content": {"text/markdown": {"schema": {"type": "string"}}}, "required": True}},
)
async def files_put(
    client_id: uuid.UUID, path: ClientFilePath, request: Request, user: CurrentUser, ctx: Context
) -> Envelope[ContextFileOut]:
    body = await request.body()
    saved = await put_context_file(ctx.database, ctx.store, user.id, client_id, path, content=body)
    return Envelope(data=ContextFileOut(path=saved.path, size=saved.size, modified_at=saved.modified))


@router.get(
    "/{client_id}/files/{path:path}",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
async def files_get(client_id: uuid.UUID, path: ClientFilePath, user: CurrentUser, ctx: Context) -> Response:
    data = await get_context_file(ctx.database, ctx.store, user.id, client_id, path)
    return Response(content=data, media_type=MARKDOWN)


@router.delete("/{client_id}/files/{path:path}", response_model=Envelope[DeletedOut])
async def files_delete(
    client_id: uuid.UUID, path: ClientFilePath, user: CurrentUser, ctx: Context
) -> Envelope[DeletedOut]:
    await delete_context_file(ctx.database, ctx.store, user.id, client_id, path)
    return Envelope(data=DeletedOut())
