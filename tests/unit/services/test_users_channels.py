from __future__ import annotations

import pytest

from marketing_agent.errors import Conflict, InvalidApiKey, NotFound, ValidationFailed
from marketing_agent.services import (
    Database,
    User,
    add_channel,
    create_user,
    delete_channel,
    hash_api_key,
    link_telegram_chat,
    list_user_channels,
    resolve_user_by_api_key,
    unlink_telegram_chat,
    user_for_telegram_chat,
)


async def test_api_key_is_returned_once_and_stored_hashed(db: Database) -> None:
    created = await create_user(db, "Bob@Example.com")
    assert created.user.email == "bob@example.com"
    assert len(created.api_key) >= 43  # 32 random bytes, url-safe base64
    assert len(hash_api_key(created.api_key)) == 64
    assert (await resolve_user_by_api_key(db, created.api_key)).id == created.user.id
    with pytest.raises(InvalidApiKey):
        await resolve_user_by_api_key(db, created.api_key + "x")
    with pytest.raises(Conflict):
        await create_user(db, "bob@example.com")
    with pytest.raises(ValidationFailed):
        await create_user(db, "not-an-email")


async def test_channels_are_per_user(db: Database, user: User) -> None:
    other = (await create_user(db, "eve@example.com")).user
    hook = await add_channel(db, user.id, "webhook", "https://hooks.example.com/x", secret="s3cret")
    await add_channel(db, user.id, "email", "ada@example.com")
    with pytest.raises(Conflict):
        await add_channel(db, user.id, "email", "ada@example.com")
    with pytest.raises(ValidationFailed):
        await add_channel(db, user.id, "pigeon", "roof")
    assert [c.channel for c in await list_user_channels(db, user.id)] == ["webhook", "email"]
    assert (await list_user_channels(db, user.id))[0].secret == "s3cret"
    with pytest.raises(NotFound):
        await delete_channel(db, other.id, hook.id)
    await delete_channel(db, user.id, hook.id)
    assert [c.channel for c in await list_user_channels(db, user.id)] == ["email"]


async def test_telegram_chat_links_to_one_user(db: Database, user: User) -> None:
    other = (await create_user(db, "eve@example.com")).user
    await link_telegram_chat(db, user.id, 4242)
    await link_telegram_chat(db, user.id, 4242)  # idempotent
    assert (await user_for_telegram_chat(db, "4242")).id == user.id  # type: ignore[union-attr]
    await link_telegram_chat(db, other.id, 4242)  # the chat moves to the other user
    assert (await user_for_telegram_chat(db, 4242)).id == other.id  # type: ignore[union-attr]
    assert await list_user_channels(db, user.id) == []
    assert await unlink_telegram_chat(db, 4242) is True
    assert await unlink_telegram_chat(db, 4242) is False
    assert await user_for_telegram_chat(db, 4242) is None
