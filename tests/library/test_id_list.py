"""A plain list of arXiv ids, arXiv URLs and DOIs."""

from __future__ import annotations

from newsletter.library import LibraryEntry, LibraryFormat, read_library
from tests.library.support import read_fixture


def test_list_mixing_every_form() -> None:
    result = read_fixture("papers.txt")
    assert result.format is LibraryFormat.ID_LIST
    found = [(entry.line, entry.arxiv_id, entry.doi) for entry in result.entries]
    assert found == [
        (2, "1810.04805", None),
        (3, "1706.03762", None),  # arXiv:…v7
        (4, "2401.04088", None),  # abs URL with version
        (5, "1412.6980", None),  # pdf URL with version and .pdf
        (6, "hep-th/9711200", None),  # export.arxiv.org, old style
        (7, "math/0211159", None),  # old style with subject class, then a comment
        (9, None, "10.1038/nature14236"),
        (10, None, "10.1002/(sici)1097-4571(199009)41:6<391::aid-asi1>3.0.co;2-9"),
        (11, "1707.06347", "10.48550/arxiv.1707.06347"),  # arXiv's DOI
    ]
    assert all(entry.needs_lookup and entry.title == "" for entry in result.entries)
    assert [entry.key for entry in result.entries][6:8] == [
        "doi:10.1038/nature14236",
        "doi:10.1002/(sici)1097-4571(199009)41:6<391::aid-asi1>3.0.co;2-9",
    ]
    # Line 14 repeats line 2 as a URL: merged, the URL kept.
    assert result.duplicates == 1
    assert result.entries[0].url == "https://arxiv.org/abs/1810.04805"
    assert [(problem.line, problem.reason) for problem in result.problems] == [
        (12, "not an arXiv id, arXiv URL or DOI: 'Attention is all you need'; skipped"),
        (13, "not an arXiv id, arXiv URL or DOI: '2401.1234'; skipped"),  # 4 digits in 2024
    ]


def test_one_id_without_newline() -> None:
    assert read_library(b"2501.00001v1").entries == [
        LibraryEntry(title="", line=1, arxiv_id="2501.00001")
    ]
