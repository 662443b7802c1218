from __future__ import annotations

import pytest

from marketing_agent.errors import (
    ClientNotFound,
    Conflict,
    InvalidStorageKey,
    ObjectNotFound,
    ValidationFailed,
)
from marketing_agent.services import (
    Database,
    User,
    context_summary,
    create_client,
    create_user,
    delete_client,
    delete_context_file,
    get_client,
    get_client_slug,
    get_context_file,
    list_clients,
    list_context_files,
    put_context_file,
    update_client,
)
from marketing_agent.storage import LocalObjectStore


async def test_client_crud_and_ownership(db: Database, user: User, store: LocalObjectStore) -> None:
    client = await create_client(db, user.id, name="Acme", slug="acme", description="Rockets")
    assert client.storage_slug == "acme"
    with pytest.raises(Conflict):
        await create_client(db, user.id, name="Acme 2", slug="acme")
    with pytest.raises(ValidationFailed):
        await create_client(db, user.id, name="Bad", slug="Bad Slug")
    other = (await create_user(db, "eve@example.com")).user
    # Same slug for another user: allowed, but the files live in another folder.
    theirs = await create_client(db, other.id, name="Acme", slug="acme")
    assert theirs.storage_slug != "acme"
    assert theirs.storage_slug.startswith("acme-")
    with pytest.raises(ClientNotFound):
        await get_client(db, other.id, client.id)
    page = await list_clients(db, user.id)
    assert [c.id for c in page.items] == [client.id]
    assert page.total == 1
    updated = await update_client(db, user.id, client.id, name="Acme Inc")
    assert updated.name == "Acme Inc"
    assert updated.description == "Rockets"
    assert await get_client_slug(db, client.id) == "acme"
    assert await get_client_slug(db, None) is None
    await delete_client(db, store, user.id, client.id)
    with pytest.raises(ClientNotFound):
        await get_client(db, user.id, client.id)


async def test_context_files(db: Database, user: User, store: LocalObjectStore) -> None:
    client = await create_client(db, user.id, name="Acme", slug="acme")
    await put_context_file(db, store, user.id, client.id, "profile.md", content=b"# Acme\n")
    await put_context_file(db, store, user.id, client.id, "brand/voice.md", content=b"Warm.")
    assert [f.path for f in await list_context_files(db, store, user.id, client.id)] == [
        "brand/voice.md",
        "profile.md",
    ]
    assert await get_context_file(db, store, user.id, client.id, "brand/voice.md") == b"Warm."
    summary = await context_summary(store, client)
    assert summary.has_profile
    assert summary.has_brand_voice
    assert not summary.has_competitors
    for bad in ("../x.md", "/etc/passwd.md", "notes.txt"):
        with pytest.raises(InvalidStorageKey):
            await put_context_file(db, store, user.id, client.id, bad, content=b"x")
    await delete_context_file(db, store, user.id, client.id, "brand/voice.md")
    with pytest.raises(ObjectNotFound):
        await delete_context_file(db, store, user.id, client.id, "brand/voice.md")
    await delete_client(db, store, user.id, client.id)
    assert await store.list("clients/acme/") == []
