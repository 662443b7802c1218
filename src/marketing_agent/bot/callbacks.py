"""Callback data for inline buttons: short, typed, and always within Telegram's 64-byte limit.

Formats (``<id>`` are run or output ids, UUIDs as text):

- ``sc``                    /skills: the categories
- ``sc:<category>:<page>`` /skills: a page of one category's skills (``other`` for the uncategorised)
- ``sp:<page>``            buttons of the flat list before categories; now shows the categories
- ``sk:<skill token>``     /skills: show one skill
- ``fr:<skill token>``     free text: run this skill on the message the question replies to
- ``o:<run id>``           get the full output
- ``rt:<output id>:<1-5>`` rate an output
- ``n``                    a button that only acknowledges (e.g. "You rated 4/5")
- ``wr:<a|v|j>:<workflow run id, 32 hex>:<stage position>``  review a workflow stage: approve, revise, reject

Free text is never put in callback data: the question is sent as a reply to the user's message, and
Telegram hands that message back with the button press. So the bot keeps no state between updates and
several webhook replicas can serve one bot.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

MAX_BYTES = 64


class CallbackDataTooLong(ValueError):
    pass


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise CallbackDataTooLong(f"callback data of {len(data.encode())} bytes (max {MAX_BYTES})")
    return data


def skill_token(name: str) -> str:
    """The skill's name when it fits beside the longest prefix, else a short hash of it."""
    if len(name.encode()) <= MAX_BYTES - 4:
        return name
    return "#" + hashlib.sha256(name.encode()).hexdigest()[:16]


def resolve_skill_token(token: str, names: Iterable[str]) -> str | None:
    for name in names:
        if skill_token(name) == token:
            return name
    return None


SKILL_CATEGORIES = "sc"


def skill_category_page(category: str, page: int) -> str:
    """``category`` is a ``SkillCategory`` value or ``browse.OTHER``; it never holds a ':'."""
    return _checked(f"sc:{category}:{page}")


def skill_detail(name: str) -> str:
    return _checked(f"sk:{skill_token(name)}")


def free_text_run(name: str) -> str:
    return _checked(f"fr:{skill_token(name)}")


def full_output(run_id: str) -> str:
    return _checked(f"o:{run_id}")


def rating(output_id: str, score: int) -> str:
    if not 1 <= score <= 5:
        raise ValueError("a rating is 1 to 5")
    return _checked(f"rt:{output_id}:{score}")


STAGE_REVIEW = "wr"
#: Review buttons: one letter per decision, so id and stage position fit in 64 bytes.
REVIEW_LETTERS = {"approve": "a", "revise": "v", "reject": "j"}
_REVIEW_DECISIONS = {letter: decision for decision, letter in REVIEW_LETTERS.items()}


def stage_review(decision: str, workflow_run_id: str, position: int) -> str:
    return _checked(f"wr:{REVIEW_LETTERS[decision]}:{workflow_run_id.replace('-', '')}:{position}")


def revision_marker(workflow_run_id: str, position: int) -> str:
    """Written into the "what should change?" question; the user's reply brings it back with the notes."""
    return f"ref wr:{workflow_run_id.replace('-', '')}:{position}"


_REVISION_REF = re.compile(r"ref wr:([0-9a-f]{32}):(\d{1,3})")


def revision_ref(text: str) -> tuple[str, int] | None:
    """(workflow run id, stage position) of a revision question, from its text; None for other messages."""
    found = _REVISION_REF.search(text)
    if found is None:
        return None
    return str(uuid.UUID(hex=found.group(1))), int(found.group(2))


NOOP = "n"


@dataclass(frozen=True, slots=True)
class Callback:
    action: str  # sc | sp | sk | fr | o | rt | n | wr
    value: str = ""
    score: int = 0  # the rating; for ``wr`` the stage position
    page: int = 0
    decision: str = ""  # ``wr``: approve | revise | reject


def parse(data: str) -> Callback | None:
    """The button's meaning; None for data this bot never made (old or forged buttons)."""
    action, _, rest = data.partition(":")
    if action == NOOP and not rest:
        return Callback(NOOP)
    if action == SKILL_CATEGORIES and not rest:
        return Callback(action)
    if action == SKILL_CATEGORIES:
        category, _, page = rest.partition(":")
        if category and page.isdigit():
            return Callback(action, category, page=int(page))
    if action == "sp" and rest.isdigit():
        return Callback(action, rest)
    if action in ("sk", "fr", "o") and rest:
        return Callback(action, rest)
    if action == "wr":
        letter, _, tail = rest.partition(":")
        run_hex, _, position = tail.partition(":")
        decision = _REVIEW_DECISIONS.get(letter)
        if decision and len(run_hex) == 32 and position.isdigit():
            try:
                run_id = str(uuid.UUID(hex=run_hex))
            except ValueError:
                return None
            return Callback(action, run_id, score=int(position), decision=decision)
        return None
    if action == "rt":
        output_id, _, score = rest.rpartition(":")
        if output_id and score in {"1", "2", "3", "4", "5"}:
            return Callback(action, output_id, int(score))
    return None
