"""Telegram text in HTML parse mode: escaping, length limits and splitting.

We use HTML rather than MarkdownV2 because its escaping is three characters (``& < >``) instead of
eighteen, which leaves far less room for a message Telegram refuses with "can't parse entities".
Telegram counts a message's length in UTF-16 code units *after* parsing the markup; the helpers here
count the same way so an emoji-heavy text never overshoots.
"""

from __future__ import annotations

import html

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
    preview = truncate(message.body.strip(), max(limit - fixed, 0))
    body = f"\n\n{escape_html(preview)}" if preview else ""
    return head + fields + body + link


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
