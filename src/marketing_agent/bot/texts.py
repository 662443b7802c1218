"""What the bot says, in Telegram HTML. Every piece of user, model or backend text goes through
``escape_html``; fixed text here contains no markup characters except our own tags."""

from __future__ import annotations

from collections.abc import Sequence

from marketing_agent.bot.backend import LinkedUser, RunSummary, SkillSummary
from marketing_agent.bot.browse import SkillGroup
from marketing_agent.notify.telegram_format import escape_html, truncate

INTRO = (
    "<b>Marketing agent</b>\n"
    "I run marketing skills for you — homepage copy, e-mail sequences, SEO audits, launch plans and more — "
    "and bring the result back here, where you can rate it."
)

LINK_PROMPT = (
    "This chat is not linked to an account yet.\n"
    "Send <code>/link YOUR_API_KEY</code> to link it (I delete that message right away)."
)

HELP = (
    "<b>Commands</b>\n"
    "/skills — browse the skills by category\n"
    "/run <i>skill</i> <i>message</i> — run a skill, e.g. <code>/run copywriting Homepage for a CRM</code>\n"
    "/status — your recent runs\n"
    "/unlink — disconnect this chat\n"
    "/help — this list\n\n"
    "Or just describe what you need and pick a skill."
)

RUN_USAGE = "Usage: <code>/run skill message</code> — /skills lists the skill names."
LINK_PRIVATE_ONLY = (
    "Link only in a private chat with me: in a group, everyone would see your key and your results."
    " If you sent a key here, revoke it."
)
LINK_USAGE = "Usage: <code>/link YOUR_API_KEY</code>"
LINK_FAILED = "That API key is not valid. Check it and send <code>/link YOUR_API_KEY</code> again."
KEY_NOT_DELETED = "I could not delete your message with the key: please delete it yourself."
UNLINKED = "This chat is unlinked. Send <code>/link YOUR_API_KEY</code> to link it again."
NOT_LINKED = "This chat was not linked."
NO_SUGGESTION = "I could not tell which skill fits. /skills lists them, or use <code>/run skill message</code>."
CHOOSE_SKILL = "Which skill should handle this?"
ORIGINAL_GONE = "I can no longer see your original message: please send it again."
INTERNAL_ERROR = "Something went wrong on our side; please try again in a moment."
EMPTY_OUTPUT = "This run's output is empty."
NO_RUNS = "No runs yet. Try /skills or <code>/run skill message</code>."


def linked(user: LinkedUser) -> str:
    who = f" to <b>{escape_html(user.email)}</b>" if user.email else ""
    return f"Linked{who}. Results of runs you start here will come back to this chat.\n\n{HELP}"


def working(skill: str) -> str:
    return f"⏳ Working on <b>{escape_html(skill)}</b>… I will update this message when it is done."


def run_refused(skill: str, reason: str) -> str:
    return f"❌ Could not start <b>{escape_html(skill)}</b>: {escape_html(reason)}"


def skill_categories(groups: Sequence[SkillGroup]) -> str:
    if not groups:
        return "<b>Skills</b>\n\nNo skills are installed."
    total = sum(len(g.skills) for g in groups)
    lines = [f"<b>Skills</b> — {total} in {len(groups)} categories. Pick one:\n"]
    for group in groups:
        names = ", ".join(s.name for s in group.skills)
        lines.append(f"<b>{escape_html(group.label)}</b> ({len(group.skills)}): {escape_html(truncate(names, 200))}")
    return "\n".join(lines)


def skill_category_page(group: SkillGroup, page: int) -> str:
    lines = [f"<b>{escape_html(group.label)}</b> ({page + 1}/{group.pages})"]
    for skill in group.page(page):
        lines.append(f"\n<b>{escape_html(skill.name)}</b> — {escape_html(truncate(skill.description, 140))}")
    return "\n".join(lines)


def skill_detail(skill: SkillSummary) -> str:
    return (
        f"<b>{escape_html(skill.name)}</b>\n{escape_html(truncate(skill.description, 1000))}\n\n"
        f"Run it: <code>/run {escape_html(skill.name)} your request</code>"
    )


_STATUS_ICON = {"queued": "🕒", "running": "⏳", "completed": "✅", "failed": "❌", "cancelled": "⏹"}


def status(runs: Sequence[RunSummary]) -> str:
    if not runs:
        return NO_RUNS
    lines = ["<b>Recent runs</b>"]
    for run in runs:
        icon = _STATUS_ICON.get(run.status, "•")
        when = f" · {run.queued_at:%b %d %H:%M} UTC" if run.queued_at else ""
        line = f"{icon} <b>{escape_html(run.skill)}</b> — {escape_html(run.status)}{when}"
        if run.title:
            line += f"\n    {escape_html(truncate(run.title, 80))}"
        if run.error:
            line += f"\n    {escape_html(truncate(run.error, 160))}"
        lines.append(line)
    return "\n".join(lines)


_DECIDED = {"approve": "Approved", "revise": "Revision asked", "reject": "Rejected"}


def reviewed(stage: str, decision: str) -> str:
    return f"{_DECIDED.get(decision, decision)}: {stage}"  # plain text (button labels, answers)


def revision_question(marker: str) -> str:
    """Plain text (sent without parse mode): reply with the notes; the marker says which stage."""
    return f"What should change? Reply to this message with your notes for the revision.\n({marker})"


def review_refused(reason: str) -> str:
    return f"❌ Could not record the review: {escape_html(reason)}"
