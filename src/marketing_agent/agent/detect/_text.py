"""Words as the detector compares them: lower-cased, stop words dropped, endings folded.

Both sides of every comparison (the request and a skill's keywords, a client's name, an output-type
phrase) go through :func:`terms`, so the folding only has to be consistent, not linguistically right.
"""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"[a-z0-9]+")
# "A/B test" is one idea; without this it becomes the words "a" and "b", and "a" is a stop word.
_AB_RE = re.compile(r"\ba\s*/\s*b\b")
# Words that say nothing about which skill is wanted. Kept short on purpose: "page", "plan", "email" and
# the like carry meaning and stay.
_STOPWORD_TEXT = (
    "a an and any are as at be been being but by can could do does for from get give got had has have help "
    "how i i'd if im in into is it its just let me my need needs of on or our ours please should so some "
    "something that the their them then there these they this those to up us use want was we what when "
    "where which who why will with would you your"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def stem(word: str) -> str:
    """Fold plurals and common endings: emails → email, strategies → strategy, pricing/price → pric."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) >= 4:
            word = word[:-1]
    # "write"/"writing" and "price"/"pricing" meet at "writ"/"pric".
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-cased words with "a/b" kept as one word ("ab"); nothing dropped or folded."""
    return _WORD_RE.findall(_AB_RE.sub(" ab ", text.lower()))


def terms(text: str) -> list[str]:
    """The comparable form of a text: stop words dropped, the rest stemmed, order kept."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def phrase_in(phrase: tuple[str, ...], text_terms: tuple[str, ...]) -> int:
    """Where the phrase's terms first occur contiguously in the text's terms, or -1."""
    n = len(phrase)
    if n == 0:
        return -1
    for i in range(len(text_terms) - n + 1):
        if text_terms[i : i + n] == phrase:
            return i
    return -1


def phrase_near(phrase: tuple[str, ...], text_terms: tuple[str, ...], slack: int = 2) -> bool:
    """All of the phrase's terms within ``len(phrase) + slack`` consecutive terms, in any order:
    "6-email onboarding sequence" still says "email sequence"."""
    n = len(phrase)
    if n < 2:
        return False
    wanted = set(phrase)
    width = n + slack
    return any(wanted <= set(text_terms[i : i + width]) for i in range(max(len(text_terms) - n + 1, 0)))
