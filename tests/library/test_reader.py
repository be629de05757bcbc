"""read_library as a whole: recognising formats, decoding, limits, refusals, duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.library import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    LibraryEntry,
    LibraryError,
    LibraryFormat,
    LibraryImport,
    merge_duplicates,
    read_library,
)
from tests.library.support import DATA, data, problem_lines

FIXTURES = sorted(path.name for path in DATA.iterdir() if path.suffix not in (".py", ".md"))


def test_defaults() -> None:
    assert (DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES) == (5_000_000, 2_000)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bibtexparser_writer.bib", LibraryFormat.BIBTEX),
        ("zotero_quirks.bib", LibraryFormat.BIBTEX),
        ("rispy_writer.ris", LibraryFormat.RIS),
        ("zotero_quirks.ris", LibraryFormat.RIS),
        ("zotero_export.csv", LibraryFormat.ZOTERO_CSV),
        ("zotero_export.rdf", LibraryFormat.ZOTERO_RDF),
        ("zotero_csl.json", LibraryFormat.CSL_JSON),
        ("zotero_items.json", LibraryFormat.ZOTERO_JSON),
        ("papers.txt", LibraryFormat.ID_LIST),
    ],
)
def test_format_is_recognised_by_content_whatever_the_name(
    name: str, expected: LibraryFormat
) -> None:
    assert FIXTURES.count(name) == 1
    for filename in (name, None, "library.txt", "export.bib", "no-extension"):
        assert read_library(data(name), filename=filename).format is expected


def test_extension_breaks_a_tie() -> None:
    text = b"10.1000/abc\n@misc{x, title = {Y}}\n"  # half ids, and a BibTeX entry
    assert read_library(text).format is LibraryFormat.BIBTEX
    assert read_library(text, filename="mine.txt").format is LibraryFormat.ID_LIST


def test_crlf_utf16_and_bom_keep_lines_right() -> None:
    text = "% comment\r\n\r\n@misc{a,\r\n  title = {Ünïcode}\r\n}\r\n"
    for encoded in (text.encode(), text.encode("utf-16"), "\ufeff".encode() + text.encode()):
        entries = read_library(encoded).entries
        assert [(entry.line, entry.title) for entry in entries] == [(3, "Ünïcode")]
    mac = text.replace("\r\n", "\r").encode()  # classic Mac line ends
    assert read_library(mac).entries[0].line == 3


def test_too_large_is_an_error() -> None:
    with pytest.raises(LibraryError, match=r"too large \(1\.2 MB\); files up to 1 MB"):
        read_library(b"1810.04805\n" * 110_000, max_bytes=1_000_000)
    assert len(read_library(b"1810.04805\n" * 10, max_bytes=110).entries) == 1


def test_too_many_entries_reads_the_first_and_says_where_it_stopped() -> None:
    text = "".join(f"@misc{{k{n}, title = {{Paper {n}}}}}\n" for n in range(1, 8))
    result = read_library(text.encode(), max_entries=5)
    assert [entry.title for entry in result.entries] == [f"Paper {n}" for n in range(1, 6)]
    assert result.truncated
    assert problem_lines(result) == [6]
    assert result.problems[0].reason == (
        "reading stopped here: a file may hold at most 5 entries; "
        "this one and those after it were not imported"
    )
    # Unreadable entries count too: each is an entry of the file.
    broken = "@misc{a}\n" * 3 + "@misc{b, title = {B}}\n"
    result = read_library(broken.encode(), max_entries=3)
    assert (result.entries, result.truncated) == ([], True)
    assert problem_lines(result) == [1, 2, 3, 4]


@pytest.mark.parametrize("name", FIXTURES)
def test_limit_applies_to_every_format(name: str) -> None:
    result = read_library(data(name), max_entries=1)
    assert result.truncated
    assert len(result.entries) + len(result.problems) == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "the file is empty"),
        (b" \n\t\n", "the file is empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "this is a PDF document, not a library export"),
        (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive"),
        (b"SQLite format 3\x00\x10\x00", "zotero.sqlite"),
        (b"\x00\x01\x02binary\x00", "binary file"),
        (
            b"Dear reviewer,\nthank you for the comments.\n",
            "not a library file we can read (named 'upload.bib'); tried BibTeX, RIS",
        ),
        (
            b"[1] A. Author, Some paper, 2020.\n[2] B. Author, Another, 2021.\n",
            "not a library file",
        ),
    ],
)
def test_unreadable_files_are_errors_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises(LibraryError) as caught:
        read_library(payload, filename="upload.bib")
    assert message in str(caught.value)


def test_name_is_shown_when_nothing_matches() -> None:
    with pytest.raises(LibraryError, match=r"named 'notes\.docx'"):
        read_library(b"just some words", filename="/tmp/notes.docx")


def _entry(line: int, title: str = "", **fields: Any) -> LibraryEntry:
    return LibraryEntry(title=title, line=line, **fields)


def test_merge_duplicates() -> None:
    entries = [
        _entry(1, "Attention Is All You Need", url="https://a"),
        _entry(2, arxiv_id="1706.03762"),  # a bare id: another paper, as far as we know yet
        _entry(3, "attention is all you need!", arxiv_id="1706.03762", abstract="The dominant"),
        _entry(4, title="", arxiv_id="1706.03762"),  # the same id again
        _entry(5, "Introduction", doi="10.1/a"),
        _entry(6, "Introduction", doi="10.1/b"),  # same title, other DOI: another paper
        _entry(7, "Introduction"),  # no conflicting id: the first "Introduction"
        _entry(8, "Other", arxiv_id="2401.00001", doi="10.1/a"),  # DOI of line 5, but ...
    ]
    merged, duplicates = merge_duplicates(entries)
    # Line 3 is line 1 by title and line 2 by arXiv id: all three are one paper.
    assert [(entry.line, entry.title) for entry in merged] == [
        (1, "Attention Is All You Need"),
        (5, "Introduction"),
        (6, "Introduction"),
    ]
    # ... line 8 shares line 5's DOI and brings the arXiv id along.
    assert duplicates == 5
    assert merged[0] == _entry(
        1,
        "Attention Is All You Need",
        url="https://a",
        arxiv_id="1706.03762",
        abstract="The dominant",
    )
    assert merged[1].arxiv_id == "2401.00001"


def test_same_title_with_different_ids_is_two_papers() -> None:
    entries = [
        _entry(1, "Introduction", arxiv_id="2401.00001"),
        _entry(2, "Introduction", arxiv_id="2401.00002"),
        _entry(3, "Introduction", arxiv_id="2401.00002", doi="10.1/x"),
    ]
    merged, duplicates = merge_duplicates(entries)
    assert [(entry.line, entry.arxiv_id, entry.doi) for entry in merged] == [
        (1, "2401.00001", None),
        (2, "2401.00002", "10.1/x"),
    ]
    assert duplicates == 1


def test_key() -> None:
    assert _entry(1, "T", arxiv_id="hep-th/9711200", doi="10.1/x").key == "hep-th/9711200"
    assert _entry(1, "T", doi="10.1/x").key == "doi:10.1/x"
    assert _entry(1, "Some Title").key == _entry(9, "  some   title ").key
    assert _entry(1, "Some Title").key.startswith("local:")


HEADS = [
    b"",
    b"@article{k,\n title = {",
    b"TY  - JOUR\nTI  - ",
    b'[\n\t{\n\t\t"title": "',
    b'{"items": [{"itemType": "book", "title": "',
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    b'xmlns:z="http://www.zotero.org/namespaces/export#"><rdf:Description><z:itemType>',
    b'"Key","Item Type","Title","Author"\n"A","book","',
    b"1810.04805\n",
]
NOISE = st.binary(max_size=400) | st.text(
    alphabet='@{}",=#\n \t\\$%<>/[]:TYERAUIabc0123456789.-éß\u2028\ud800', max_size=400
).map(lambda text: text.encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.sampled_from(HEADS), noise=NOISE, filename=st.sampled_from([None, "a.bib", "a.json"])
)
def test_only_library_errors_on_arbitrary_input(
    head: bytes, noise: bytes, filename: str | None
) -> None:
    outcome: LibraryImport | LibraryError
    try:
        outcome = read_library(head + noise, filename=filename, max_entries=50)
    except LibraryError as exc:  # the one documented refusal; anything else fails the test
        outcome = exc
    if isinstance(outcome, LibraryError):
        assert str(outcome)
        return
    result = outcome
    for entry in result.entries:
        assert entry.line >= 1
        assert entry.title or entry.arxiv_id or entry.doi
        assert "\x00" not in entry.title + entry.abstract
    assert all(problem.line >= 1 and problem.reason for problem in result.problems)
    assert len(result.entries) + len(result.problems) <= 51


def test_stray_nul_bytes_are_dropped_and_xml_in_utf16_is_read() -> None:
    bib = data("zotero_quirks.bib").replace(b"Random Graphs", b"Random\x00 Graphs\x00")
    assert read_library(bib).entries[2].title == "On the Evolution of Random Graphs"
    rdf = data("zotero_export.rdf").decode()
    declared = '<?xml version="1.0" encoding="UTF-16"?>' + rdf  # on the first line
    result = read_library(declared.encode("utf-16"))
    assert [entry.line for entry in result.entries] == [10, 57, 87, 120]
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?>\n' + rdf.replace("Žídek", "Müller")
    result = read_library(latin.encode("latin-1"))
    assert result.entries[2].authors == ("John Jumper", "Augustin Müller")
