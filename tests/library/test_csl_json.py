"""CSL JSON (Zotero's export) and Zotero's own item JSON."""

from __future__ import annotations

import json

import pytest

from newsletter.library import LibraryEntry, LibraryError, LibraryFormat, read_library
from tests.library.support import problem_lines, read_fixture


def test_zotero_csl_json_export() -> None:
    result = read_fixture("zotero_csl.json")
    assert result.format is LibraryFormat.CSL_JSON
    bert, alphafold, vaswani, einstein = result.entries
    assert bert == LibraryEntry(
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        line=2,
        abstract=(
            "We introduce a new language representation model called BERT, which stands for "
            "Bidirectional Encoder Representations from Transformers."
        ),
        authors=("Jacob Devlin", "Ming-Wei Chang"),
        year=2019,  # date-parts with the year as a string, as Zotero writes it
        arxiv_id="1810.04805",
        doi="10.48550/arxiv.1810.04805",
        url="http://arxiv.org/abs/1810.04805",
    )
    assert alphafold.line == 43
    assert alphafold.title == "Highly accurate protein structure prediction with AlphaFold"
    assert alphafold.authors == ("John Jumper", "Augustin Žídek", "AlphaFold team")  # literal
    assert (vaswani.line, vaswani.year, vaswani.arxiv_id) == (84, 2017, None)
    assert (einstein.line, einstein.year, einstein.doi) == (118, 1916, "10.1002/andp.19163540702")
    # The hand-broken item (an unclosed string, line 78) and the untitled one (line 110).
    assert problem_lines(result) == [78, 110]
    assert result.problems[0].reason == (
        "this item is not valid JSON (Invalid control character on line 81); skipped"
    )


def test_zotero_item_json_with_items_list() -> None:
    result = read_fixture("zotero_items.json")
    assert result.format is LibraryFormat.ZOTERO_JSON
    assert result.problems == []  # the attachment is skipped silently
    mixtral, mnih = result.entries
    assert mixtral == LibraryEntry(
        title="Mixtral of Experts",
        line=9,
        abstract="We introduce Mixtral 8x7B, a Sparse Mixture of Experts (SMoE) language model.",
        authors=("Albert Q. Jiang", "Alexandre Sablayrolles"),  # not the contributor
        year=2024,
        arxiv_id="2401.04088",
        doi="10.48550/arxiv.2401.04088",
        url="http://arxiv.org/abs/2401.04088",
    )
    assert (mnih.line, mnih.doi, mnih.year) == (42, "10.1038/nature14236", 2015)


def test_zotero_web_api_items_and_a_lone_item() -> None:
    api = [{"key": "ABCD2345", "version": 3, "data": {"itemType": "book", "title": "A book"}}]
    assert read_library(json.dumps(api).encode()).entries[0].title == "A book"
    lone = {"type": "article", "title": "Alone", "issued": {"date-parts": [[2001]]}}
    entries = read_library(json.dumps(lone).encode()).entries
    assert [(entry.title, entry.year) for entry in entries] == [("Alone", 2001)]


def test_minified_file_broken_in_the_middle_keeps_what_came_before() -> None:
    text = '[{"title": "One"}, {"title": "Two" "x"}, {"title": "Three"}]'
    result = read_library(text.encode())
    assert [entry.title for entry in result.entries] == ["One"]
    assert len(result.problems) == 1
    assert "this and the items after it could not be read" in result.problems[0].reason


def test_wrong_types_are_problems_not_crashes() -> None:
    text = json.dumps(
        [
            "a string",
            {"title": ["a", "list"]},
            {"title": "Good", "author": "not a list", "issued": {"date-parts": "x"}},
            {"title": "Also good", "author": [{"family": 3}, None, {"given": "Ada"}]},
        ],
        indent=1,
    )
    result = read_library(text.encode())
    assert [(entry.title, entry.authors) for entry in result.entries] == [
        ("Good", ()),
        ("Also good", ("3", "Ada")),
    ]
    assert problem_lines(result) == [2, 3]


def test_json_that_is_not_a_list_of_items() -> None:
    with pytest.raises(LibraryError, match="not a list of CSL JSON or Zotero items"):
        read_library(b'{"papers": 3}')


def test_reading_resumes_at_the_next_item_not_inside_the_broken_one() -> None:
    text = (
        "[\n"
        "  {\n"
        '    "title": "Broken, "unescaped" quotes",\n'
        '    "author": [\n'
        '      {"family": "Doe", "given": "Jane"},\n'
        "      {\n"
        '        "family": "Roe"\n'
        "      }\n"
        "    ]\n"
        "  },\n"
        "  {\n"
        '    "title": "Next"\n'
        "  }\n"
        "]\n"
    )
    result = read_library(text.encode())
    assert [(entry.line, entry.title) for entry in result.entries] == [(11, "Next")]
    assert problem_lines(result) == [2]
