"""Making a model's answer a clean deliverable, and checking it against the skill's format.

Chat models wrap deliverables in small talk ("Sure! Here's your homepage copy:" … "Let me know if you'd
like changes!"). Those lines are cut by patterns on the *output text* — the only text we have — and only
when they are short, stand alone as the first or last paragraph, and are not headings or list items, so
real copy that happens to start with "Here's" survives. The markdown is then normalised so every output
reads the same: no trailing spaces, one blank line around headings, ``-`` list markers, one final newline;
fenced code blocks are left exactly as written.

Fences follow markdown's rule: a block opened by three or more backticks (or tildes) closes only at a line of
the same character at least as long. Skills whose answers hold code (``schema-markup``'s JSON-LD) show
their template in a four-backtick fence, and a model that copies that wrapper must still be read right.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

_PREAMBLE_CHARS = 300
_CODA_CHARS = 400

_ALWAYS_PREAMBLE = re.compile(
    r"^(?:sure|certainly|of course|absolutely|okay|ok|great(?: question)?|happy to help|no problem)"
    r"(?:\s*[,!.:]|\s+(?:thing|here|thanks|—|-))",
    re.IGNORECASE,
)
_ANNOUNCING = re.compile(
    r"^(?:here(?:'s|’s| is| are)|below (?:is|are)|i(?:'ve|’ve| have) (?:written|created|drafted|prepared|put "
    r"together)|i(?:'ll|’ll| will) (?:write|create|draft))\b",
    re.IGNORECASE,
)
_ADDRESSED = re.compile(r"\b(?:you (?:asked|requested)|as requested|for you)\b", re.IGNORECASE)
_CODA = re.compile(
    r"^(?:let me know|i hope (?:this|that|these) (?:helps?|works?|is)|hope (?:this|that) helps|feel free"
    r"|if you(?:'d|’d| would)? (?:like|want|need)|would you like|do you want me|shall i|i(?:'d|’d| would) be "
    r"happy|happy to (?:help|adjust|revise|tweak)|good luck|i can also)\b",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_BULLET = re.compile(r"^(\s*)[*+•][ \t]+")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_WRAPPING_FENCE = re.compile(r"\A(`{3,}|~{3,})(?:markdown|md)?[ \t]*\n(.*)\n\1[ \t]*\Z", re.DOTALL | re.IGNORECASE)
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_BLANK_LINES = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")


def clean_output(text: str) -> str:
    """The deliverable without chat wrapping, with normalised markdown and one final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    unwrapped = _WRAPPING_FENCE.match(text)
    if unwrapped:
        text = unwrapped.group(2).strip()
    # Paragraphs at even indexes, the exact separators between them at odd ones, so that what stays
    # (code blocks included) is rejoined byte for byte.
    pieces = _BLANK_LINES.split(text)
    while len(pieces) > 1 and (_RULE.match(pieces[0]) or _is_preamble(pieces[0])):
        pieces = pieces[2:]
    while len(pieces) > 1 and (_RULE.match(pieces[-1]) or _is_coda(pieces[-1])):
        pieces = pieces[:-2]
    return normalize_markdown("".join(pieces))


def _is_prose(paragraph: str) -> bool:
    """Not a heading, list, table, quote or code: small talk is always plain prose."""
    return not re.match(r"(?:#|[-*+•]\s|\d+[.)]\s|\||>|```|~~~)", paragraph.lstrip())


def _bare(paragraph: str) -> str:
    return paragraph.strip().strip("*_").strip()


def _is_preamble(paragraph: str) -> bool:
    line = _bare(paragraph)
    if len(line) > _PREAMBLE_CHARS or not _is_prose(paragraph):
        return False
    if _ALWAYS_PREAMBLE.match(line):
        return True
    return bool(_ANNOUNCING.match(line)) and (line.endswith(":") or bool(_ADDRESSED.search(line)))


def _is_coda(paragraph: str) -> bool:
    line = _bare(paragraph)
    return len(line) <= _CODA_CHARS and _is_prose(paragraph) and bool(_CODA.match(line))


def _fence_after(line: str, fence: str | None) -> str | None:
    """The fence open after ``line`` (its opening marker, e.g. "````"), given the one open before it."""
    match = _FENCE.match(line)
    if match is None:
        return fence
    marker, rest = match.group(1), match.group(2)
    if fence is None:
        # An info string ("json") may follow an opening marker; a backtick fence's may not hold backticks.
        return None if marker[0] == "`" and "`" in rest else marker
    closes = marker[0] == fence[0] and len(marker) >= len(fence) and not rest.strip()
    return None if closes else fence


def normalize_markdown(text: str) -> str:
    """Trailing spaces off, ``-`` bullets, one blank line around headings and between blocks, a final
    newline. Code fences are copied verbatim."""
    out: list[str] = []
    fence: str | None = None
    for raw in text.split("\n"):
        after = _fence_after(raw, fence)
        if fence is not None or after is not None:
            delimiter = fence is None or after is None  # the line opens or closes the block
            out.append(raw.rstrip() if delimiter else raw)
            fence = after
            continue
        line = raw.rstrip()
        heading = _HEADING.match(line)
        if heading:
            if out and out[-1] != "":
                out.append("")
            out.append(f"{heading.group(1)} {heading.group(2)}")
            out.append("")
            continue
        line = _BULLET.sub(lambda m: f"{m.group(1)}- ", line)
        if line == "" and (not out or out[-1] == ""):
            continue  # collapse runs of blank lines (and drop leading ones)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


# --- the format check ------------------------------------------------------------------------------
def headings(text: str) -> list[str]:
    """The text of every markdown heading outside code fences."""
    found: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        after = _fence_after(line, fence)
        if fence is None and after is None and (match := _HEADING.match(line.rstrip())):
            found.append(match.group(2))
        fence = after
    return found


def heading_key(text: str) -> str:
    """A heading reduced to its words: level, numbering, emphasis, punctuation and case do not matter."""
    text = re.sub(r"^#{1,6}\s*", "", text.strip())
    text = re.sub(r"^(?:\d+[.)]|[ivx]+\.)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"[*_`]", "", text)
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def check_format(text: str, *, required_sections: Sequence[str] = (), output_format: str | None = None) -> list[str]:
    """Warnings (never failures) where the output does not follow the skill's format."""
    warnings: list[str] = []
    if not text.strip():
        return ["the model returned no text"]
    fmt = (output_format or "").strip().lower()
    if fmt == "json":
        try:
            json.loads(text)
        except ValueError:
            warnings.append("output_format is json but the output is not valid JSON")
        return warnings
    present = {heading_key(h) for h in headings(text)}
    for section in required_sections:
        key = heading_key(section)
        if key and key not in present:
            warnings.append(f"missing required section: {section.strip()}")
    if fmt == "markdown" and not present and required_sections:
        warnings.append("output_format is markdown but the output has no headings")
    return warnings


def derive_title(text: str, fallback: str, *, max_chars: int = 200) -> str:
    """The first heading's text, else ``fallback``; plain text, at most ``max_chars``."""
    found = headings(text)
    title = re.sub(r"[*_`]", "", found[0]).strip() if found else ""
    title = title or fallback
    return title if len(title) <= max_chars else title[: max_chars - 1].rstrip() + "…"
