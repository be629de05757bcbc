"""RIS: rispy's own output, Zotero/EndNote quirks, broken records."""

from __future__ import annotations

from newsletter.library import LibraryEntry, LibraryFormat, read_library
from tests.library.support import problem_lines, read_fixture


def test_file_written_by_rispy() -> None:
    result = read_fixture("rispy_writer.ris")
    assert result.format is LibraryFormat.RIS
    mnih, ppo = result.entries
    assert mnih == LibraryEntry(
        title="Human-level control through deep reinforcement learning",
        line=2,  # rispy writes a "1." line before each record
        authors=("Volodymyr Mnih", "Koray Kavukcuoglu", "David Silver"),
        year=2015,
        doi="10.1038/nature14236",
        url="https://www.nature.com/articles/nature14236",
    )
    assert (ppo.line, ppo.title, ppo.year) == (17, "Proximal Policy Optimization Algorithms", 2017)
    assert ppo.authors == ("John Schulman", "Filip Wolski")  # A1, not AU
    assert ppo.arxiv_id == "1707.06347"  # from N1 and UR
    assert ppo.abstract.startswith("We propose a new family of policy gradient methods")
    # The third record has only a secondary title (T2): reported at its TY line.
    assert problem_lines(result) == [28]
    assert result.problems[0].reason == "this RIS record has no title (no TI or T1 line); skipped"


def test_zotero_style_records_and_quirks() -> None:
    result = read_fixture("zotero_quirks.ris")  # starts with a byte order mark
    bert, lsa, resnet = result.entries
    assert bert == LibraryEntry(
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        line=1,
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
    # T1/A1/Y1/N2 (EndNote), an abstract wrapped over four lines, "Family, Given, Suffix".
    assert (lsa.line, lsa.title, lsa.year) == (29, "Indexing by latent semantic analysis", 1990)
    assert lsa.authors == ("Scott Deerwester", "Susan T. Dumais", "George W. Furnas Jr.")
    assert lsa.abstract.endswith(
        "in order to improve the detection of relevant documents on the basis of terms found "
        "in queries."
    )
    assert "approach is to take" in lsa.abstract
    assert lsa.doi == "10.1002/(sici)1097-4571(199009)41:6<391::aid-asi1>3.0.co;2-9"
    # The last record has no ER (a truncated file): it is still read.
    assert (resnet.line, resnet.title, resnet.doi) == (
        47,
        "Deep Residual Learning for Image Recognition",
        "10.1109/cvpr.2016.90",
    )
    # The record with only T2 in the middle is reported; the others around it are kept.
    assert problem_lines(result) == [21]


def test_record_without_er_before_the_next_one() -> None:
    text = "TY  - JOUR\nTI  - First\nTY  - JOUR\nTI  - Second\nER  - \n"
    result = read_library(text.encode())
    assert [(entry.line, entry.title) for entry in result.entries] == [(1, "First"), (3, "Second")]


def test_single_space_tags_and_crlf_line_ends() -> None:
    text = "Provider: Some Database\r\n\r\nTY - JOUR\r\nTI - Spaced tags\r\nPY - 2001\r\nER -\r\n"
    result = read_library(text.encode(), filename="export.ris")
    assert [(entry.line, entry.title, entry.year) for entry in result.entries] == [
        (3, "Spaced tags", 2001)
    ]
