"""Clients (brands a user works for) and their markdown context files in object storage."""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketing_agent.db.models import ClientRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import ClientNotFound, Conflict, ObjectNotFound, ValidationFailed
from marketing_agent.services._common import check_page, count
from marketing_agent.services.records import Client, ContextFile, ContextSummary, Page
from marketing_agent.storage import ObjectStore, keys

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SLUG_MAX = 64
_SUFFIXED_BASE_MAX = SLUG_MAX - 9  # room for "-" + 8 hex characters


def check_slug(slug: str) -> str:
    if not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX:
        raise ValidationFailed(
            "slug must be lowercase letters and digits in words joined by single hyphens (max 64)",
            details=[{"field": "slug"}],
        )
    return slug


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name must be 1-200 characters", details=[{"field": "name"}])
    return name


async def create_client(
    db: Database, user_id: uuid.UUID, *, name: str, slug: str, description: str | None = None
) -> Client:
    """Create a client. Its files live under ``clients/<storage slug>/``: the slug itself when no other user
    took it, else the slug with a short suffix, so two users' "acme" never share files."""
    name, slug = _check_name(name), check_slug(slug)
    client_id = uuid.uuid4()
    async with db.transaction() as session:
        taken = await session.scalar(select(ClientRow.id).where(ClientRow.user_id == user_id, ClientRow.slug == slug))
        if taken is not None:
            raise Conflict(f"you already have a client with slug {slug!r}", details=[{"field": "slug"}])
    candidates = [slug, f"{slug[:_SUFFIXED_BASE_MAX].rstrip('-')}-{client_id.hex[:8]}"]
    for storage_slug in candidates:
        row = ClientRow(
            id=client_id,
            user_id=user_id,
            name=name,
            slug=slug,
            storage_slug=storage_slug,
            description=description,
        )
        try:
            async with db.transaction() as session:
                session.add(row)
        except IntegrityError as exc:
            # Either a concurrent create of the same slug by this user, or the storage folder is taken.
            async with db.transaction() as session:
                dup = await session.scalar(
                    select(ClientRow.id).where(ClientRow.user_id == user_id, ClientRow.slug == slug)
                )
            if dup is not None:
                raise Conflict(f"you already have a client with slug {slug!r}") from exc
            continue
        return Client.of(row)
    raise Conflict(f"could not allocate a storage folder for slug {slug!r}")


async def _owned(db: Database, user_id: uuid.UUID, client_id: uuid.UUID) -> ClientRow:
    async with db.transaction() as session:
        row = await session.get(ClientRow, client_id)
    if row is None or row.user_id != user_id:  # someone else's client looks exactly like a missing one
        raise ClientNotFound("client not found")
    return row


async def get_client(db: Database, user_id: uuid.UUID, client_id: uuid.UUID) -> Client:
    return Client.of(await _owned(db, user_id, client_id))


async def get_client_by_slug(db: Database, user_id: uuid.UUID, slug: str) -> Client:
    async with db.transaction() as session:
        row = await session.scalar(select(ClientRow).where(ClientRow.user_id == user_id, ClientRow.slug == slug))
    if row is None:
        raise ClientNotFound(f"client {slug!r} not found")
    return Client.of(row)


async def get_client_slug(db: Database, client_id: uuid.UUID | str | None) -> str | None:
    """The storage slug of a client (its ``clients/<slug>/`` folder), or None without a client or row.

    For the skill-execute function: it reads the context files and names the output key with it.
    """
    if client_id is None:
        return None
    try:
        key = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except ValueError:
        return None
    async with db.transaction() as session:
        return await session.scalar(select(ClientRow.storage_slug).where(ClientRow.id == key))


async def list_clients(db: Database, user_id: uuid.UUID, *, limit: int = 20, offset: int = 0) -> Page[Client]:
    check_page(limit, offset)
    query = select(ClientRow).where(ClientRow.user_id == user_id)
    async with db.transaction() as session:
        total = await count(session, query)
        rows = (
            await session.scalars(query.order_by(ClientRow.created_at, ClientRow.id).limit(limit).offset(offset))
        ).all()
    return Page([Client.of(r) for r in rows], total, limit, offset)


async def update_client(
    db: Database,
    user_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    name: str | None = None,
    description: str | None = None,
    clear_description: bool = False,
) -> Client:
    """Rename or re-describe a client. The slug is fixed: it names the storage folder and past outputs."""
    async with db.transaction() as session:
        row = await session.get(ClientRow, client_id)
        if row is None or row.user_id != user_id:
            raise ClientNotFound("client not found")
        if name is not None:
            row.name = _check_name(name)
        if description is not None or clear_description:
            row.description = description
        row.updated_at = utcnow()
        await session.flush()
        return Client.of(row)


async def delete_client(db: Database, store: ObjectStore, user_id: uuid.UUID, client_id: uuid.UUID) -> None:
    """Delete the client and its context files; its past runs and outputs stay (client_id set to NULL)."""
    async with db.transaction() as session:
        row = await session.get(ClientRow, client_id)
        if row is None or row.user_id != user_id:
            raise ClientNotFound("client not found")
        prefix = keys.client_prefix(row.storage_slug)
        await session.delete(row)
    for info in await store.list(prefix):
        await store.delete(info.key)


# --- context files ----------------------------------------------------------------------------------
async def list_context_files(
    db: Database, store: ObjectStore, user_id: uuid.UUID, client_id: uuid.UUID
) -> list[ContextFile]:
    row = await _owned(db, user_id, client_id)
    infos = await store.list(keys.client_prefix(row.storage_slug))
    files = [
        ContextFile(path=keys.client_relative_path(row.storage_slug, info.key), size=info.size, modified=info.modified)
        for info in infos
    ]
    return sorted(files, key=lambda f: f.path)


async def put_context_file(
    db: Database,
    store: ObjectStore,
    user_id: uuid.UUID,
    client_id: uuid.UUID,
    path: str,
    *,
    content: bytes,
) -> ContextFile:
    row = await _owned(db, user_id, client_id)
    key = keys.client_file_key(row.storage_slug, path)  # refuses .., absolute and non-.md paths
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("a context file must be UTF-8 text", details=[{"field": "body"}]) from exc
    await store.put(key, content, content_type="text/markdown; charset=utf-8")
    return ContextFile(path=path, size=len(content), modified=utcnow())


async def get_context_file(
    db: Database, store: ObjectStore, user_id: uuid.UUID, client_id: uuid.UUID, path: str
) -> bytes:
    row = await _owned(db, user_id, client_id)
    key = keys.client_file_key(row.storage_slug, path)
    return await store.get(key)


async def delete_context_file(
    db: Database, store: ObjectStore, user_id: uuid.UUID, client_id: uuid.UUID, path: str
) -> None:
    row = await _owned(db, user_id, client_id)
    key = keys.client_file_key(row.storage_slug, path)
    if not await store.exists(key):
        raise ObjectNotFound(f"no file {path!r}")
    await store.delete(key)


_SUMMARY_WORDS = {
    "has_profile": ("profile",),
    "has_brand_voice": ("voice",),
    "has_brand_messaging": ("messaging",),
    "has_primary_icp": ("icp", "audience", "persona"),
    "has_product_overview": ("product",),
    "has_competitors": ("competitor",),
}


async def context_summary(store: ObjectStore, client: Client) -> ContextSummary:
    """Which of the usual context documents the client has, judged by their file names."""
    paths = [
        keys.client_relative_path(client.storage_slug, info.key).lower()
        for info in await store.list(keys.client_prefix(client.storage_slug))
    ]
    found = {flag: any(word in path for path in paths for word in words) for flag, words in _SUMMARY_WORDS.items()}
    found["has_profile"] = "profile.md" in paths or found["has_profile"]
    return ContextSummary(**found)
