"""arXiv ids and DOIs: found in the fields and free text of library entries, normalised.

An arXiv id comes out as `newsletter.domain.Paper.id` has it: without version, old-style ids
lower-case and without the subject class (``math.GT/0309136`` -> ``math/0309136``). A DOI
comes out lower-case, without ``https://doi.org/`` or ``doi:``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# New style (April 2007 on): YYMM.NNNN until 2014, YYMM.NNNNN from 2015; old style:
# archive[.SUBJECT-CLASS]/YYMMNNN.
_ID = r"""
    (?P<new>(?P<yy>\d\d)(?P<mm>\d\d)\.(?P<number>\d{4,5}))
    | (?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[a-z]+(?:-[a-z]+)?)?
      /(?P<old>(?P<oyy>\d\d)(?P<omm>\d\d)\d{3})
"""
_AFTER = r"(?:v\d{1,3})?(?![\w/]|\.\d)"
_EXACT = re.compile(rf"(?:arxiv:\s*)?(?:{_ID}){_AFTER}", re.IGNORECASE | re.VERBOSE)
_IN_TEXT = re.compile(
    rf"""
    (?:arxiv\.org/(?:abs|pdf|html|format)/|10\.48550/arxiv\.|\barxiv\s*[:.]?\s*(?:id\s*[:.]?\s*)?)
    (?:{_ID}){_AFTER}
    """,
    re.IGNORECASE | re.VERBOSE,
)
_ARXIV_URL = re.compile(
    rf"""
    (?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/
    (?:{_ID})(?:v\d{{1,3}})?(?:\.pdf)?/?(?:[?\#]\S*)?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_IN_TEXT = re.compile(r"(?:(?<![\w./])|(?<=doi\.org/))10\.\d{4,9}/[^\s\"<>{}]+")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi\s*[:.]?\s*)", re.IGNORECASE)
_OLD_ARCHIVES = frozenset(  # the archives of pre-2007 ids
    [
        "acc-phys",
        "adap-org",
        "alg-geom",
        "ao-sci",
        "astro-ph",
        "atom-ph",
        "bayes-an",
        "chao-dyn",
        "chem-ph",
        "cmp-lg",
        "comp-gas",
        "cond-mat",
        "cs",
        "dg-ga",
        "funct-an",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math",
        "math-ph",
        "mtrl-th",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "patt-sol",
        "physics",
        "plasm-ph",
        "q-alg",
        "q-bio",
        "q-fin",
        "quant-ph",
        "solv-int",
        "stat",
        "supr-con",
    ]
)
MAX_DOI = 256
MAX_URL = 2000


def _from_match(match: re.Match[str]) -> str | None:
    """The id a match of `_ID` stands for, or None when it cannot be a real arXiv id."""
    if match.group("new"):
        yy, mm, number = int(match.group("yy")), int(match.group("mm")), match.group("number")
        if not 1 <= mm <= 12 or yy < 7 or (yy, mm) < (7, 4):
            return None
        if (len(number) == 5) != ((yy, mm) >= (15, 1)):
            return None
        return match.group("new")
    archive = match.group("archive").lower()
    oyy, omm = int(match.group("oyy")), int(match.group("omm"))
    if archive not in _OLD_ARCHIVES or not 1 <= omm <= 12 or 7 < oyy < 91:
        return None
    return f"{archive}/{match.group('old')}"


def arxiv_id(text: str) -> str | None:
    """The arXiv id that `text` is, alone: ``2401.12345v2``, ``arXiv:hep-th/9901001``, an
    arxiv.org abs/pdf URL, or the arXiv DOI ``10.48550/arXiv.2401.12345``."""
    text = text.strip()
    match = _EXACT.fullmatch(text) or _ARXIV_URL.fullmatch(text)
    if match is not None:
        return _from_match(match)
    doi = normalise_doi(text)
    if doi is not None and doi.startswith("10.48550/arxiv."):
        return arxiv_id(doi.removeprefix("10.48550/arxiv."))
    return None


def find_arxiv_id(*texts: str | None) -> str | None:
    """The first arXiv id named in free text (``arXiv:2401.12345 [cs.LG]``, ``arXiv preprint
    arXiv:1810.04805``, an arxiv.org URL, an arXiv DOI), trying `texts` in order."""
    for text in texts:
        if not text:
            continue
        for match in _IN_TEXT.finditer(text[: MAX_URL * 5]):
            found = _from_match(match)
            if found is not None:
                return found
    return None


def normalise_doi(text: str) -> str | None:
    """``https://doi.org/10.1000/ABC%2F1`` or ``doi:10.1000/abc`` -> ``10.1000/abc/1``."""
    text = text.strip()
    stripped = _DOI_PREFIX.sub("", text)
    if stripped != text and "%" in stripped:
        stripped = unquote(stripped)
    stripped = stripped.strip().rstrip(".,;")
    if len(stripped) > MAX_DOI or not _DOI.fullmatch(stripped):
        return None
    return stripped.lower()


def find_doi(*texts: str | None) -> str | None:
    """The first DOI written in free text (``DOI: 10.1000/xyz``, a doi.org URL)."""
    for text in texts:
        if not text:
            continue
        for match in _DOI_IN_TEXT.finditer(text[: MAX_URL * 5]):
            doi = normalise_doi(match.group().rstrip(".,;)]"))
            if doi is not None:
                return doi
    return None


def clean_url(text: str | None) -> str | None:
    """The first http(s) URL in `text`, or None."""
    if not text:
        return None
    match = re.search(r"https?://[^\s\"<>{}]+", text[: MAX_URL * 5])
    if match is None:
        return None
    url = match.group().rstrip(".,;:'")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(".,;:'")  # "(see https://…)."
    return url if len(url) <= MAX_URL else None
