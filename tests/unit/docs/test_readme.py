"""The README is the operator's first stop: its settings table must name every setting we read."""

from __future__ import annotations

from pathlib import Path

from marketing_agent.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    head = text[: text.index("## ")] if "## " in text else text
    assert "make up" in head
    assert "make test" in head


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"| `{name.upper()}`" not in text]
    assert missing == [], f"settings missing from README's table: {missing}"
