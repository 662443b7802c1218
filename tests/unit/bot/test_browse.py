"""Grouping skills for /skills: category order, "Other" last, eight a page, stale pages clamped."""

from __future__ import annotations

from marketing_agent.agent.skill import SkillCategory
from marketing_agent.bot import browse, callbacks
from marketing_agent.bot.backend import SkillSummary


def _skill(name: str, category: SkillCategory | None) -> SkillSummary:
    return SkillSummary(name, f"The {name} skill.", (), category)


def _buttons(markup: object) -> list[tuple[str, str]]:
    rows = getattr(markup, "inline_keyboard", ())
    return [(b.text, str(b.callback_data)) for row in rows for b in row]


def test_groups_follow_the_category_order_with_other_last_and_skip_empty_ones() -> None:
    skills = [
        _skill("mine", None),
        _skill("seo-audit", SkillCategory.SEO),
        _skill("page-cro", SkillCategory.CRO),
        _skill("form-cro", SkillCategory.CRO),
        _skill("copywriting", SkillCategory.COPYWRITING),
    ]
    groups = browse.group_skills(skills)
    assert [(g.key, g.label) for g in groups] == [
        ("copywriting", "Copywriting"),
        ("cro", "CRO"),
        ("seo", "SEO"),
        ("other", "Other"),
    ]
    assert [s.name for s in groups[1].skills] == ["form-cro", "page-cro"]
    assert _buttons(browse.categories_keyboard(groups)) == [
        ("Copywriting · 1", "sc:copywriting:0"),
        ("CRO · 2", "sc:cro:0"),
        ("SEO · 1", "sc:seo:0"),
        ("Other · 1", "sc:other:0"),
    ]
    assert browse.group_skills([]) == []


def test_a_category_is_paged_eight_at_a_time() -> None:
    [group] = browse.group_skills([_skill(f"cro-{i:02}", SkillCategory.CRO) for i in range(17)])
    assert group.pages == 3
    assert [s.name for s in group.page(0)] == [f"cro-{i:02}" for i in range(8)]
    assert [s.name for s in group.page(2)] == ["cro-16"]
    assert group.clamp(7) == 2
    assert group.clamp(-1) == 0

    first = _buttons(browse.category_keyboard(group, 0))
    assert [text for text, _ in first[:8]] == [f"cro-{i:02}" for i in range(8)]
    assert first[8:] == [("Next ›", "sc:cro:1"), ("« Categories", callbacks.SKILL_CATEGORIES)]
    middle = _buttons(browse.category_keyboard(group, 1))
    assert middle[8:] == [("‹ Previous", "sc:cro:0"), ("Next ›", "sc:cro:2"), ("« Categories", "sc")]
    last = _buttons(browse.category_keyboard(group, 2))
    assert last == [("cro-16", "sk:cro-16"), ("‹ Previous", "sc:cro:1"), ("« Categories", "sc")]
    # Two skill buttons a row.
    assert [len(row) for row in browse.category_keyboard(group, 0).inline_keyboard] == [2, 2, 2, 2, 1, 1]


def test_every_category_key_round_trips_through_callback_data() -> None:
    for key in [c.value for c in SkillCategory] + [browse.OTHER]:
        parsed = callbacks.parse(callbacks.skill_category_page(key, 12))
        assert parsed == callbacks.Callback("sc", key, page=12)
