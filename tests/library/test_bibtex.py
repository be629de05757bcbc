"""BibTeX: Zotero, arXiv, Google Scholar, JabRef and biblatex shapes; bibtexparser's writer."""

from __future__ import annotations

import pytest

from newsletter.library import LibraryEntry, LibraryFormat, read_library
from tests.library.support import problem_lines, read_fixture


def test_zotero_style_file_with_quirks() -> None:
    result = read_fixture("zotero_quirks.bib")
    assert result.format is LibraryFormat.BIBTEX
    titles = [(entry.line, entry.title) for entry in result.entries]
    assert titles == [
        (7, "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"),
        (23, "Human-level control through deep reinforcement learning"),
        (38, "On the Evolution of Random Graphs"),
        (56, "Attention Is All You Need"),
        (66, "Adam: A method for stochastic optimization"),
        (73, "The Large $N$ Limit of Superconformal Field Theories and Supergravity"),
        (85, "The entropy formula for the Ricci flow and its geometric applications"),
        (111, "Quantisierung als Eigenwertproblem"),
    ]
    # The unclosed title brace (line 47) and the entry without a title (line 105).
    assert problem_lines(result) == [47, 105]
    assert "he_deep_2016" in result.problems[0].reason
    assert "braces" in result.problems[0].reason
    assert result.problems[1].reason == (
        "entry `doe_slides_2021` has no title (no title field); skipped"
    )
    assert result.duplicates == 1  # vaswani_attention_2017 is vaswani2023attentionneed
    assert not result.truncated


def test_zotero_preprint_entry_in_full() -> None:
    bert = read_fixture("zotero_quirks.bib").entries[0]
    assert bert == LibraryEntry(
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        line=7,
        abstract=(
            "We introduce a new language representation model called BERT, which stands for "
            "Bidirectional Encoder Representations from Transformers. It obtains new "
            "state-of-the-art results on eleven natural language processing tasks, including "
            "pushing the GLUE score to 80.5% (7.7% point absolute improvement)."
        ),
        authors=("Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova"),
        year=2019,
        arxiv_id="1810.04805",
        doi="10.48550/arxiv.1810.04805",
        url="http://arxiv.org/abs/1810.04805",
    )
    assert bert.key == "1810.04805"
    assert not bert.needs_lookup


def test_accents_macros_and_ids_of_each_exporter() -> None:
    entries = {entry.line: entry for entry in read_fixture("zotero_quirks.bib").entries}
    mnih, erdos, adam = entries[23], entries[38], entries[66]
    assert (mnih.doi, mnih.abstract, mnih.key) == (
        "10.1038/nature14236",
        "",
        "doi:10.1038/nature14236",
    )
    assert erdos.authors == ("Pál Erdős", "Alfréd Rényi")
    assert (erdos.year, erdos.arxiv_id, erdos.doi) == (1960, None, None)
    assert erdos.key.startswith("local:")
    assert (adam.arxiv_id, adam.authors) == ("1412.6980", ("Diederik P Kingma", "Jimmy Ba"))
    maldacena = entries[73]
    assert maldacena.abstract.startswith("We show that the large $N$ limit of certain")
    assert (maldacena.arxiv_id, maldacena.doi) == ("hep-th/9711200", "10.1023/a:1026654312961")
    perelman = entries[85]
    assert (perelman.arxiv_id, perelman.year) == ("math/0211159", 2002)
    assert entries[111].authors == ("E. Schrödinger",)


def test_duplicate_is_merged_into_the_first_and_fills_its_gaps() -> None:
    vaswani = read_fixture("zotero_quirks.bib").entries[3]
    assert vaswani.line == 56  # arXiv's export, first in the file
    assert vaswani.year == 2023  # the first entry's fields win ...
    assert len(vaswani.authors) == 8
    assert vaswani.url == "https://arxiv.org/abs/1706.03762"
    # ... and the Zotero duplicate at line 92 adds what the first lacked.
    assert vaswani.abstract.startswith("The dominant sequence transduction models")
    assert vaswani.doi == "10.48550/arxiv.1706.03762"


def test_file_written_by_bibtexparser() -> None:
    result = read_fixture("bibtexparser_writer.bib")
    assert result.problems == []
    adam, dropout, alphafold = result.entries
    assert adam == LibraryEntry(
        title="Adam: A Method for Stochastic Optimization",
        line=4,
        abstract=(
            "We introduce Adam, an algorithm for first-order gradient-based optimization of "
            "stochastic objective functions, based on adaptive estimates of lower-order moments."
        ),
        authors=("Diederik P. Kingma", "Jimmy Ba"),
        year=2014,
        arxiv_id="1412.6980",
    )
    assert dropout.line == 15
    assert dropout.authors[-1] == "Ruslan Salakhutdinov"
    assert dropout.url == "http://jmlr.org/papers/v15/srivastava14a.html"  # was \url{...}
    assert alphafold.line == 27
    assert alphafold.authors[3] == "Augustin Žídek"  # written as \v{Z}{\'\i}dek
    assert alphafold.doi == "10.1038/s41586-021-03819-2"


def _bib(text: str) -> tuple[list[LibraryEntry], list[tuple[int, str]]]:
    result = read_library(text.encode(), filename="x.bib")
    return result.entries, [(problem.line, problem.reason) for problem in result.problems]


def test_string_macros_concatenation_and_quotes() -> None:
    entries, problems = _bib(
        '@STRING{ conf = "Proceedings of " }\n'
        "@String(short = {ICML})\n"
        '@inproceedings{a, title = "A {"}quoted{"} " # short # { title}, '
        "booktitle = conf # short, year = 2020, month = jan}\n"
    )
    assert problems == []
    assert entries[0].title == 'A "quoted" ICML title'
    assert (entries[0].line, entries[0].year) == (3, 2020)


def test_parenthesised_entry_and_comments() -> None:
    entries, problems = _bib(
        "Some text before the entries is a comment.\n"
        "@comment{ignored, title = {Not an entry}}\n"
        '@preamble{ "\\newcommand{\\noop}[1]{}" }\n'
        "@article(p, title = {In parentheses}, author = {Doe, Jane})\n"
    )
    assert problems == []
    assert [(entry.line, entry.title, entry.authors) for entry in entries] == [
        (4, "In parentheses", ("Jane Doe",))
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("@article{a, title = {A} author = {B}}", "missing comma"),
        ("@article{a, title = {A}, journal = {B} # }", "dangling #"),
        ('@article{a, title = {A}, note = "x" "y"}', "missing comma"),
    ],
)
def test_a_broken_value_costs_only_its_entry(text: str, reason: str) -> None:
    entries, problems = _bib(
        "@misc{before, title = {Before}}\n" + text + "\n@misc{after, title = {After}}\n"
    )
    assert [entry.title for entry in entries] == ["Before", "After"]
    assert [line for line, _ in problems] == [2]
    assert reason in problems[0][1]
    assert "entry `a`" in problems[0][1]


def test_unclosed_entry_in_the_middle() -> None:
    entries, problems = _bib(
        "@misc{one, title = {One}}\n\n"
        "@article{two,\n  title = {Two,\n  year = 2020\n\n"
        "@misc{three, title = {Three}}\n"
    )
    assert [(entry.line, entry.title) for entry in entries] == [(1, "One"), (7, "Three")]
    assert [line for line, _ in problems] == [3]


def test_repeated_citation_keys_are_both_read() -> None:
    entries, problems = _bib(
        "@misc{same, title = {First paper}}\n@misc{same, title = {Second paper}}\n"
    )
    assert problems == []
    assert [entry.title for entry in entries] == ["First paper", "Second paper"]


def test_repeated_field_keeps_the_first() -> None:
    entries, _ = _bib("@misc{a, title = {First}, title = {Second}}")
    assert entries[0].title == "First"


def test_eprint_of_another_archive_is_not_an_arxiv_id() -> None:
    entries, _ = _bib(
        "@article{a, title = {T}, eprint = {1234.56789}, eprinttype = {pubmed}}\n"
        "@article{b, title = {U}, eprint = {arXiv:2101.00001v2}}\n"
        "@article{c, title = {V}, arxivid = {0704.0001}}\n"
    )
    assert [entry.arxiv_id for entry in entries] == [None, "2101.00001", "0704.0001"]


def test_macro_expansion_is_bounded() -> None:
    doubling = "".join(f"@string{{m{n + 1} = m{n} # m{n}}}\n" for n in range(40))
    entries, problems = _bib('@string{m0 = "xxxxxxxxxx"}\n' + doubling + "@misc{k, title = m40}")
    assert entries == []
    assert problems[-1][0] == 42
    assert "expand to too much text" in problems[-1][1]


def test_latin1_file_from_an_older_tool() -> None:
    result = read_library(
        "@article{a, title = {Über Graphen}, author = {Müller, Jörg}}".encode("latin-1"),
        filename="old.bib",
    )
    assert (result.entries[0].title, result.entries[0].authors) == (
        "Über Graphen",
        ("Jörg Müller",),
    )


def test_others_and_corporate_authors() -> None:
    entries, _ = _bib(
        "@misc{a, title = {T}, author = {{OpenAI} and {Barnes and Noble} and van der Berg, "
        "Jan and Doe, Jr., John and others}}"
    )
    assert entries[0].authors == ("OpenAI", "Barnes and Noble", "Jan van der Berg", "John Doe Jr.")


def test_too_many_at_blocks_stop_the_reading() -> None:
    text = "@misc{a, title = {A}}\n" + "@comment{x}\n" * 1_200
    result = read_library(text.encode(), filename="x.bib", max_entries=10)
    assert [entry.title for entry in result.entries] == ["A"]
    assert problem_lines(result) == [1011]  # the 1,011th block
    assert "more than 1,010 @ blocks" in result.problems[0].reason
