"""``web_fetch(url)``: one page, as clean markdown, from the public web only.

Every request goes through :mod:`marketing_agent.netguard`: :func:`check_url` gives the readable refusal
(scheme, non-public address after DNS resolution) and :func:`guarded_transport` makes the refusal hold at
connect time, so DNS rebinding cannot slip past the check. Redirects are followed by hand, at most
:data:`MAX_REDIRECTS`, and every hop is checked again (netguard, robots.txt) before it is requested.

robots.txt is honoured with protego (RFC 9309): a 4xx robots.txt allows everything, a 5xx or unreachable
one disallows everything. Limits: :data:`MAX_BYTES` of body and :data:`TIMEOUT_SECONDS` for the whole
fetch, redirects and robots.txt included.

HTML → markdown: readability-lxml finds the page's main content (dropping navigation, footers, cookie
banners) and markdownify turns it into markdown with headings and links intact — both made for exactly
this, and small (lxml is already a dependency of both). The facts an audit needs that readability drops on
purpose (title, meta description, canonical, robots meta, the H1/H2 outline) are read with lxml and put
first. PDFs, images and other types are refused with a clear tool error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import anyio
import httpx
import lxml.html
from markdownify import markdownify
from protego import Protego
from readability import Document

from marketing_agent.agent.tools._base import ToolFailed
from marketing_agent.netguard import AllowList, BlockedAddressError, Resolver, check_url, guarded_transport

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = 15.0
USER_AGENT = "marketing-agent/0.1 (+https://github.com/marketing-agent; research fetcher)"
ROBOTS_AGENT = "marketing-agent"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str  # after redirects
    status: int
    content_type: str
    bytes: int
    markdown: str


class WebFetcher:
    """Fetches pages for one run step. ``resolver`` is for tests that map names to addresses."""

    def __init__(
        self,
        allow: AllowList,
        *,
        resolver: Resolver | None = None,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._allow = allow
        self._resolver = resolver
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._robots: dict[str, Protego | None] = {}  # origin → rules; None: everything disallowed

    async def fetch(self, url: str) -> FetchedPage:
        """The page at ``url``, or :class:`ToolFailed` / :class:`BlockedAddressError` saying why not."""
        started = time.perf_counter()
        try:
            with anyio.fail_after(self._timeout):
                async with httpx.AsyncClient(
                    transport=guarded_transport(self._allow, resolver=self._resolver),
                    headers={"User-Agent": USER_AGENT},
                    timeout=self._timeout,
                    follow_redirects=False,
                ) as client:
                    page = await self._follow(client, url)
        except TimeoutError as exc:
            raise ToolFailed(f"timed out after {self._timeout:.0f} s fetching {url}") from exc
        except httpx.HTTPError as exc:
            raise ToolFailed(f"could not fetch {url}: {type(exc).__name__}: {exc}") from exc
        logger.info(
            "web_fetch url=%s status=%d bytes=%d time=%.2fs", page.url, page.status, page.bytes,
            time.perf_counter() - started,
        )  # fmt: skip
        return page

    async def _follow(self, client: httpx.AsyncClient, url: str) -> FetchedPage:
        current = url.strip()
        for _hop in range(MAX_REDIRECTS + 1):
            await check_url(current, self._allow, resolver=self._resolver)
            await self._check_robots(client, current)
            async with client.stream("GET", current) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                return await self._read(response, current)
        raise ToolFailed(f"more than {MAX_REDIRECTS} redirects starting at {url}")

    async def _read(self, response: httpx.Response, url: str) -> FetchedPage:
        if response.status_code >= 400:
            raise ToolFailed(f"HTTP {response.status_code} for {url}", details={"status": response.status_code})
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in _HTML_TYPES | _TEXT_TYPES:
            raise ToolFailed(
                f"{url} is {content_type or 'of no stated type'}; web_fetch reads only HTML and plain-text pages",
                details={"status": response.status_code},
            )
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise ToolFailed(f"{url} is {int(declared)} bytes, more than the {self._max_bytes}-byte limit")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise ToolFailed(f"{url} is larger than the {self._max_bytes}-byte limit; not read")
        text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
        markdown = html_to_markdown(text, url) if content_type in _HTML_TYPES else text
        return FetchedPage(
            url=url, status=response.status_code, content_type=content_type, bytes=len(body), markdown=markdown
        )

    async def _check_robots(self, client: httpx.AsyncClient, url: str) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = await self._load_robots(client, origin)
        rules = self._robots[origin]
        if rules is None:
            raise ToolFailed(f"{origin}/robots.txt could not be read, so the site is treated as disallowed")
        if not rules.can_fetch(url, ROBOTS_AGENT):
            raise ToolFailed(f"{url} is disallowed by {origin}/robots.txt")

    async def _load_robots(self, client: httpx.AsyncClient, origin: str) -> Protego | None:
        try:
            response = await client.get(f"{origin}/robots.txt")
        except BlockedAddressError:
            raise
        except httpx.HTTPError:
            return None
        if 400 <= response.status_code < 500 or response.status_code in _REDIRECTS:
            return Protego.parse("")  # no robots.txt: everything allowed
        if response.status_code >= 500:
            return None
        return Protego.parse(response.content[: 512 * 1024].decode("utf-8", errors="replace"))


def html_to_markdown(page: str, url: str) -> str:
    """The page's facts (title, meta, outline) then its main content as markdown."""
    if not page.strip():
        return ""
    try:
        tree = lxml.html.fromstring(page)
    except (ValueError, lxml.etree.ParserError):
        return ""
    facts = [f"URL: {url}"]
    title = " ".join((tree.findtext(".//title") or "").split())
    facts.append(f"Title: {title or '(none)'}")
    for label, xpath in (
        ("Meta description", "//meta[@name='description']/@content"),
        ("Meta robots", "//meta[@name='robots']/@content"),
        ("Canonical", "//link[@rel='canonical']/@href"),
    ):
        values = tree.xpath(xpath)
        facts.append(f"{label}: {str(values[0]).strip() if values else '(none)'}")
    for level in ("h1", "h2"):
        headings = [" ".join(h.text_content().split()) for h in tree.iter(level)]
        facts.append(f"{level.upper()}: " + (" | ".join(h for h in headings if h) or "(none)"))
    try:
        main = Document(page).summary(html_partial=True)
    except Exception:  # readability raises its own Unparseable and lxml errors on odd pages
        main = page
    body = markdownify(main, heading_style="ATX", strip=["img", "script", "style"]).strip()
    lines = [line.rstrip() for line in body.splitlines()]
    cleaned = "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1]))
    return "\n".join(facts) + "\n\n---\n\n" + cleaned
