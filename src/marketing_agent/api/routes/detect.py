from __future__ import annotations

from fastapi import APIRouter

from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS
from marketing_agent.api.schemas import DetectIn, DetectionOut, Envelope
from marketing_agent.services import detect_skill

router = APIRouter(prefix="/detect", tags=["detect"], responses=ERRORS)


@router.post("", response_model=Envelope[DetectionOut])
async def detect(body: DetectIn, user: CurrentUser, ctx: Context) -> Envelope[DetectionOut]:
    """Which skill the message asks for (explicit prefix, keywords, then a small model), the client it
    names and the kind of output. Nothing is run."""
    return Envelope(data=views.detection(await detect_skill(ctx.database, ctx.detector, user.id, body.message)))
