"""Zotero's CSV export: its real header, multi-line cells, attachments, a broken row."""

from __future__ import annotations

from newsletter.library import LibraryEntry, LibraryFormat, read_library
from tests.library.support import data, problem_lines, read_fixture


def test_zotero_export_with_real_header() -> None:
    assert data("zotero_export.csv").startswith(b'\xef\xbb\xbf"Key","Item Type","Publication Year"')
    result = read_fixture("zotero_export.csv")
    assert result.format is LibraryFormat.ZOTERO_CSV
    bert, coli, mixtral = result.entries
    assert bert == LibraryEntry(
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        line=2,
        abstract=(
            "We introduce a new language representation model called BERT, which stands for "
            "Bidirectional Encoder Representations from Transformers."
        ),
        authors=("Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova"),
        year=2019,
        arxiv_id="1810.04805",
        doi="10.48550/arxiv.1810.04805",
        url="http://arxiv.org/abs/1810.04805",
    )
    # Rich text in the title; an abstract over two lines (the next row starts at line 5).
    assert (coli.line, coli.title) == (3, "The Complete Genome Sequence of Escherichia coli K-12")
    assert coli.abstract == (
        "The 4,639,221\u2013base pair sequence of Escherichia coli K-12 is presented. Of 4288 "
        "protein-coding genes annotated, 38 percent have no attributed function."
    )
    assert coli.authors == ("Frederick R. Blattner", "Guy Plunkett", "Craig A. Bloch")
    assert (coli.year, coli.doi) == (1997, "10.1126/science.277.5331.1453")
    # The arXiv id only in Extra as "arXiv: 2401.04088".
    assert (mixtral.line, mixtral.arxiv_id, mixtral.doi) == (7, "2401.04088", None)
    # Line 5 (a standalone attachment) is skipped silently; the hand-edited row with a stray
    # quote (line 6) and the untitled web page (line 8) are reported.
    assert problem_lines(result) == [6, 8]
    assert "88 columns where the header has 87" in result.problems[0].reason
    assert result.problems[1].reason == "this row has no title (the Title column is empty); skipped"


def test_spreadsheet_csv_with_semicolons_and_other_column_names() -> None:
    text = (
        "title;authors;year;doi\n"
        '“Über” paper;"Doe, Jane; Roe, Rick";2020;https://doi.org/10.1000/ABC\n'
    )
    result = read_library(text.encode("cp1252"), filename="sheet.csv")  # Excel, Windows
    assert result.entries == [
        LibraryEntry(
            title="“Über” paper",
            line=2,
            authors=("Jane Doe", "Rick Roe"),
            year=2020,
            doi="10.1000/abc",
        )
    ]


def test_oversized_cell_is_reported_and_the_next_row_read() -> None:
    text = 'Title,Abstract\n"Big","' + "x" * 200_000 + '"\nSmall,fine\n'
    result = read_library(text.encode())
    assert [(entry.line, entry.title) for entry in result.entries] == [(3, "Small")]
    assert problem_lines(result) == [2]
    assert "field larger than field limit" in result.problems[0].reason
