from __future__ import annotations

import html

import pytest

from marketing_agent.notify import Notification, NotificationKind
from marketing_agent.notify.telegram_format import (
    MESSAGE_LIMIT,
    escape_html,
    render_notification_html,
    truncate,
    utf16_len,
    visible_length,
)
from support.fake_telegram import parse_html


def test_escape_html_escapes_markup_and_quotes() -> None:
    assert escape_html('<b>Tom & "Jerry"</b>') == "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("🚀") == 2


def test_truncate_keeps_short_text_and_ends_cut_text_with_ellipsis() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("word " * 50, 20)
    assert utf16_len(cut) <= 20
    assert cut.endswith("…")


def test_truncate_never_splits_a_surrogate_pair() -> None:
    cut = truncate("🚀" * 10, 6)
    assert cut == "🚀🚀…"


def test_rendered_notification_is_valid_telegram_html() -> None:
    message = Notification(
        kind=NotificationKind.RUN_COMPLETED,
        title="Homepage <copy> & more",
        body="Use <script> tags & ampersands",
        link="https://example.com/outputs/1?a=1&b=2",
        run_id="run_1",
        fields={"skill": "copywriting"},
    )
    markup = render_notification_html(message)
    text = parse_html(markup)  # raises like Telegram on markup it would refuse
    assert "Homepage <copy> & more" in text
    assert "Use <script> tags & ampersands" in text
    assert 'href="https://example.com/outputs/1?a=1&amp;b=2"' in markup


@pytest.mark.parametrize("body", ["<&>" * 3000, "🚀" * 5000, "plain " * 2000])
def test_rendered_notification_fits_one_message(body: str) -> None:
    message = Notification(kind=NotificationKind.ALERT, title="t", body=body, link="https://x.example")
    markup = render_notification_html(message)
    assert utf16_len(parse_html(markup)) <= MESSAGE_LIMIT
    assert html.unescape(markup).count("Open the full output") == 1


def test_visible_length_counts_what_telegram_counts() -> None:
    assert visible_length("<b>a &amp; b</b> 🚀") == len("a & b ") + 2


def test_a_markdown_preview_is_rendered_as_telegram_html() -> None:
    # Issue 17: previews showed raw markdown ("# Title", "**bold**") inside HTML-mode messages.
    body = (
        "# Launch plan\n\nShip **it** _now_ & <b>not a tag</b>, see [the docs](https://example.com/?a=1&b=2).\n\n"
        "- one\n- two\n\n1. first\n2. second\n\n> a quote\n\n```\nx < y\n```\n\n<div>raw html</div>"
    )
    message = Notification(kind=NotificationKind.RUN_COMPLETED, title="Plan", body=body, link=None)
    markup = render_notification_html(message)
    text = parse_html(markup)  # Telegram would accept it
    assert "<b>Launch plan</b>" in markup
    assert "<b>it</b> <i>now</i> &amp; &lt;b&gt;not a tag&lt;/b&gt;" in markup
    assert '<a href="https://example.com/?a=1&amp;b=2">the docs</a>' in markup
    assert "• one\n• two" in text
    assert "1. first\n2. second" in text
    assert "<blockquote>a quote</blockquote>" in markup
    assert "<pre>x &lt; y</pre>" in markup
    assert "<div>raw html</div>" in text  # shown as written, escaped
    for raw in ("# ", "**", "_now_", "```", "- one"):
        assert raw not in text


@pytest.mark.parametrize("body", ["- item\n" * 2000, "---\n\n" * 1500, "**b** " * 1500])
def test_a_rendered_markdown_preview_still_fits_one_message(body: str) -> None:
    message = Notification(kind=NotificationKind.ALERT, title="t", body=body, link="https://x.example")
    assert utf16_len(parse_html(render_notification_html(message))) <= MESSAGE_LIMIT
