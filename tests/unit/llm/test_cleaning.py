"""Output cleaning: chat wrapping off, markdown normalised, real copy untouched."""

from __future__ import annotations

import pytest

from marketing_agent.agent.cleaning import clean_output, normalize_markdown

BODY = "# Homepage copy\n\n## Headline\n\nShip your newsletter in minutes.\n"


@pytest.mark.parametrize(
    "preamble",
    [
        "Sure! Here's the homepage copy for Acme:",
        "Certainly, here is what you asked for.",
        "Of course! Below is a draft.",
        "Here's the homepage copy you requested:",
        "Here is your press release:",
        "I've written three headline options for you.",
        "Great question! Here's a plan:",
        "**Sure, here's the copy:**",
    ],
)
def test_preambles_are_cut(preamble: str) -> None:
    assert clean_output(f"{preamble}\n\n{BODY}") == BODY


@pytest.mark.parametrize(
    "coda",
    [
        "Let me know if you'd like any changes!",
        "I hope this helps!",
        "Hope this helps. Good luck with the launch!",
        "Feel free to ask for another version.",
        "If you'd like, I can also write the email sequence.",
        "Would you like me to adapt it for LinkedIn?",
        "I'd be happy to adjust the tone.",
    ],
)
def test_codas_are_cut(coda: str) -> None:
    assert clean_output(f"{BODY}\n{coda}") == BODY


def test_preamble_rule_and_coda_together() -> None:
    text = "Sure thing! Here's the copy:\n\n---\n\n" + BODY + "\n---\n\nLet me know what you think!\n"
    assert clean_output(text) == BODY


def test_copy_that_starts_with_here_is_kept() -> None:
    text = "Here's what makes Acme different.\n\nWe ship weekly.\n"
    assert clean_output(text) == text


def test_a_heading_or_list_is_never_treated_as_small_talk() -> None:
    text = "## Sure-fire headlines\n\n- Let me know your goals, we'll do the rest\n"
    assert clean_output(text) == text


def test_the_only_paragraph_is_kept_even_when_it_looks_like_small_talk() -> None:
    assert clean_output("Sure, done.") == "Sure, done.\n"


def test_a_wrapping_markdown_fence_is_removed() -> None:
    assert clean_output(f"```markdown\n{BODY}```") == BODY


def test_markdown_is_normalised() -> None:
    raw = "# Title   \n## Section\r\n* one\n+ two\n• three\n\n\n\nText.  \n### End"
    assert normalize_markdown(raw) == "# Title\n\n## Section\n\n- one\n- two\n- three\n\nText.\n\n### End\n"


def test_code_fences_are_copied_verbatim() -> None:
    raw = "# Code\n\n```python\n* not a bullet  \n\n\n# not a heading\n```\n"
    assert clean_output(raw) == raw


def test_hashtags_are_not_headings() -> None:
    assert normalize_markdown("Launch day! #buildinpublic #saas") == "Launch day! #buildinpublic #saas\n"


def test_bold_text_at_line_start_is_not_a_bullet() -> None:
    assert normalize_markdown("**Bold** claim") == "**Bold** claim\n"


def test_empty_output_stays_empty() -> None:
    assert clean_output("  \n\n ") == ""
