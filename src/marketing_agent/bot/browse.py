"""Browsing the skills in the chat: categories first, then a category's skills, eight a page.

``/skills`` answers with one button per category that has skills (in ``SkillCategory`` order, then "Other"
for skills written without a category); a category button turns the same message into that category's
first page; a skill button shows the skill. Every step edits the one message, so the chat does not fill up,
and the buttons carry all the state (see ``callbacks``), so nothing is kept between updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from marketing_agent.agent.skill import SkillCategory
from marketing_agent.bot import callbacks
from marketing_agent.bot.backend import SkillSummary

SKILLS_PER_PAGE = 8
# The group of skills without a category; not a SkillCategory value, so it cannot clash with one.
OTHER = "other"
OTHER_LABEL = "Other"


@dataclass(frozen=True, slots=True)
class SkillGroup:
    key: str  # a SkillCategory value or OTHER; what the buttons carry
    label: str
    skills: tuple[SkillSummary, ...]  # sorted by name

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.skills) // SKILLS_PER_PAGE))

    def page(self, number: int) -> tuple[SkillSummary, ...]:
        return self.skills[number * SKILLS_PER_PAGE : (number + 1) * SKILLS_PER_PAGE]

    def clamp(self, number: int) -> int:
        """A page that exists: an old button may point past the end after skills were removed."""
        return min(max(number, 0), self.pages - 1)


def group_skills(skills: Sequence[SkillSummary]) -> list[SkillGroup]:
    """The non-empty groups in browsing order."""
    by_key: dict[str, list[SkillSummary]] = {}
    for skill in skills:
        by_key.setdefault(skill.category.value if skill.category else OTHER, []).append(skill)
    ordered = [(c.value, c.label) for c in SkillCategory] + [(OTHER, OTHER_LABEL)]
    return [
        SkillGroup(key, label, tuple(sorted(by_key[key], key=lambda s: s.name)))
        for key, label in ordered
        if by_key.get(key)
    ]


def find_group(groups: Sequence[SkillGroup], key: str) -> SkillGroup | None:
    return next((g for g in groups if g.key == key), None)


def categories_keyboard(groups: Sequence[SkillGroup]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(f"{g.label} · {len(g.skills)}", callback_data=callbacks.skill_category_page(g.key, 0))
        for g in groups
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def category_keyboard(group: SkillGroup, page: int) -> InlineKeyboardMarkup:
    shown = group.page(page)
    rows = [
        [InlineKeyboardButton(s.name, callback_data=callbacks.skill_detail(s.name)) for s in shown[i : i + 2]]
        for i in range(0, len(shown), 2)
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("‹ Previous", callback_data=callbacks.skill_category_page(group.key, page - 1)))
    if page + 1 < group.pages:
        nav.append(InlineKeyboardButton("Next ›", callback_data=callbacks.skill_category_page(group.key, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton("« Categories", callback_data=callbacks.SKILL_CATEGORIES)])
    return InlineKeyboardMarkup(rows)
