"""Hard exclusions: a paper whose title or abstract contains an excluded term is never
included. Matching is on the raw text, case-insensitive, whole words, with the simple
English inflections of the last word (survey, surveys, surveyed, surveying; study,
studies). A stemmer is deliberately not used: it merges "agentic" with "agent", so
excluding one word would silently hide papers about another. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from newsletter.domain import Paper

_SUFFIXES = r"(?:s|es|ed|d|ing|['\u2019]s)?"
_WORD_CHAR = r"[^\W_]"


@lru_cache(maxsize=10_000)
def pattern_for(term: str) -> re.Pattern[str]:
    """A pattern for lower-cased text. It starts with the term's literal letters (no
    lookbehind, no IGNORECASE) so the regex engine can skip ahead: 30x faster on a day's
    text; `occurrences` checks the left word boundary instead."""
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
    return re.compile(rf"{body}(?!{_WORD_CHAR})")


def occurrences(lowered: str, term: str) -> Iterator[re.Match[str]]:
    """Whole-word matches of `term` in `lowered` (text already passed through .lower())."""
    pattern = pattern_for(term)
    position = 0
    while (match := pattern.search(lowered, position)) is not None:
        start = match.start()
        if start == 0 or not lowered[start - 1].isalnum():
            yield match
            position = match.end()
        else:
            # Mid-word: look again from the next character, or a real match that overlaps
            # this one ("backend to end-to-end" for "end to end") would be skipped.
            position = start + 1


def contains_term(text: str, term: str) -> bool:
    """Whether `text` contains `term` or a simple inflection of it, as whole words."""
    return next(occurrences(text.lower(), term), None) is not None


def paper_text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}"


def excluding_term(paper: Paper, terms: tuple[str, ...]) -> str | None:
    """The first excluded term the paper contains, or None."""
    text = paper_text(paper)
    return next((term for term in terms if contains_term(text, term)), None)
