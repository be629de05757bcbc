"""Normalisation of what sources and forms report: ids, whitespace, TeX-escaped names, dates,
and text the databases can store. Pure."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from pylatexenc.latex2text import LatexNodes2Text

_ARXIV_ID = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?$"
)
_WHITESPACE = re.compile(r"\s+")
_AUTHOR_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_LATEX = LatexNodes2Text()
# NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8, so no
# database, page or mail can carry them). Both arrive through JSON escapes or odd encodings.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InvalidArxivId(ValueError):
    pass


def split_arxiv_id(text: str) -> tuple[str, int | None]:
    """``'oai:arXiv.org:2508.13167v2'`` or ``'http://arxiv.org/abs/2508.13167v2'`` -> id, 2."""
    candidate = text.strip().rstrip("/")
    for prefix in ("oai:arXiv.org:", "arXiv:", "arxiv:"):
        candidate = candidate.removeprefix(prefix)
    if "/abs/" in candidate:
        candidate = candidate.split("/abs/", 1)[1]
    match = _ARXIV_ID.match(candidate)
    if match is None:
        raise InvalidArxivId(f"not an arXiv id: {text!r}")
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def collapse_whitespace(text: str) -> str:
    """Undo arXiv's hard line breaks and indentation: one space between words."""
    return _WHITESPACE.sub(" ", text).strip()


def decode_tex(text: str) -> str:
    """``Pi\\v{z}urica`` -> ``Pižurica``; text without TeX markup is returned as is.

    Only for short fields such as names: abstracts keep their TeX so math survives.
    """
    if "\\" not in text and "{" not in text:
        return unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", _LATEX.latex_to_text(text.replace("%", r"\%")))


def clean_name(name: str) -> str:
    """A name or other short TeX-escaped field (journal reference) as plain text."""
    return collapse_whitespace(decode_tex(name))


def split_authors(text: str) -> tuple[str, ...]:
    """The listing feed's one ``dc:creator`` string -> the list of names."""
    names = (clean_name(part) for part in _AUTHOR_SPLIT.split(text))
    return tuple(name for name in names if name)


def content_id(title: str) -> str:
    """A stable id for papers that come without one, from the normalised title.

    The title alone (not the abstract) so that a corrected abstract updates the
    paper instead of creating a second one.
    """
    key = collapse_whitespace(title).casefold().encode()
    return "local:" + hashlib.sha256(key).hexdigest()[:16]


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (``2025-08-20T04:00:19Z``, offsets, fractions) -> an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


def storable_text(text: str) -> str:
    """`text` without NUL characters, and with each lone surrogate replaced by U+FFFD."""
    if _UNSTORABLE.search(text) is None:  # the usual case: no copy
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def storable(value: Any) -> Any:
    """`storable_text` applied to every string in parsed JSON (lists and objects, keys too)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value
