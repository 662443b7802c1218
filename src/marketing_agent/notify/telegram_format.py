"""Telegram text in HTML parse mode: escaping, length limits and splitting.

We use HTML rather than MarkdownV2 because its escaping is three characters (``& < >``) instead of
eighteen, which leaves far less room for a message Telegram refuses with "can't parse entities".
Telegram counts a message's length in UTF-16 code units *after* parsing the markup; the helpers here
count the same way so an emoji-heavy text never overshoots.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from marketing_agent.notify._message import Notification

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"


def escape_html(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (quotes too, so it is safe inside attributes)."""
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int) -> str:
    """Cut plain text to at most ``limit`` UTF-16 units, ending with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for char in text:
        size = utf16_len(char)
        if used + size > budget:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + ELLIPSIS


def visible_length(markup: str) -> int:
    """What Telegram counts against its limits: the text once tags are removed and entities decoded."""
    return utf16_len(html.unescape(_strip_tags(markup)))


def render_notification_html(message: Notification, *, limit: int = MESSAGE_LIMIT) -> str:
    """A notification as Telegram HTML: bold title, fields, preview, then a link to the full output."""
    head = f"<b>{escape_html(truncate(message.title, 256))}</b>"
    fields = "".join(
        f"\n<i>{escape_html(name)}:</i> {escape_html(truncate(value, 200))}" for name, value in message.fields.items()
    )
    link = ""
    if message.link:
        link = f'\n\n<a href="{escape_html(message.link)}">Open the full output</a>'
    # The preview gets what is left; escaping only adds markup that Telegram strips before counting,
    # so counting the plain text against the remaining budget is exact enough and never over.
    fixed = visible_length(head + fields + link) + 2
    budget = max(limit - fixed, 0)
    while True:
        preview = truncate(message.body.strip(), budget)
        body = f"\n\n{markdown_to_telegram_html(preview)}" if preview else ""
        # Rendering changes the visible length a little (list bullets, rules): cut more if it overshot.
        overshoot = visible_length(head + fields + body + link) - limit
        if overshoot <= 0 or budget == 0:
            return head + fields + body + link
        budget = max(budget - overshoot, 0)


# CommonMark plus strikethrough; no raw HTML (a ``<tag>`` in the text is shown, escaped, as written).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
#: Inline markup with a Telegram HTML equivalent (its subset: b, i, s, code, pre, a, blockquote).
_INLINE_TAGS = {"strong": "b", "em": "i", "s": "s"}


def markdown_to_telegram_html(text: str) -> str:
    """Markdown (an output preview) as Telegram's HTML subset: headings and bold as ``<b>``, emphasis as
    ``<i>``, links as ``<a>``, code as ``<code>``/``<pre>``, lists as bullet or numbered lines, quotes as
    ``<blockquote>``. Everything else — raw HTML included — is escaped text, so Telegram never refuses it."""
    out: list[str] = []
    lists: list[list[int]] = []  # per open list: [next number] (ordered) or [] (bullets)
    for token in _MARKDOWN.parse(text):
        kind = token.type
        if kind == "heading_open":
            out.append("<b>")
        elif kind == "heading_close":
            out.append("</b>\n\n")
        elif kind == "paragraph_close":
            out.append("\n" if lists else "\n\n")
        elif kind == "bullet_list_open":
            lists.append([])
        elif kind == "ordered_list_open":
            lists.append([int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                out.append("\n")
        elif kind == "list_item_open" and lists:
            indent = "  " * (len(lists) - 1)
            numbers = lists[-1]
            if numbers:
                out.append(f"{indent}{numbers[0]}. ")
                numbers[0] += 1
            else:
                out.append(f"{indent}• ")
        elif kind == "blockquote_open":
            out.append("<blockquote>")
        elif kind == "blockquote_close":
            out.append(_trim_end(out) + "</blockquote>\n\n")
        elif kind in ("fence", "code_block"):
            out.append(f"<pre>{escape_html(token.content.rstrip())}</pre>\n\n")
        elif kind == "hr":
            out.append("——————\n\n")
        elif kind == "html_block":
            out.append(escape_html(token.content) + "\n")
        elif kind == "inline":
            out.append(_inline(token.children or []))
    return "".join(out).strip()


def _trim_end(out: list[str]) -> str:
    """Drop the blank lines the quote's last paragraph left, so the closing tag follows its text."""
    while out and not out[-1].strip():
        out.pop()
    if out:
        out[-1] = out[-1].rstrip("\n")
    return ""


def _inline(tokens: Sequence[Token]) -> str:
    out: list[str] = []
    for token in tokens:
        kind = token.type
        if kind == "text":
            out.append(escape_html(token.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"<code>{escape_html(token.content)}</code>")
        elif kind.endswith("_open") and kind[:-5] in _INLINE_TAGS:
            out.append(f"<{_INLINE_TAGS[kind[:-5]]}>")
        elif kind.endswith("_close") and kind[:-6] in _INLINE_TAGS:
            out.append(f"</{_INLINE_TAGS[kind[:-6]]}>")
        elif kind == "link_open":
            out.append(f'<a href="{escape_html(str(token.attrGet("href") or ""))}">')
        elif kind == "link_close":
            out.append("</a>")
        elif kind == "image":
            out.append(escape_html(token.content or str(token.attrGet("src") or "")))
        elif kind == "html_inline":
            out.append(escape_html(token.content))
    return "".join(out)


def _strip_tags(markup: str) -> str:
    out: list[str] = []
    inside = False
    for char in markup:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)
