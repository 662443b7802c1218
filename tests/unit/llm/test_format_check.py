"""The format check: warnings for what the skill's format asks and the output lacks; the title."""

from __future__ import annotations

from marketing_agent.agent.cleaning import check_format, derive_title, headings

REQUIRED = ("## Brief", "## Headline options", "## Calls to action")


def test_all_sections_present_gives_no_warning() -> None:
    text = "# Copy\n\n## Brief\n\nx\n\n## 2. Headline Options:\n\nx\n\n### **Calls to action**\n\nx\n"
    assert check_format(text, required_sections=REQUIRED, output_format="markdown") == []


def test_missing_sections_are_warnings() -> None:
    text = "# Copy\n\n## Brief\n\nx\n"
    assert check_format(text, required_sections=REQUIRED, output_format="markdown") == [
        "missing required section: ## Headline options",
        "missing required section: ## Calls to action",
    ]


def test_a_heading_inside_a_code_block_does_not_count() -> None:
    text = "# Copy\n\n```\n## Brief\n```\n"
    assert "missing required section: ## Brief" in check_format(text, required_sections=("## Brief",))


def test_markdown_without_any_heading_is_flagged() -> None:
    warnings = check_format("Just prose.\n", required_sections=("## Brief",), output_format="markdown")
    assert "output_format is markdown but the output has no headings" in warnings


def test_json_format_is_parsed() -> None:
    assert check_format('{"posts": []}\n', output_format="json") == []
    assert check_format("not json\n", output_format="json") == [
        "output_format is json but the output is not valid JSON"
    ]


def test_empty_output_is_flagged() -> None:
    assert check_format("", required_sections=REQUIRED) == ["the model returned no text"]


def test_title_is_the_first_heading() -> None:
    assert derive_title("Intro\n\n# **Acme** homepage\n\n## Brief\n", "fallback") == "Acme homepage"
    assert headings("# A\n\n```\n# B\n```\n## C\n") == ["A", "C"]


def test_title_falls_back_and_is_bounded() -> None:
    assert derive_title("No headings here.\n", "copywriting for acme") == "copywriting for acme"
    long = derive_title("# " + "x" * 300 + "\n", "f")
    assert len(long) == 200
    assert long.endswith("…")
