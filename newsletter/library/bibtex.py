"""BibTeX (.bib) as Zotero, Better BibTeX, JabRef, Google Scholar and arXiv write it.

bibtexparser (v2) splits the file into blocks and keeps going past a broken entry (it
becomes a failed block with its line). Field values are taken raw (an empty parse stack)
and evaluated here: ``{...}``, ``"..."``, numbers, ``@string`` macros and ``#``
concatenation; macros may nest, so their expansion has a budget (no "billion laughs").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# `bibtexparser.parse_string`, imported from where it is defined (mypy --strict wants an
# explicit export).
from bibtexparser.entrypoint import parse_string
from bibtexparser.middlewares.names import parse_single_name_into_parts
from bibtexparser.model import Entry, ParsingFailedBlock, String

from newsletter.library import ids
from newsletter.library.model import (
    MAX_ABSTRACT,
    MAX_AUTHORS,
    MAX_TITLE,
    LibraryEntry,
    LibraryProblem,
    make_entry,
)
from newsletter.library.text import decode_latex, find_year

# The splitter's own block-start pattern (bibtexparser.splitter._BLOCK_START).
_BLOCK_START = re.compile(r"@(\w*)[ \t]*(?=[{(])")
_NOT_ENTRIES = frozenset({"comment", "string", "preamble"})
_EXTRA_BLOCKS = 1_000  # @string/@comment blocks allowed beyond the entry limit
_KEY = re.compile(r"@\w*\s*[{(]\s*([^,\s{}()]{1,100})")
_WORD = re.compile(r"[^\s\"#%'(),={}]+")
_MONTHS = {
    name[:3]: name
    for name in (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    )
}
_URL_COMMAND = re.compile(r"\\url\{([^{}]*)\}")
_NAME_SEPARATOR = re.compile(r"(?<!\\)[{}]|\s+and\s+", re.IGNORECASE)


class _Unreadable(Exception):
    """A field value that is not BibTeX, or macros that expand beyond the budget."""


class _Budget:
    def __init__(self, chars: int) -> None:
        self.left = chars

    def spend(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise _Unreadable("its @string macros expand to too much text")


def read_bibtex(text: str, *, limit: int) -> Iterator[LibraryEntry | LibraryProblem]:
    text, cut_problem = _cut(text, limit)
    library = parse_string(text, parse_stack=[])
    budget = _Budget(2 * len(text) + 1_000_000)
    macros: dict[str, str] = dict(_MONTHS)
    records: list[tuple[int, Entry | LibraryProblem]] = []
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, ParsingFailedBlock) and block.ignore_error_block is not None:
            block = block.ignore_error_block  # a duplicate key: the block itself is fine
        if isinstance(block, String):
            problem = _define(block, macros, budget)
            if problem is not None:
                records.append((line, LibraryProblem(line, problem)))
        elif isinstance(block, Entry):
            records.append((line, block))
        elif isinstance(block, ParsingFailedBlock):
            problem = _syntax_problem(block)
            if problem is not None:
                records.append((line, LibraryProblem(line, problem)))
    for line, record in records:
        yield record if isinstance(record, LibraryProblem) else _entry(record, line, macros, budget)
    if cut_problem is not None:
        yield cut_problem


def _cut(text: str, limit: int) -> tuple[str, LibraryProblem | None]:
    """The text up to the entry after the limit (so that the caller sees it and stops),
    or up to the block after a flood of @ blocks; bibtexparser then never splits more."""
    entries = 0
    for blocks, match in enumerate(_BLOCK_START.finditer(text), 1):
        if match.group(1).lower() not in _NOT_ENTRIES:
            entries += 1
        if entries > limit + 1:
            return text[: match.start()], None
        if blocks > limit + _EXTRA_BLOCKS:
            line = text.count("\n", 0, match.start()) + 1
            reason = (
                f"reading stopped here: more than {limit + _EXTRA_BLOCKS:,} @ blocks "
                "(entries, @string and @comment) in one file"
            )
            return text[: match.start()], LibraryProblem(line, reason)
    return text, None


def _syntax_problem(block: ParsingFailedBlock) -> str | None:
    raw = block.raw or ""
    kind = _BLOCK_START.match(raw.lstrip())
    if kind is not None and kind.group(1).lower() in ("comment", "preamble"):
        return None
    key = _KEY.match(raw.lstrip())
    what = f"entry `{key.group(1)}`" if key else "this entry"
    reason = getattr(block.error, "abort_reason", None) or str(block.error) or "syntax error"
    reason = " ".join(reason.replace("`", "'").split())
    return (
        f"{what} is not valid BibTeX and was skipped ({reason}); "
        "check its braces, quotes and commas"
    )


def _define(block: String, macros: dict[str, str], budget: _Budget) -> str | None:
    try:
        macros[block.key.lower()] = _evaluate(str(block.value), macros, budget)
    except _Unreadable as exc:
        return f"@string `{block.key}` could not be read: {exc}"
    return None


def _entry(
    entry: Entry, line: int, macros: dict[str, str], budget: _Budget
) -> LibraryEntry | LibraryProblem:
    what = f"entry `{entry.key}`" if entry.key else "this entry"
    fields: dict[str, str] = {}
    for field in entry.fields:
        name = field.key.strip().lower()
        if name in fields:
            continue  # a repeated field: the first one counts
        try:
            fields[name] = _evaluate(str(field.value), macros, budget)
        except _Unreadable as exc:
            return LibraryProblem(line, f"{what}: the value of `{field.key}` {exc}")
    return make_entry(
        line=line,
        what=what,
        no_title="no title field",
        title=decode_latex(fields.get("title", "")[: 4 * MAX_TITLE]),
        abstract=decode_latex(fields.get("abstract", "")[: 4 * MAX_ABSTRACT]),
        authors=_authors(fields.get("author", "")),
        year=find_year(fields.get("year")) or find_year(fields.get("date")),
        arxiv_id=_eprint(fields),
        doi=_plain(fields.get("doi")),
        url=_url(fields),
        id_texts=tuple(
            fields.get(name)
            for name in ("arxivid", "arxiv", "journal", "note", "howpublished", "eprint", "url")
        ),
    )


def _evaluate(raw: str, macros: dict[str, str], budget: _Budget) -> str:
    """A raw field value (``{A} # macro # "b"``) as the text it stands for, braces kept."""
    parts: list[str] = []
    position, end = 0, len(raw)
    want_value = True
    while True:
        while position < end and raw[position].isspace():
            position += 1
        if position == end:
            break
        char = raw[position]
        if not want_value:
            if char != "#":
                raise _Unreadable("is not valid BibTeX (a missing comma or quote?)")
            want_value = True
            position += 1
            continue
        if char == "{":
            close = _closing_brace(raw, position)
            parts.append(raw[position + 1 : close])
            position = close + 1
        elif char == '"':
            close = _closing_quote(raw, position)
            parts.append(raw[position + 1 : close])
            position = close + 1
        else:
            word = _WORD.match(raw, position)
            if word is None:
                raise _Unreadable("is not valid BibTeX (a missing comma or quote?)")
            name = word.group()
            value = name if name.isdigit() else macros.get(name.lower(), name)
            budget.spend(len(value))
            parts.append(value)
            position = word.end()
        want_value = False
    if want_value and parts:
        raise _Unreadable("ends with a dangling #")
    return "".join(parts)


def _closing_brace(raw: str, start: int) -> int:
    """Where the brace group opened at `start` closes; like bibtexparser's splitter, a
    brace after a backslash does not count."""
    depth = 0
    for position in range(start, len(raw)):
        char = raw[position]
        escaped = position > 0 and raw[position - 1] == "\\"
        if char == "{" and not escaped:
            depth += 1
        elif char == "}" and not escaped:
            depth -= 1
            if depth == 0:
                return position
    raise _Unreadable("has unbalanced braces")


def _closing_quote(raw: str, start: int) -> int:
    depth = 0
    for position in range(start + 1, len(raw)):
        char = raw[position]
        escaped = raw[position - 1] == "\\"
        if char == "{" and not escaped:
            depth += 1
        elif char == "}" and not escaped:
            depth -= 1
        elif char == '"' and depth == 0 and not escaped:
            return position
    raise _Unreadable("has an unclosed quote")


def _authors(raw: str) -> tuple[str, ...]:
    names: list[str] = []
    for name in _split_names(raw[:20_000])[: 2 * MAX_AUTHORS]:
        if name.strip().lower() in ("others", "{others}", "et al.", "et al"):
            continue
        parts = parse_single_name_into_parts(name, strict=False)
        names.append(decode_latex(parts.merge_first_name_first))
    return tuple(names)


def _split_names(raw: str) -> list[str]:
    """``A and {Barnes and Noble} and C`` -> the three names.

    Not bibtexparser's `split_multiple_persons_names`: it drops a name's leading control
    sequence (``\\v{Z}{\\'\\i}dek`` -> ``{Z}{\\'\\i}dek``).
    """
    names: list[str] = []
    depth = start = 0
    for match in _NAME_SEPARATOR.finditer(raw):
        mark = match.group()
        if mark == "{":
            depth += 1
        elif mark == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            names.append(raw[start : match.start()])
            start = match.end()
    names.append(raw[start:])
    return [name.strip() for name in names if name.strip()]


def _plain(value: str | None) -> str | None:
    """A field that is not prose (DOI, eprint): braces and spaces gone, no LaTeX decoding
    (``\\_`` in a DOI is unescaped)."""
    if value is None:
        return None
    return value.replace("\\_", "_").replace("{", "").replace("}", "").strip() or None


def _eprint(fields: dict[str, str]) -> str | None:
    """``eprint`` unless ``archivePrefix``/``eprinttype`` names another archive, or
    Mendeley's ``arxivId``."""
    prefix = _plain(fields.get("archiveprefix") or fields.get("eprinttype"))
    candidates = [fields.get("arxivid"), fields.get("arxiv")]
    if prefix is None or prefix.lower() == "arxiv":
        candidates.insert(0, fields.get("eprint"))
    for candidate in candidates:
        value = _plain(candidate)
        found = ids.arxiv_id(value) if value else None
        if found is not None:
            return found
    return None


def _url(fields: dict[str, str]) -> str | None:
    for name in ("url", "howpublished", "note"):
        value = fields.get(name)
        if not value:
            continue
        command = _URL_COMMAND.search(value)
        url = ids.clean_url(command.group(1) if command else _plain(value))
        if url is not None:
            return url
    return None
