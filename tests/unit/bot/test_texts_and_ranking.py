from __future__ import annotations

from datetime import UTC, datetime

from marketing_agent.bot import browse, texts
from marketing_agent.bot.backend import LinkedUser, RunSummary, SkillSummary
from marketing_agent.bot.memory import FinishedMemoryRun, InMemoryBotBackend
from marketing_agent.bot.results import completed_text, failed_text
from marketing_agent.notify.telegram_format import utf16_len
from support.fake_telegram import parse_html

SKILLS = [
    SkillSummary("copywriting", "Write marketing copy for pages.", ("homepage", "landing page")),
    SkillSummary("email-sequence", "Plan an e-mail sequence.", ()),
    SkillSummary("competitor-research", "Research competitors and their positioning.", ()),
    SkillSummary("seo-audit", "Audit a site's SEO.", ("seo",)),
]


async def test_free_text_goes_through_the_skill_detector() -> None:
    backend = InMemoryBotBackend(SKILLS)

    async def first(text: str) -> str:
        detected = await backend.detect_skill("u1", text)
        return detected.candidates[0]

    assert await first("Write our homepage") == "copywriting"
    assert await first("three onboarding emails") == "email-sequence"
    assert await first("who are our competitors?") == "competitor-research"
    assert (await backend.detect_skill("u1", "zzz")).candidates == ()
    mixed = await backend.detect_skill("u1", "seo audit of our homepage email competitors")
    assert mixed.candidates[0] == "seo-audit"  # the skill's whole name outweighs single words
    assert len(mixed.candidates) == 4
    explicit = await backend.detect_skill("u1", "seo-audit: our blog")
    assert (explicit.skill, explicit.request) == ("seo-audit", "our blog")


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
