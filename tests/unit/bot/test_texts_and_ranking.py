from __future__ import annotations

from datetime import UTC, datetime

from marketing_agent.bot import browse, texts
from marketing_agent.bot.backend import LinkedUser, RunSummary, SkillSummary, rank_skills
from marketing_agent.bot.memory import FinishedMemoryRun
from marketing_agent.bot.results import completed_text, failed_text
from marketing_agent.notify.telegram_format import utf16_len
from support.fake_telegram import parse_html

SKILLS = [
    SkillSummary("copywriting", "Write marketing copy for pages.", ("homepage", "landing page")),
    SkillSummary("email-sequence", "Plan an e-mail sequence.", ()),
    SkillSummary("competitor-research", "Research competitors and their positioning.", ()),
    SkillSummary("seo-audit", "Audit a site's SEO.", ("seo",)),
]


def test_ranking_prefers_trigger_keywords_and_name_words() -> None:
    assert rank_skills("Write our homepage", SKILLS)[0].name == "copywriting"
    assert rank_skills("three onboarding emails", SKILLS)[0].name == "email-sequence"
    assert rank_skills("who are our competitors?", SKILLS)[0].name == "competitor-research"
    assert rank_skills("zzz", SKILLS) == []
    assert len(rank_skills("seo audit of our homepage email competitors", SKILLS, limit=2)) == 2


def test_every_text_is_valid_telegram_html() -> None:
    hostile = SkillSummary("a<b>", "desc with <script> & </i> " * 20)
    samples = [
        texts.INTRO,
        texts.LINK_PROMPT,
        texts.HELP,
        texts.RUN_USAGE,
        texts.linked(LinkedUser("u", "<x>@example.com")),
        texts.working("<skill>"),
        texts.run_refused("s", "bad <input> & more"),
        texts.skill_categories(browse.group_skills([hostile] * 10)),
        texts.skill_category_page(browse.group_skills([hostile] * 10)[0], 1),
        texts.skill_detail(hostile),
        texts.status([RunSummary("r", "<s>", "failed", datetime.now(UTC), "<t>", "<e> & f")]),
        completed_text(FinishedMemoryRun("r", "u", "s<", "completed", "<T>", "<p>" * 3000, "o")),
        failed_text(FinishedMemoryRun("r", "u", "s", "failed", error="<&>" * 1000)),
    ]
    for markup in samples:
        assert utf16_len(parse_html(markup)) <= 4096


def test_completed_text_shows_title_preview_and_prompt() -> None:
    run = FinishedMemoryRun("r", "u", "copywriting", "completed", "Title & <co>", "Preview <here>", "o")
    assert parse_html(completed_text(run)) == ("✅ Title & <co>\ncopywriting\n\nPreview <here>\n\nRate this output:")
