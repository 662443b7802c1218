"""What else a request says besides the skill: an explicit skill prefix, the client, the kind of output."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from ._text import phrase_in, terms

# "/seo-audit our blog" or "seo-audit: our blog" (a name in the Agent Skills format, then the request).
_EXPLICIT_RE = re.compile(r"\A\s*(?:/(?P<slash>[A-Za-z0-9-]+)(?:@\w+)?(?:\s+|\Z)|(?P<colon>[A-Za-z0-9-]+)\s*:\s*)")


@dataclass(frozen=True, slots=True)
class ExplicitSkill:
    skill: str
    request: str  # the text after the prefix (the whole text when nothing followed it)


def explicit_skill(text: str, names: Collection[str]) -> ExplicitSkill | None:
    """The skill named by a ``/skill-name`` or ``skill-name:`` prefix, when it is one of ``names``.

    A prefix that names no known skill ("Note: …", "/start") is not explicit: the text is scored as usual.
    """
    match = _EXPLICIT_RE.match(text)
    if match is None:
        return None
    name = (match.group("slash") or match.group("colon")).lower()
    if name not in names:
        return None
    rest = text[match.end() :].strip()
    return ExplicitSkill(name, rest or text.strip())


class OutputType(StrEnum):
    """The kinds of deliverable a request can name; ``outputType`` on the wire."""

    LANDING_PAGE = "landing-page"
    HOMEPAGE = "homepage"
    PRICING_PAGE = "pricing-page"
    COMPARISON_PAGE = "comparison-page"
    BLOG_POST = "blog-post"
    ARTICLE = "article"
    EMAIL = "email"
    EMAIL_SEQUENCE = "email-sequence"
    NEWSLETTER = "newsletter"
    SOCIAL_POST = "social-post"
    THREAD = "thread"
    AD = "ad"
    PRESS_RELEASE = "press-release"
    CASE_STUDY = "case-study"
    VIDEO_SCRIPT = "video-script"
    SCRIPT = "script"
    ONE_PAGER = "one-pager"
    BATTLECARD = "battlecard"
    POPUP = "popup"
    FORM = "form"
    CALENDAR = "calendar"
    REPORT = "report"
    PLAN = "plan"
    CHECKLIST = "checklist"
    GUIDE = "guide"
    BRIEF = "brief"
    SPEC = "spec"
    LIST = "list"


# The phrases that name each kind. The longest phrase found wins, so "email sequence" beats "email" and
# "video script" beats "script"; on equal length the earlier mention wins.
_OUTPUT_PHRASES: dict[OutputType, tuple[str, ...]] = {
    OutputType.LANDING_PAGE: ("landing page", "lander", "squeeze page", "sales page"),
    OutputType.HOMEPAGE: ("homepage", "home page"),
    OutputType.PRICING_PAGE: ("pricing page",),
    OutputType.COMPARISON_PAGE: ("comparison page", "vs page", "versus page", "alternatives page"),
    OutputType.BLOG_POST: ("blog post", "blog article"),
    OutputType.ARTICLE: ("article",),
    OutputType.EMAIL: ("email", "e-mail"),
    OutputType.EMAIL_SEQUENCE: (
        "email sequence",
        "drip campaign",
        "email series",
        "nurture sequence",
        "welcome series",
        "email flow",
        "onboarding emails",
    ),
    OutputType.NEWSLETTER: ("newsletter",),
    OutputType.SOCIAL_POST: ("social post", "linkedin post", "tweet", "instagram post", "caption", "carousel"),
    OutputType.THREAD: ("thread",),
    OutputType.AD: ("ad", "ads", "ad copy", "advert"),
    OutputType.PRESS_RELEASE: ("press release", "news release"),
    OutputType.CASE_STUDY: ("case study", "customer story", "success story"),
    OutputType.VIDEO_SCRIPT: ("video script", "youtube script", "explainer video", "tiktok script"),
    OutputType.SCRIPT: ("script",),
    OutputType.ONE_PAGER: ("one pager", "one-pager", "sell sheet"),
    OutputType.BATTLECARD: ("battlecard", "battle card"),
    OutputType.POPUP: ("popup", "pop up", "modal"),
    OutputType.FORM: ("form",),
    OutputType.CALENDAR: ("calendar", "posting schedule"),
    OutputType.REPORT: ("report", "audit", "analysis"),
    OutputType.PLAN: ("plan", "roadmap", "playbook", "strategy"),
    OutputType.CHECKLIST: ("checklist",),
    OutputType.GUIDE: ("guide", "style guide"),
    OutputType.BRIEF: ("brief",),
    OutputType.SPEC: ("spec", "specification", "prd"),
    OutputType.LIST: ("list", "ideas"),
}
_OUTPUT_TERMS: tuple[tuple[OutputType, tuple[str, ...]], ...] = tuple(
    (kind, tuple(terms(phrase))) for kind, phrases in _OUTPUT_PHRASES.items() for phrase in phrases
)


def output_type(text: str) -> OutputType | None:
    """The kind of deliverable the text asks for, or None when it names none."""
    text_terms = tuple(terms(text))
    best: tuple[int, int, OutputType] | None = None  # (-words, position, kind)
    for kind, phrase in _OUTPUT_TERMS:
        position = phrase_in(phrase, text_terms)
        if position >= 0:
            key = (-len(phrase), position, kind)
            if best is None or key[:2] < best[:2]:
                best = key
    return best[2] if best is not None else None


@dataclass(frozen=True, slots=True)
class ClientName:
    """One of the user's clients, as matching needs it."""

    id: uuid.UUID
    name: str
    slug: str


def match_client(text: str, clients: Iterable[ClientName]) -> uuid.UUID | None:
    """The client the text names by name or slug (whole words; the longest mention wins, then the
    earliest); None when it names none."""
    text_words = tuple(_client_words(text))
    best: tuple[int, int, uuid.UUID] | None = None  # (-words, position, id)
    for client in clients:
        for phrase in {tuple(_client_words(client.name)), tuple(_client_words(client.slug))}:
            position = phrase_in(phrase, text_words)
            if position >= 0:
                key = (-len(phrase), position, client.id)
                if best is None or key[:2] < best[:2]:
                    best = key
    return best[2] if best is not None else None


def _client_words(text: str) -> list[str]:
    # Names are matched word for word, without stop words or stemming: "The Bakery" must not match every
    # request that says "bakery", nor "Acme Labs" a request about "lab" results.
    return re.findall(r"[a-z0-9]+", text.lower())
