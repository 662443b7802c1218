from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter

from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS
from marketing_agent.api.schemas import (
    ChannelCreatedOut,
    ChannelCreateIn,
    ChannelListOut,
    ChannelOut,
    ChannelVerifyIn,
    DeletedOut,
    Envelope,
    ErrorEnvelope,
)
from marketing_agent.errors import MarketingAgentError, NotificationRejected, ServiceUnavailable, ValidationFailed
from marketing_agent.netguard import AllowList
from marketing_agent.notify.verification import send_email_verification
from marketing_agent.services import (
    add_channel,
    delete_channel,
    list_user_channels,
    request_email_channel,
    verify_email_channel,
)

router = APIRouter(prefix="/me/channels", tags=["channels"], responses=ERRORS)


@router.get("", response_model=Envelope[ChannelListOut])
async def channels_index(user: CurrentUser, ctx: Context) -> Envelope[ChannelListOut]:
    channels = await list_user_channels(ctx.database, user.id, enabled_only=False)
    return Envelope(data=ChannelListOut(channels=[views.channel(c) for c in channels], total=len(channels)))


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ChannelCreatedOut],
    responses={409: {"model": ErrorEnvelope, "description": "CONFLICT: this channel is already registered."}},
)
async def channels_create(body: ChannelCreateIn, user: CurrentUser, ctx: Context) -> Envelope[ChannelCreatedOut]:
    if body.channel == "email":
        # Disabled until the owner of the address sends back the code mailed to it (POST …/verify): nobody
        # can make this server write to a stranger's mailbox, except the one confirmation message.
        pending, code = await request_email_channel(ctx.database, user.id, body.address)
        verify_url = f"{ctx.settings.api_url}/api/v1/me/channels/{pending.id}/verify"
        try:
            await send_email_verification(ctx.settings, pending.address, code, verify_url)
        except MarketingAgentError as exc:
            await delete_channel(ctx.database, user.id, pending.id)
            if isinstance(exc, NotificationRejected):
                raise ValidationFailed(exc.message, details=[{"field": "channel"}]) from exc
            raise ServiceUnavailable("the confirmation e-mail could not be sent; retry later") from exc
        return Envelope(data=ChannelCreatedOut(**views.channel(pending).model_dump(), secret=None))
    secret = body.secret
    if body.channel == "webhook" and secret is None:
        secret = secrets.token_urlsafe(32)  # the receiver verifies our HMAC-SHA256 signature with it
    allow = AllowList.parse(ctx.settings.notify_allowed_hosts)  # SSRF: no internal address unless listed
    created = await add_channel(ctx.database, user.id, body.channel, body.address, secret=secret, allow=allow)
    return Envelope(data=ChannelCreatedOut(**views.channel(created).model_dump(), secret=created.secret))


@router.post(
    "/{channel_id}/verify",
    response_model=Envelope[ChannelOut],
    responses={404: {"model": ErrorEnvelope, "description": "NOT_FOUND: no such e-mail channel of yours."}},
)
async def channels_verify(
    channel_id: uuid.UUID, body: ChannelVerifyIn, user: CurrentUser, ctx: Context
) -> Envelope[ChannelOut]:
    """Enable an e-mail channel with the code that was sent to its address."""
    return Envelope(data=views.channel(await verify_email_channel(ctx.database, user.id, channel_id, body.code)))


@router.delete("/{channel_id}", response_model=Envelope[DeletedOut])
async def channels_delete(channel_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[DeletedOut]:
    await delete_channel(ctx.database, user.id, channel_id)
    return Envelope(data=DeletedOut())
