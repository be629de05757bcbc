"""Hard exclusions: a paper whose title or abstract contains an excluded term is never
included. Matching is on the raw text, case-insensitive, whole words, with the simple
English inflections of the last word (survey, surveys, surveyed, surveying; study,
studies). A stemmer is deliberately not used: it merges "agentic" with "agent", so
excluding one word would silently hide papers about another. Pure."""

from __future__ import annotations

import re
from functools import lru_cache

from newsletter.domain import Paper

_SUFFIXES = r"(?:s|es|ed|d|ing|['\u2019]s)?"
_WORD_CHAR = r"[^\W_]"


@lru_cache(maxsize=10_000)
def _pattern(term: str) -> re.Pattern[str]:
    words = term.lower().split()  # not casefold(): "ß" must not become "ss"
    head = r"\W+".join(re.escape(word) for word in words[:-1])
    last = words[-1]
    forms = [re.escape(last) + _SUFFIXES]
    if last.endswith("y") and len(last) > 2:
        forms.append(re.escape(last[:-1]) + r"(?:ies|ied)")
    if last.endswith("e") and len(last) > 2:
        forms.append(re.escape(last[:-1]) + r"(?:ing|ed)")
    tail = "(?:" + "|".join(forms) + ")"
    body = (head + r"\W+" + tail) if head else tail
    return re.compile(rf"(?<!{_WORD_CHAR}){body}(?!{_WORD_CHAR})", re.IGNORECASE)


def contains_term(text: str, term: str) -> bool:
    """Whether `text` contains `term` or a simple inflection of it, as whole words."""
    return _pattern(term).search(text) is not None


def paper_text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}"


def excluding_term(paper: Paper, terms: tuple[str, ...]) -> str | None:
    """The first excluded term the paper contains, or None."""
    text = paper_text(paper)
    return next((term for term in terms if contains_term(text, term)), None)
