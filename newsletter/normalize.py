"""Normalisation of what sources and forms report: ids, whitespace, TeX-escaped names, dates,
and text the databases can store. Pure.

Paper ids: an arXiv id is stored bare and without version (``2508.13167``), as every source
and link has always used it. Any other stable identifier a file gives is kept as given behind
a namespace, so ids from different schemes can never collide and each says where it points:
``doi:10.1145/3292500.3330701``, ``s2:649def34f8be52c8b66281af98ae884c09aef38b`` (Semantic
Scholar), ``url:https://openreview.net/forum?id=…``; papers without one get ``local:`` + a
hash of their title. A DOI or Semantic Scholar paper given as a link is that DOI or id, and
an arXiv link is the arXiv id. Anything else is refused with a reason, never guessed at.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

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


MAX_PAPER_ID = 255  # the papers.id column
_DOI = re.compile(r"(?:doi:|https?://(?:dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/\S+)$", re.I)
_S2_ID = r"(?:[0-9a-f]{40}|CorpusId:\d+)"
_S2 = re.compile(
    rf"(?:s2:|https?://(?:www\.)?semanticscholar\.org/paper/(?:[^/]+/)?)?(?P<s2>{_S2_ID})$"
)
_LOCAL = re.compile(r"local:[0-9a-f]{16}$")
_ARXIV_HOSTS = ("arxiv.org", "www.arxiv.org", "export.arxiv.org")
_ARXIV_DOI = "10.48550/arxiv."


class InvalidArxivId(ValueError):
    pass


class InvalidPaperId(ValueError):
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


def paper_id(text: str) -> tuple[str, int | None]:
    """The stored id of a paper a file names by `text`, and its arXiv version (see above)."""
    given = text.strip()
    if not given or any(c.isspace() or not c.isprintable() for c in given):
        raise InvalidPaperId(f"not a usable id: {text[:80]!r} (empty or with spaces)")
    found = _namespaced(given)
    if found is None:
        raise InvalidPaperId(
            f"not an arXiv id, DOI, Semantic Scholar id or http(s) URL: {given[:80]!r}"
        )
    if len(found[0]) > MAX_PAPER_ID:
        raise InvalidPaperId(f"id longer than {MAX_PAPER_ID} characters: {given[:80]!r}…")
    return found


def _namespaced(given: str) -> tuple[str, int | None] | None:
    url = urlsplit(given.removeprefix("url:"))
    is_url = url.scheme in ("http", "https") and bool(url.hostname)
    if not is_url or url.hostname in _ARXIV_HOSTS:
        try:
            return split_arxiv_id(given)
        except InvalidArxivId:
            pass
    if given.startswith("url:") and not is_url:
        return None
    if given.startswith("local:"):
        return (given, None) if _LOCAL.match(given) else None
    if match := _DOI.match(given):
        doi = match.group("doi")
        if doi.lower().startswith(_ARXIV_DOI):  # arXiv's own DOI names the arXiv paper
            return _namespaced(doi[len(_ARXIV_DOI) :])
        return "doi:" + doi, None
    if match := _S2.match(given):
        return "s2:" + match.group("s2"), None
    return ("url:" + given.removeprefix("url:"), None) if is_url else None


def is_arxiv_id(paper_id: str) -> bool:
    """True for a stored arXiv id (every other kind is namespaced: ``doi:``, ``local:``…)."""
    return ":" not in paper_id


def paper_page(paper_id: str) -> str | None:
    """Where a stored id points: the arXiv abstract, the DOI resolver, Semantic Scholar, the
    URL itself; None for content ids (``local:``)."""
    namespace, _, rest = paper_id.partition(":")
    if not rest:
        return abs_url(paper_id)
    if namespace == "doi":
        return f"https://doi.org/{rest}"
    if namespace == "s2":
        if rest.startswith("CorpusId:"):
            return f"https://api.semanticscholar.org/{rest}"
        return f"https://www.semanticscholar.org/paper/{rest}"
    return rest if namespace == "url" else None


def parse_day(text: str) -> tuple[date, datetime | None]:
    """``2026-12-01`` -> that day; an ISO 8601 time -> its UTC day, and the time itself."""
    try:
        return date.fromisoformat(text.strip()), None
    except ValueError:
        moment = parse_timestamp(text)
        return moment.date(), moment


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
