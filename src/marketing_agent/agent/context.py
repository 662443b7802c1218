"""Client context: a client's markdown files, most relevant first, fitted into a token budget.

A client's files live in storage under ``clients/<slug>/`` (any ``.md``, in folders or not). They are
ranked by what a marketing skill needs first: profile, brand voice, messaging, audiences/ICP, product,
pricing, competitors, proof, then everything else alphabetically. Common names map to those categories
(``brand/voice.md``, ``brand-voice.md``, ``tone.md`` → brand voice; ``icp.md``, ``audiences/*.md``,
``personas.md`` → audiences…), see :func:`categorize`.

Token counts are an estimate, not a tokenizer: ``ceil(characters / 4)``. Four characters per token is
the usual figure for English prose with the BPE tokenizers of current models; it needs no model-specific
tokenizer (the provider may be Anthropic, OpenAI-compatible or the local model) and errs on the safe side
for markdown, which tokenizes a little better than that. The budget caps the whole assembled text,
wrappers included.

When the files do not all fit, the first file that does not fit is cut at a paragraph boundary (falling
back to a line, then a word boundary for a single huge paragraph) and marked truncated; the files after it
are left out and listed in ``files_omitted``, so the run can tell the user what the model did not see.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass
from enum import IntEnum
from itertools import pairwise

from marketing_agent.errors import ClientContextMissing, ObjectNotFound
from marketing_agent.storage import ObjectStore, keys

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
DEFAULT_BUDGET_TOKENS = 6000
PROFILE_FILE = "profile.md"
TRUNCATION_NOTE = "[… truncated: the rest of this file did not fit the context budget]"
_SEPARATOR = "\n\n"
_READ_CONCURRENCY = 8


def estimate_tokens(text: str) -> int:
    """A cheap token estimate: one token per started group of four characters."""
    return -(-len(text) // CHARS_PER_TOKEN)


class Category(IntEnum):
    """What a client file is about; the value is its rank (lower = more relevant = earlier)."""

    PROFILE = 0
    BRAND_VOICE = 1
    MESSAGING = 2
    AUDIENCE = 3
    PRODUCT = 4
    PRICING = 5
    COMPETITORS = 6
    PROOF = 7
    OTHER = 8


# Root-level names that are the client's profile (profile.md itself is the one that is required).
_PROFILE_NAMES = frozenset(
    {"profile", "client-profile", "company-profile", "company", "about", "about-us", "company-overview"}
)
# Checked in rank order; the first category with a matching word wins ("competitor-pricing" → pricing).
_CATEGORY_WORDS: tuple[tuple[Category, frozenset[str]], ...] = (
    (Category.BRAND_VOICE, frozenset({"voice", "tone", "tov", "style", "styleguide", "style-guide"})),
    (
        Category.MESSAGING,
        frozenset(
            {"messaging", "message", "messages", "positioning", "proposition", "propositions", "tagline"}
            | {"taglines", "pillars", "narrative", "pitch", "value-proposition", "value-props"}
        ),
    ),
    (
        Category.AUDIENCE,
        frozenset(
            {"icp", "icps", "audience", "audiences", "persona", "personas", "segment", "segments", "buyer"}
            | {"buyers", "ideal-customer", "target-audience", "customer-profile", "jtbd"}
        ),
    ),
    (
        Category.PRODUCT,
        frozenset(
            {"product", "products", "feature", "features", "offering", "offerings", "service", "services"}
            | {"solution", "solutions", "platform"}
        ),
    ),
    (Category.PRICING, frozenset({"pricing", "price", "prices", "tiers", "packaging"})),
    (
        Category.COMPETITORS,
        frozenset(
            {"competitor", "competitors", "competition", "competitive", "alternatives", "alternative", "vs"}
            | {"landscape", "battlecard", "battlecards"}
        ),
    ),
    (
        Category.PROOF,
        frozenset(
            {"proof", "social-proof", "case-study", "case-studies", "testimonial", "testimonials", "reviews"}
            | {"results", "customers", "logos", "awards", "wins", "success-stories"}
        ),
    ),
)


def _vocabulary(text: str) -> set[str]:
    """The words of a name, plus each neighbouring pair joined by ``-`` (``case-studies``)."""
    words = [w for w in re.split(r"[/\-_. ]+", text.lower()) if w]
    return set(words) | {f"{a}-{b}" for a, b in pairwise(words)}


def _match(vocabulary: set[str]) -> Category | None:
    for category, category_words in _CATEGORY_WORDS:
        if vocabulary & category_words:
            return category
    return None


def categorize(relative_path: str) -> Category:
    """The category of a client file from its path relative to ``clients/<slug>/``.

    The file name decides first (``product/pricing.md`` is pricing), then its folders
    (``audiences/enterprise.md`` is an audience).
    """
    folder, _, name = relative_path.lower().removesuffix(".md").rpartition("/")
    normalized = "-".join(w for w in re.split(r"[\-_. ]+", name) if w)
    if not folder and normalized in _PROFILE_NAMES:
        return Category.PROFILE
    found = _match(_vocabulary(name))
    if found is None:  # (not `or`: an IntEnum member can be falsy)
        found = _match(_vocabulary(folder))
    if found is not None:
        return found
    if "brand" in _vocabulary(relative_path):  # brand.md, brand/guidelines.md: closest to the voice
        return Category.BRAND_VOICE
    return Category.OTHER


def _rank(relative_path: str) -> tuple[int, int, str]:
    # profile.md itself before any other profile-like file; shallower files before deeper ones.
    required_first = 0 if relative_path == PROFILE_FILE else 1
    return (categorize(relative_path) * 2 + required_first, relative_path.count("/"), relative_path)


def order_client_files(relative_paths: list[str]) -> list[str]:
    """Most relevant first (see the module docstring); ties alphabetically."""
    return sorted(relative_paths, key=_rank)


@dataclass(frozen=True, slots=True)
class ClientContext:
    """The assembled context. Paths are relative to ``clients/<slug>/``.

    ``files_included`` lists every file that is in ``text``, the truncated one too;
    ``files_truncated`` is that one (or none); ``files_omitted`` are those that did not fit at all.
    """

    slug: str
    text: str
    files_included: tuple[str, ...]
    files_truncated: tuple[str, ...]
    files_omitted: tuple[str, ...]
    estimated_tokens: int


@dataclass(frozen=True, slots=True)
class ContextSummary:
    """Which of the important files a client has (``GET /clients/{id}``'s ``contextSummary``)."""

    has_profile: bool
    has_brand_voice: bool
    has_brand_messaging: bool
    has_primary_icp: bool
    has_product_overview: bool
    has_competitors: bool

    def to_api(self) -> dict[str, bool]:
        """The camelCase shape of the API contract."""
        return {
            "hasProfile": self.has_profile,
            "hasBrandVoice": self.has_brand_voice,
            "hasBrandMessaging": self.has_brand_messaging,
            "hasPrimaryIcp": self.has_primary_icp,
            "hasProductOverview": self.has_product_overview,
            "hasCompetitors": self.has_competitors,
        }


async def list_client_files(store: ObjectStore, slug: str) -> list[str]:
    """The client's markdown files, relative to its prefix, in relevance order."""
    prefix = keys.client_prefix(slug)
    paths = [info.key[len(prefix) :] for info in await store.list(prefix) if info.key.lower().endswith(".md")]
    return order_client_files(paths)


async def summarize_client_files(store: ObjectStore, slug: str) -> ContextSummary:
    paths = await list_client_files(store, slug)
    categories = {categorize(path) for path in paths}
    return ContextSummary(
        has_profile=PROFILE_FILE in paths,
        has_brand_voice=Category.BRAND_VOICE in categories,
        has_brand_messaging=Category.MESSAGING in categories,
        has_primary_icp=Category.AUDIENCE in categories,
        has_product_overview=Category.PRODUCT in categories,
        has_competitors=Category.COMPETITORS in categories,
    )


def _missing_profile(slug: str, why: str) -> ClientContextMissing:
    key = keys.client_file_key(slug, PROFILE_FILE)
    return ClientContextMissing(
        f"Client {slug!r} {why}: upload its profile as {PROFILE_FILE} (storage key {key}; "
        f"PUT /api/v1/clients/{{id}}/files/{PROFILE_FILE} or `marketing-agent clients upload`), "
        "then run the skill again.",
        details={"slug": slug, "missing": PROFILE_FILE, "key": key},
    )


async def _read_all(store: ObjectStore, slug: str, paths: list[str]) -> dict[str, str]:
    limiter = asyncio.Semaphore(_READ_CONCURRENCY)

    async def read(path: str) -> tuple[str, str | None]:
        async with limiter:
            try:
                data = await store.get(keys.client_prefix(slug) + path)
            except ObjectNotFound:
                return path, None  # deleted between list and read
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").strip()
        return path, text

    results = await asyncio.gather(*(read(path) for path in paths))
    return {path: text for path, text in results if text is not None}


def _block(path: str, body: str, *, truncated: bool = False) -> str:
    attributes = f'path="{html.escape(path, quote=True)}"' + (' truncated="true"' if truncated else "")
    return f"<client_file {attributes}>\n{body}\n</client_file>"


def _longest_prefix(pieces: list[str], joiner: str, max_chars: int) -> str:
    taken: list[str] = []
    length = 0
    for piece in pieces:
        extra = len(piece) + (len(joiner) if taken else 0)
        if length + extra > max_chars:
            break
        taken.append(piece)
        length += extra
    return joiner.join(taken).rstrip()


def _truncate(path: str, body: str, available_tokens: int) -> str | None:
    """The largest block of ``body`` cut at a boundary that fits, or None when nothing useful fits."""
    overhead = len(_block(path, f"\n\n{TRUNCATION_NOTE}", truncated=True))
    max_chars = available_tokens * CHARS_PER_TOKEN - overhead
    if max_chars <= 0:
        return None
    kept = (
        _longest_prefix(re.split(r"\n\s*\n", body), "\n\n", max_chars)
        or _longest_prefix(body.split("\n"), "\n", max_chars)
        or _longest_prefix(body.split(" "), " ", max_chars)
    )
    if not kept:
        return None
    return _block(path, f"{kept}\n\n{TRUNCATION_NOTE}", truncated=True)


async def assemble_client_context(
    store: ObjectStore, slug: str, *, budget_tokens: int = DEFAULT_BUDGET_TOKENS
) -> ClientContext:
    """Read every ``.md`` under ``clients/<slug>/`` and fit the most relevant into ``budget_tokens``.

    Raises :class:`ClientContextMissing` (not retryable) when the client has no (or an empty)
    ``profile.md``, and :class:`~marketing_agent.errors.InvalidStorageKey` for a malformed slug.
    """
    if budget_tokens < 1:
        raise ValueError("budget_tokens must be at least 1")
    paths = await list_client_files(store, slug)
    if PROFILE_FILE not in paths:
        raise _missing_profile(slug, "has no profile")
    contents = await _read_all(store, slug, paths)
    if not contents.get(PROFILE_FILE):
        raise _missing_profile(slug, "has an empty profile" if PROFILE_FILE in contents else "has no profile")

    blocks: list[str] = []
    included: list[str] = []
    truncated: list[str] = []
    omitted: list[str] = []
    remaining = budget_tokens
    ordered = [path for path in paths if contents.get(path)]  # empty files add nothing: skip them
    for index, path in enumerate(ordered):
        separator_tokens = estimate_tokens(_SEPARATOR) if blocks else 0
        block = _block(path, contents[path])
        cost = estimate_tokens(block) + separator_tokens
        if cost <= remaining:
            blocks.append(block)
            included.append(path)
            remaining -= cost
            continue
        cut = _truncate(path, contents[path], remaining - separator_tokens)
        if cut is not None:
            blocks.append(cut)
            included.append(path)
            truncated.append(path)
            omitted.extend(ordered[index + 1 :])
        else:
            omitted.extend(ordered[index:])
        break

    text = _SEPARATOR.join(blocks)
    context = ClientContext(
        slug=slug,
        text=text,
        files_included=tuple(included),
        files_truncated=tuple(truncated),
        files_omitted=tuple(omitted),
        estimated_tokens=estimate_tokens(text),
    )
    logger.info(
        "client context assembled",
        extra={
            "client_slug": slug,
            "files_included": len(included),
            "files_truncated": len(truncated),
            "files_omitted": len(omitted),
            "estimated_tokens": context.estimated_tokens,
            "budget_tokens": budget_tokens,
        },
    )
    return context
