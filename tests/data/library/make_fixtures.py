"""Write the library exports that the formats' own Python writers produce.

Run once from the repository root (``python tests/data/library/make_fixtures.py``); the
outputs are committed next to this script and read by tests/library/test_writers.py. The
records are real papers (ids, DOIs and names checked against arXiv and the publishers);
abstracts are the papers' first sentences.

- ``bibtexparser_writer.bib``: bibtexparser 2.1.0's `write_string` (its default format:
  tab indent, ``{...}`` values), with a ``@string`` macro, and non-ASCII names written as
  LaTeX by its LatexEncodingMiddleware.
- ``rispy_writer.ris``: rispy 0.10.0's `dumps` (it writes ``1.``, ``2.`` headers before each
  record and a blank line between records).
"""

from __future__ import annotations

from pathlib import Path

import bibtexparser
import rispy
from bibtexparser.library import Library
from bibtexparser.middlewares import LatexEncodingMiddleware
from bibtexparser.model import Entry, Field, String

HERE = Path(__file__).parent


def bibtex() -> str:
    """Values are given unenclosed, as parsing leaves them; the writer's default unparse
    stack encloses them in braces, and LatexEncodingMiddleware writes non-ASCII as LaTeX."""
    library = Library()
    library.add(String("jmlr", "Journal of Machine Learning Research", enclosing='"'))
    library.add(
        Entry(
            "misc",
            "kingma2014adam",
            [
                Field("title", "Adam: A Method for Stochastic Optimization"),
                Field("author", "Diederik P. Kingma and Jimmy Ba"),
                Field("year", "2014"),
                Field("eprint", "1412.6980"),
                Field("archivePrefix", "arXiv"),
                Field("primaryClass", "cs.LG"),
                Field(
                    "abstract",
                    "We introduce Adam, an algorithm for first-order gradient-based "
                    "optimization of stochastic objective functions, based on adaptive "
                    "estimates of lower-order moments.",
                ),
            ],
        )
    )
    library.add(
        Entry(
            "article",
            "srivastava2014dropout",
            [
                Field("title", "Dropout: A Simple Way to Prevent Neural Networks from Overfitting"),
                Field(
                    "author",
                    "Srivastava, Nitish and Hinton, Geoffrey and Krizhevsky, Alex and "
                    "Sutskever, Ilya and Salakhutdinov, Ruslan",
                ),
                Field("journal", "jmlr", enclosing="no-enclosing"),  # the @string macro
                Field("volume", "15"),
                Field("number", "56"),
                Field("pages", "1929--1958"),
                Field("year", "2014"),
                Field("url", "http://jmlr.org/papers/v15/srivastava14a.html"),
            ],
        )
    )
    library.add(
        Entry(
            "article",
            "jumper2021highly",
            [
                Field("title", "Highly accurate protein structure prediction with AlphaFold"),
                Field(
                    "author",
                    "Jumper, John and Evans, Richard and Pritzel, Alexander and "
                    "Žídek, Augustin and Bridgland, Alex",
                ),
                Field("journal", "Nature"),
                Field("volume", "596"),
                Field("pages", "583--589"),
                Field("year", "2021"),
                Field("doi", "10.1038/s41586-021-03819-2"),
            ],
        )
    )
    return bibtexparser.write_string(
        library, prepend_middleware=[LatexEncodingMiddleware(keep_math=True)]
    )


def ris() -> str:
    records = [
        {
            "type_of_reference": "JOUR",
            "title": "Human-level control through deep reinforcement learning",
            "authors": ["Mnih, Volodymyr", "Kavukcuoglu, Koray", "Silver, David"],
            "year": "2015",
            "journal_name": "Nature",
            "volume": "518",
            "start_page": "529",
            "end_page": "533",
            "doi": "10.1038/nature14236",
            "urls": ["https://www.nature.com/articles/nature14236"],
        },
        {
            "type_of_reference": "GEN",
            "primary_title": "Proximal Policy Optimization Algorithms",
            "first_authors": ["Schulman, John", "Wolski, Filip"],
            "publication_year": "2017///",
            "abstract": (
                "We propose a new family of policy gradient methods for reinforcement "
                "learning, which alternate between sampling data through interaction with "
                "the environment, and optimizing a surrogate objective function using "
                "stochastic gradient ascent."
            ),
            "notes": ["arXiv:1707.06347 [cs]"],
            "urls": ["http://arxiv.org/abs/1707.06347"],
        },
        {
            "type_of_reference": "CONF",
            "authors": ["He, Kaiming", "Zhang, Xiangyu"],
            "year": "2016",
            "doi": "10.1109/CVPR.2016.90",
            "secondary_title": (
                "2016 IEEE Conference on Computer Vision and Pattern Recognition (CVPR)"
            ),
        },
    ]
    return rispy.dumps(records)


def main() -> None:
    (HERE / "bibtexparser_writer.bib").write_text(bibtex(), encoding="utf-8")
    (HERE / "rispy_writer.ris").write_text(ris(), encoding="utf-8")


if __name__ == "__main__":
    main()
