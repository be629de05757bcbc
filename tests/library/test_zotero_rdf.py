"""Zotero RDF: items among attachments, journals, memos and collections; safe XML."""

from __future__ import annotations

import pytest

from newsletter.library import LibraryEntry, LibraryError, LibraryFormat, read_library
from tests.library.support import problem_lines, read_fixture

NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:z="http://www.zotero.org/namespaces/export#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def test_zotero_export() -> None:
    result = read_fixture("zotero_export.rdf")
    assert result.format is LibraryFormat.ZOTERO_RDF
    bert, mnih, alphafold, maldacena = result.entries
    assert bert == LibraryEntry(
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        line=10,
        abstract=(
            "We introduce a new language representation model called BERT, which stands for "
            "Bidirectional Encoder Representations from Transformers."
        ),
        authors=("Jacob Devlin", "Ming-Wei Chang"),
        year=2019,
        arxiv_id="1810.04805",
        url="http://arxiv.org/abs/1810.04805",
    )
    # Journal articles: the DOI is on the bib:Journal node each one references; two share
    # the same rdf:about, and each gets the node written right after it.
    assert (mnih.line, mnih.doi, mnih.year) == (57, "10.1038/nature14236", 2015)
    assert (alphafold.line, alphafold.doi) == (87, "10.1038/s41586-021-03819-2")
    assert alphafold.title == "Highly accurate protein structure prediction with AlphaFold"
    assert alphafold.authors == ("John Jumper", "Augustin Žídek")
    # A journal nested in dcterms:isPartOf; the arXiv id in Extra (dc:description).
    assert (maldacena.line, maldacena.doi, maldacena.arxiv_id) == (
        120,
        "10.1023/a:1026654312961",
        "hep-th/9711200",
    )
    # The attachment, memo and collection are not items. The item with a mismatched end
    # tag (line 115) and the untitled web page (line 143) are reported.
    assert problem_lines(result) == [115, 143]
    assert "not well-formed XML" in result.problems[0].reason
    assert "line 117" in result.problems[0].reason


def test_an_unclosed_item_does_not_swallow_the_ones_after_it() -> None:
    text = (
        f"<rdf:RDF {NAMESPACES}>\n"
        "<rdf:Description><z:itemType>book</z:itemType><dc:title>First</dc:title>\n"
        "<rdf:Description><z:itemType>book</z:itemType><dc:title>Second</dc:title>\n"
        "</rdf:Description>\n"
        "<rdf:Description><z:itemType>book</z:itemType><dc:title>Third</dc:title>\n"
        "</rdf:Description>\n"
        "</rdf:RDF>\n"
    )
    result = read_library(text.encode())
    assert [(entry.line, entry.title) for entry in result.entries] == [(3, "Second"), (5, "Third")]
    assert problem_lines(result) == [2]


def test_document_type_declarations_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE rdf:RDF [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n'
        f"<rdf:RDF {NAMESPACES}><rdf:Description><z:itemType>book</z:itemType>"
        "<dc:title>&b;&ext;</dc:title></rdf:Description></rdf:RDF>"
    )
    with pytest.raises(LibraryError, match="document type"):
        read_library(bomb.encode())


def test_other_xml_is_not_a_library() -> None:
    with pytest.raises(LibraryError, match="not a Zotero RDF export"):
        read_library(b'<?xml version="1.0"?>\n<xml><records><record/></records></xml>')
