"""Building and validating interest profiles, with messages a person can act on.

Categories must exist in the arXiv taxonomy (`taxonomy`): an unknown one is refused with
the closest real code and the list of valid ones, since stored it would match nothing.
Liked and disliked papers may be named by any id a paper can have (`normalize.paper_id`: arXiv
id or link, DOI, Semantic Scholar id, http(s) URL, `local:` content id) and are kept as the
service stores paper ids, so a paper from any source can be an example; an id that is none of
these is refused by name, since it could never match a paper.
"""

from __future__ import annotations

from collections.abc import Iterable

from newsletter.domain import CategoryMode, InterestProfile
from newsletter.matching import taxonomy
from newsletter.normalize import (
    MAX_PAPER_ID,
    InvalidPaperId,
    clean_name,
    collapse_whitespace,
    paper_id,
)

MAX_DESCRIPTION = 2_000
MAX_TERM = 100
MAX_TERMS = 50
MAX_SEEDS = 50


class ProfileError(ValueError):
    """A profile that cannot be used, with every problem found."""


def _terms(values: Iterable[str], *, what: str, problems: list[str]) -> tuple[str, ...]:
    cleaned = []
    for value in values:
        term = collapse_whitespace(value).strip("\"'“” ")
        if not term:
            continue
        if len(term) > MAX_TERM:
            problems.append(f"{what} {term[:30]!r}… is longer than {MAX_TERM} characters")
        elif any(ch in term for ch in "\x00\r\n"):
            problems.append(f"{what} {term[:30]!r} contains control characters")
        cleaned.append(term)
    unique = tuple(dict.fromkeys(cleaned))
    if len(unique) > MAX_TERMS:
        problems.append(f"too many {what}s: {len(unique)} (at most {MAX_TERMS})")
    return unique


def build_profile(
    *,
    description: str = "",
    keywords: Iterable[str] = (),
    exclude: Iterable[str] = (),
    categories: Iterable[str] = (),
    category_mode: CategoryMode | str = CategoryMode.BOOST,
    authors: Iterable[str] = (),
    seed_papers: Iterable[str] = (),
    disliked_papers: Iterable[str] = (),
) -> InterestProfile:
    """A clean profile, or ProfileError listing every problem at once."""
    problems: list[str] = []
    text = collapse_whitespace(description)
    if len(text) > MAX_DESCRIPTION:
        problems.append(f"description is longer than {MAX_DESCRIPTION} characters")
    try:
        mode = CategoryMode(category_mode)
    except ValueError:
        problems.append(f"category mode must be 'filter' or 'boost', not {category_mode!r}")
        mode = CategoryMode.BOOST
    cats = _categories(categories, problems=problems)
    profile = InterestProfile(
        description=text,
        keywords=_terms(keywords, what="keyword", problems=problems),
        exclude=_terms(exclude, what="excluded term", problems=problems),
        categories=cats,
        category_mode=mode,
        authors=tuple(
            name
            for name in map(clean_name, _terms(authors, what="author", problems=problems))
            if name  # TeX markup alone cleans to nothing
        ),
        seed_papers=_paper_ids(seed_papers, problems=problems),
        disliked_papers=_paper_ids(disliked_papers, problems=problems),
    )
    signals = (profile.description, profile.keywords, profile.categories, profile.authors)
    if not any(signals) and not profile.seed_papers:
        problems.append(
            "the profile is empty: give a description, keywords, categories, authors or seed papers"
        )
    if problems:
        raise ProfileError("; ".join(problems))
    return profile


def _categories(values: Iterable[str], *, problems: list[str]) -> tuple[str, ...]:
    typed = _terms(values, what="category", problems=problems)
    known = [taxonomy.canonical(code) for code in typed]
    unknown = [code for code, found in zip(typed, known, strict=True) if found is None]
    if unknown:
        problems.append(
            f"not arXiv categories: {', '.join(map(_with_hint, unknown))}. "
            f"The valid ones are: {', '.join(taxonomy.all_codes())}"
        )
    return tuple(dict.fromkeys(code for code in known if code is not None))


def _with_hint(code: str) -> str:
    hint = taxonomy.suggestion(code)
    return f"{code} (did you mean {hint}?)" if hint else code


def _paper_ids(values: Iterable[str], *, problems: list[str]) -> tuple[str, ...]:
    ids = []
    for value in values:
        given = value.strip()
        if not given:
            continue
        try:
            ids.append(paper_id(given)[0])
        except InvalidPaperId:
            if len(given) > MAX_PAPER_ID:
                problems.append(
                    f"paper id {given[:40]!r}… is longer than {MAX_PAPER_ID} characters"
                )
            else:
                problems.append(
                    "not an arXiv id, DOI, Semantic Scholar id, http(s) URL or local: id: "
                    f"{given[:60]!r}"
                )
    unique = tuple(dict.fromkeys(ids))
    if len(unique) > MAX_SEEDS:
        problems.append(f"too many papers: {len(unique)} (at most {MAX_SEEDS})")
    return unique
