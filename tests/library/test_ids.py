"""arXiv ids and DOIs: what counts as one, and how it is written."""

from __future__ import annotations

import pytest

from newsletter.library.ids import arxiv_id, clean_url, find_arxiv_id, find_doi, normalise_doi


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.12345", "2401.12345"),
        ("2401.12345v12", "2401.12345"),
        ("arXiv:2401.12345", "2401.12345"),
        ("ARXIV: 0704.0001", "0704.0001"),
        ("1412.6980", "1412.6980"),
        ("hep-th/9711200v3", "hep-th/9711200"),
        ("math.GT/0309136", "math/0309136"),
        ("cond-mat/0603029", "cond-mat/0603029"),
        ("https://arxiv.org/abs/2401.12345v2", "2401.12345"),
        ("http://www.arxiv.org/pdf/2401.12345v2.pdf", "2401.12345"),
        ("arxiv.org/abs/hep-th/9711200", "hep-th/9711200"),
        ("https://arxiv.org/abs/2401.12345?context=cs", "2401.12345"),
        ("10.48550/arXiv.2401.12345", "2401.12345"),
        ("https://doi.org/10.48550/arXiv.2401.12345", "2401.12345"),
        # Not arXiv ids:
        ("2401.1234", None),  # 2015 on: five digits
        ("1412.69801", None),  # before 2015: four
        ("0612.0001", None),  # before April 2007
        ("2413.12345", None),  # no month 13
        ("12345678", None),
        ("foo/9901001", None),  # no such archive
        ("hep-th/0801001", None),  # old style ended in 2007
        ("https://example.org/abs/2401.12345", None),
        ("2401.12345.pdf", None),
        ("", None),
    ],
)
def test_arxiv_id(text: str, expected: str | None) -> None:
    assert arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("arXiv:1810.04805 [cs]",), "1810.04805"),
        (("arXiv: 2401.04088",), "2401.04088"),
        (("arXiv preprint arXiv:1412.6980",), "1412.6980"),
        (("Comment: 10 pages", "see arxiv.org/abs/1706.03762v5."), "1706.03762"),
        (("DOI: 10.48550/arXiv.1707.06347",), "1707.06347"),
        (("published 1810.04805 somewhere",), None),  # a bare number is not enough
        ((None, ""), None),
    ],
)
def test_find_arxiv_id(texts: tuple[str | None, ...], expected: str | None) -> None:
    assert find_arxiv_id(*texts) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1038/NATURE14236", "10.1038/nature14236"),
        ("https://doi.org/10.1038/nature14236", "10.1038/nature14236"),
        ("http://dx.doi.org/10.1038/nature14236.", "10.1038/nature14236"),
        ("doi:10.1145/3292500.3330701", "10.1145/3292500.3330701"),
        ("https://doi.org/10.1002/%28SICI%291097", "10.1002/(sici)1097"),
        ("10.1002/%28SICI%291097", "10.1002/%28sici%291097"),  # not a URL: not decoded
        ("11.1000/abc", None),
        ("10.10/abc", None),
        ("10.1000/", None),
        ("10.1000/" + "x" * 300, None),
    ],
)
def test_normalise_doi(text: str, expected: str | None) -> None:
    assert normalise_doi(text) == expected


def test_find_doi_and_url() -> None:
    assert find_doi("DOI: 10.1109/CVPR.2016.90).") == "10.1109/cvpr.2016.90"
    assert find_doi("see https://doi.org/10.1000/xyz") == "10.1000/xyz"
    assert find_doi("https://example.org/10.1000/xyz") is None  # a path, not a DOI
    assert clean_url("PDF at https://example.org/a.pdf, cited") == "https://example.org/a.pdf"
    assert clean_url("(see https://example.org/a_(b))") == "https://example.org/a_(b)"
    assert clean_url("(see https://example.org/a).") == "https://example.org/a"
    assert clean_url("javascript:alert(1)") is None
