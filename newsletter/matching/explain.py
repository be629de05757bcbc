"""Why a paper matched, in words: the part of the profile it answers (a keyword, the
interest's description, a liked paper, an author, a category, or the reader's own examples
when their model moved the paper up) and the abstract sentence that
matches best; highlights only for distinctive words and phrases the profile names. Only
computed for papers that make a digest. Pure."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache

from newsletter.domain import Highlight, Paper
from newsletter.matching.text import Token, tokens

MAX_QUOTE = 160  # characters of the quoted sentence
MAX_NAMED = 2  # keywords named in one reason
MAX_EXAMPLE_TITLE = 70  # characters of each example paper named in one reason
# A word the day's papers share this widely cannot show why *this* paper matched.
DISTINCTIVE_SHARE = 0.10
MIN_PAPERS_FOR_SHARE = 20  # below this, a share says little: use GENERIC_WORDS alone
# Words of research prose that match everywhere: never highlighted or named, whatever the day.
GENERIC_WORDS = frozenset(
    """model modeling modelling method approach result paper propose proposed task data
    performance study new show time large language learning system framework problem work
    fine tuned tuning based use using novel improve improved state art
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Explanation:
    why: tuple[str, ...]
    highlights: tuple[Highlight, ...]


def is_distinctive(feature: str, share: float | None) -> bool:
    """A phrase always is; a single word when it is not generic and (on a day big enough to
    tell) not shared by more than DISTINCTIVE_SHARE of the day's papers."""
    if " " in feature:
        return True
    if feature in GENERIC_WORDS or feature.rstrip("s") in GENERIC_WORDS:
        return False
    return share is None or share <= DISTINCTIVE_SHARE


def term_matches(paper: Paper, features: Collection[str]) -> tuple[list[str], list[Highlight]]:
    """The features (stems or phrases) found in the paper, in the order given, and the spans
    of their occurrences (a phrase's words are not repeated as separate matches)."""
    found: list[str] = []
    spans: list[Highlight] = []
    for field, text in (("title", paper.title), ("abstract", paper.abstract)):
        words, positions = _word_index(text)
        for feature in features:
            hits = _occurrences(words, positions, feature.split(" "))
            if hits and feature not in found:
                found.append(feature)
            spans.extend(Highlight(field, first.start, last.end) for first, last in hits)
    return found, _merge(spans)


@lru_cache(maxsize=4096)
def _word_index(text: str) -> tuple[tuple[Token, ...], dict[str, list[int]]]:
    """A text's content words and where each stem occurs. Cached: a day's papers are
    explained for every subscriber they match, so each text is tokenised once, not per
    (subscriber, paper). The returned mapping must not be changed."""
    words = tuple(t for t in tokens(text) if not t.stop)
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(words):
        positions.setdefault(word.stem, []).append(index)
    return words, positions


def _occurrences(
    words: tuple[Token, ...], positions: Mapping[str, list[int]], stems: list[str]
) -> list[tuple[Token, Token]]:
    size = len(stems)
    return [
        (words[i], words[i + size - 1])
        for i in positions.get(stems[0], ())
        if i + size <= len(words) and all(words[i + k].stem == stems[k] for k in range(1, size))
    ]


def _merge(spans: list[Highlight]) -> list[Highlight]:
    merged: list[Highlight] = []
    for span in sorted(set(spans), key=lambda s: (s.field != "title", s.start, -s.end)):
        last = merged[-1] if merged else None
        if last is not None and last.field == span.field and span.start <= last.end:
            if span.end > last.end:
                merged[-1] = Highlight(span.field, last.start, span.end)
            continue
        merged.append(span)
    return merged


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class Reasons:
    """What the ranker knows about one (profile, paper) match, for `explain`."""

    keywords: tuple[str, ...] = ()  # the profile's keywords as written, with their features
    keyword_features: tuple[str, ...] = ()
    closest_facet: str | None = None  # the profile text closest in meaning, if any
    closest_is_keyword: bool = False
    interest: str | None = None  # the description (named when nothing closer is known)
    liked: Paper | None = None  # the liked paper it is like, when that channel decided
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    sentence: str | None = None  # the best-matching sentence of the abstract
    pushed_by: tuple[str, ...] = ()  # titles of the reader's examples their model followed


def explain(
    paper: Paper,
    reasons: Reasons,
    *,
    features: Collection[str],
    share: Callable[[str], float | None],
) -> Explanation:
    """Reasons in words, at most four short lines, and highlights of distinctive matches.

    `features` are the profile's terms (stems, phrases); `share(feature)` is the fraction of
    the day's papers containing it (None when the day is too small to say). The reader's own
    keywords count unless generic; words of the description only when distinctive."""
    chosen = set(reasons.keyword_features)
    distinctive = [f for f in features if is_distinctive(f, None if f in chosen else share(f))]
    found, highlights = term_matches(paper, distinctive)
    why: list[str] = []
    if reasons.authors:
        why.append("by " + ", ".join(reasons.authors) + " (an author you follow)")
    if reasons.pushed_by:
        titles = ", ".join(f'"{shorten(t, MAX_EXAMPLE_TITLE)}"' for t in reasons.pushed_by)
        what = "papers" if len(reasons.pushed_by) > 1 else "a paper"
        why.append(f"like {what} you marked as relevant: {titles}")
    if reasons.liked is not None:
        why.append(f'like a paper you liked: "{shorten(reasons.liked.title, 90)}"')
    else:
        named = [
            kw
            for kw, feature in zip(reasons.keywords, reasons.keyword_features, strict=True)
            if feature in found
        ][:MAX_NAMED]
        if named:
            why.append("your keyword " + ", ".join(f'"{kw}"' for kw in named))
        elif reasons.closest_facet:
            what = "keyword" if reasons.closest_is_keyword else "interest"
            why.append(f'close to your {what} "{shorten(reasons.closest_facet, 80)}"')
        elif reasons.interest:
            terms = [f for f in found if f not in reasons.keyword_features][:MAX_NAMED]
            words = " (" + ", ".join(f'"{t}"' for t in terms) + ")" if terms else ""
            why.append(f'matches your interest "{shorten(reasons.interest, 80)}"{words}')
    if reasons.categories:
        why.append("in " + ", ".join(reasons.categories) + " (a category you chose)")
    if reasons.sentence:
        why.append(f'it says: "{shorten(reasons.sentence, MAX_QUOTE)}"')
    return Explanation(why=tuple(why[:4]), highlights=tuple(highlights))
