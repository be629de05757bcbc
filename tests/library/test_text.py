"""Text cleanup: LaTeX, Zotero's rich text, control characters, caps, names, years."""

from __future__ import annotations

import time

import pytest

from newsletter.library.text import (
    clean,
    decode_latex,
    find_year,
    flip_name,
    strip_rich_text,
    title_identity,
)


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (
            r"{{BERT}}: Pre-training of Deep {B}idirectional Transformers",
            "BERT: Pre-training of Deep Bidirectional Transformers",
        ),
        (r"Schr{\"o}dinger \& M\"uller {\'e}t\'e \"{a}", "Schrödinger & Müller été ä"),
        (
            r"Erd{\H{o}}s, Pi\v{z}urica, \v Skoda, Ko\c{c}, \k{a}, \r{A}ngstr\"om",
            "Erdős, Pižurica, Škoda, Koç, ą, Ångström",
        ),
        (r"Na{\"\i}ve {\ss} \o{} \L{}ukasz Bj\o rn \AE sop", "Naïve ß ø Łukasz Bjørn Æsop"),
        (
            r"An $O(n^2)$ bound for $\alpha$-stable \emph{graphs}",
            "An $O(n^2)$ bound for $\\alpha$-stable graphs",
        ),
        (r"50\% of \textbf{cases} cost \$5", "50% of cases cost $5"),
        (r"``Quoted'' --- and -- dashes", "\u201cQuoted\u201d \u2014 and \u2013 dashes"),
        (r"\${\textbackslash}mathcal\{O\}(n)\$", r"$\mathcal{O}(n)$"),  # Zotero-escaped TeX
        (r"\LaTeX{} and \LaTeX is \alpha-stable", "LaTeX and LaTeX is \u03b1-stable"),
        (r"\mathcal{O}(n) outside math, \cite{key}", r"\mathcal{O}(n) outside math, \cite{key}"),
        (r"Line\\break and a~tie", "Line break and a tie"),
        (r"{\relax Th}e In{\-}Situ", "The InSitu"),
        (r"unclosed $ dollar and {brace", "unclosed $ dollar and brace"),
        (r"\'{}", ""),
        ("Plain text, nothing to do", "Plain text, nothing to do"),
    ],
)
def test_decode_latex(latex: str, text: str) -> None:
    assert " ".join(decode_latex(latex).split()) == text


def test_decode_latex_is_linear_on_hostile_input() -> None:
    for hostile in ("{" * 200_000, "\\" * 200_000, "$\\" * 100_000, "\\'" * 100_000):
        started = time.perf_counter()
        decode_latex(hostile)
        assert time.perf_counter() - started < 2


def test_clean() -> None:
    assert clean("  A\x00 title\u2028with\tbreaks \ud800 ", limit=100) == "A title with breaks"
    assert clean("e\u0301te\u0301", limit=100) == "été"  # NFC
    assert clean("a few words here", limit=13) == "a few words"  # cut at a space near the end
    assert clean("x" * 20, limit=12) == "x" * 12


def test_strip_rich_text() -> None:
    assert strip_rich_text('The <i>E. coli</i> <span class="nocase">pH</span> x<sub>2</sub>') == (
        "The E. coli pH x2"
    )
    assert strip_rich_text("a < b and c > d, <script>") == "a < b and c > d, <script>"


@pytest.mark.parametrize(
    ("name", "flipped"),
    [
        ("Devlin, Jacob", "Jacob Devlin"),
        ("Furnas, George W., Jr.", "George W. Furnas Jr."),
        ("OpenAI", "OpenAI"),
        ("Doe,", "Doe"),
    ],
)
def test_flip_name(name: str, flipped: str) -> None:
    assert flip_name(name) == flipped


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2019", 2019),
        ("2019-05-24", 2019),
        ("2017///", 2017),
        ("May 1999", 1999),
        ("20190", None),
        ("", None),
        (None, None),
        ("1066", None),
    ],
)
def test_find_year(text: str | None, year: int | None) -> None:
    assert find_year(text) == year


def test_title_identity_ignores_case_accents_and_punctuation() -> None:
    assert title_identity("Attention Is All You Need!") == title_identity(
        "attention is all  you need"
    )
    assert title_identity("Schrödinger") == title_identity("Schrodinger")
    assert title_identity("Attention") != title_identity("Attention Two")
