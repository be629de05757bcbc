"""The arXiv category taxonomy, kept as data in the package (`arxiv_taxonomy.json`).

A profile may only name categories that exist: a typo (`cs.FOO`) or a guess (`banana`)
would otherwise be stored and silently match nothing, or, as a filter, empty the digest.
Codes are matched case-insensitively and stored as arXiv spells them (`cs.ai` -> `cs.AI`).
The file lists the categories a new paper can be listed in; arXiv's taxonomy page
(https://arxiv.org/category_taxonomy) is the source, and changes there are rare (years).
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class CategoryGroup:
    name: str  # e.g. "Computer Science"
    categories: tuple[tuple[str, str], ...]  # (code, name), in arXiv's order


@functools.cache
def groups() -> tuple[CategoryGroup, ...]:
    data = json.loads(files("newsletter.matching").joinpath("arxiv_taxonomy.json").read_text())
    return tuple(
        CategoryGroup(group["name"], tuple(group["categories"].items())) for group in data["groups"]
    )


@functools.cache
def _by_lower_code() -> dict[str, str]:
    return {code.lower(): code for group in groups() for code, _ in group.categories}


@functools.cache
def names() -> dict[str, str]:
    """Every category's name by its code."""
    return {code: name for group in groups() for code, name in group.categories}


def canonical(code: str) -> str | None:
    """The code as arXiv spells it, or None when there is no such category."""
    return _by_lower_code().get(code.strip().lower())


def suggestion(code: str) -> str | None:
    """The closest existing code to a mistyped one (`cs.Al` -> `cs.AI`), if one is close."""
    close = difflib.get_close_matches(code.lower(), _by_lower_code(), n=1, cutoff=0.75)
    return _by_lower_code()[close[0]] if close else None


def all_codes() -> list[str]:
    return list(names())
