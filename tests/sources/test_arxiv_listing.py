"""parse_listing on recorded arXiv listing feeds (Atom and RSS) and on broken or hostile input."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.domain import AnnounceType, Paper, ParseResult, Source
from newsletter.normalize import collapse_whitespace
from newsletter.sources import SourceError
from newsletter.sources.arxiv_listing import parse_listing
from tests.conftest import read_data

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
RSS_EXCERPT = "arxiv_rss_cs.AI_2025-09-18_excerpt.txt"
RSS_SPEC_ITEM = "arxiv_rss_item_official_spec_example.xml"

ATOM_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns="http://www.w3.org/2005/Atom">\n'
)
RSS_OPEN = (
    '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">'
    "<channel><title>cs updates</title>\n"
)
RSS_CLOSE = "</channel></rss>"

BILLION_LAUGHS_DTD = """<!DOCTYPE feed [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


# --- helpers ---------------------------------------------------------------------------------


def atom_entry(
    arxiv_id: str = "2508.00001",
    *,
    title: str | None = "A perfectly ordinary title",
    published: str = "2025-08-20T00:00:00-04:00",
) -> str:
    """One listing entry shaped like the recorded feed; `title=None` leaves the element out."""
    title_element = "" if title is None else f"<title>{title}</title>"
    return (
        f"<entry><id>oai:arXiv.org:{arxiv_id}v1</id>{title_element}\n"
        f'<link href="https://arxiv.org/abs/{arxiv_id}" rel="alternate" type="text/html"/>\n'
        f"<summary>arXiv:{arxiv_id}v1 Announce Type: new \nAbstract: Some abstract.</summary>\n"
        f'<category term="cs.AI"/><published>{published}</published>\n'
        "<arxiv:announce_type>new</arxiv:announce_type><dc:creator>Ada Lovelace</dc:creator>"
        "</entry>\n"
    )


def atom_feed(*entries: str, title: str = "cs.AI updates on arXiv.org") -> bytes:
    return f"{ATOM_OPEN}<title>{title}</title>\n{''.join(entries)}</feed>".encode()


def rss_item(
    arxiv_id: str = "2508.00001", *, pub_date: str = "Wed, 20 Aug 2025 00:00:00 -0400"
) -> str:
    return (
        f"<item><title>An RSS title</title><link>https://arxiv.org/abs/{arxiv_id}</link>\n"
        f"<description>arXiv:{arxiv_id}v1 Announce Type: new \nAbstract: Text.</description>\n"
        f'<guid isPermaLink="false">oai:arXiv.org:{arxiv_id}v1</guid><category>cs.AI</category>\n'
        f"<pubDate>{pub_date}</pubDate><dc:creator>Ada Lovelace</dc:creator></item>\n"
    )


def rss_feed(*items: str) -> bytes:
    return f"{RSS_OPEN}{''.join(items)}{RSS_CLOSE}".encode()


def paper_by_id(result: ParseResult, arxiv_id: str) -> Paper:
    matches = [paper for paper in result.papers if paper.id == arxiv_id]
    assert len(matches) == 1, f"{arxiv_id}: {len(matches)} papers"
    return matches[0]


def ids_of(result: ParseResult) -> list[str]:
    return [paper.id for paper in result.papers]


def corrupt_entry(data: bytes, arxiv_id: str, old: bytes, new: bytes) -> bytes:
    """`data` with the first `old` inside the entry of `arxiv_id` replaced by `new`."""
    start = data.index(f"<id>oai:arXiv.org:{arxiv_id}v".encode())
    end = data.index(b"</entry>", start)
    block = data[start:end]
    assert old in block, f"{old!r} not in the entry of {arxiv_id}"
    return data[:start] + block.replace(old, new, 1) + data[end:]


def with_dtd(data: bytes, dtd: str) -> bytes:
    """`data` with a document type declaration inserted before the root element."""
    head, root_tag, rest = data.partition(b"<feed")
    return head + dtd.encode() + root_tag + rest


def all_strings(result: ParseResult) -> list[str]:
    strings: list[str] = []
    for paper in result.papers:
        strings += [paper.id, paper.title, paper.abstract, *paper.authors]
    strings += [item.reason for item in result.skipped]
    return strings


@pytest.fixture(scope="module")
def listing() -> ParseResult:
    return parse_listing(read_data(LISTING))


# --- the recorded Atom listing ---------------------------------------------------------------


def test_listing_has_all_86_entries_41_new_then_45_cross(listing: ParseResult) -> None:
    assert listing.skipped == []
    assert len(listing.papers) == 86
    assert len(set(ids_of(listing))) == 86
    types = [paper.announce_type for paper in listing.papers]
    assert Counter(types) == {AnnounceType.NEW: 41, AnnounceType.CROSS: 45}
    assert types == [AnnounceType.NEW] * 41 + [AnnounceType.CROSS] * 45


def test_every_listing_paper_is_normalised(listing: ParseResult) -> None:
    for paper in listing.papers:
        assert paper.version == 1, paper.id
        assert paper.sources == (Source.ARXIV_LISTING,)
        assert paper.announced_on == date(2025, 8, 20)
        assert paper.abs_url == f"https://arxiv.org/abs/{paper.id}"
        assert paper.pdf_url == f"https://arxiv.org/pdf/{paper.id}"
        assert paper.categories, paper.id
        assert paper.primary_category == paper.categories[0]
        assert "cs.AI" in paper.categories
        assert "Announce Type" not in paper.abstract, paper.id
        assert not paper.abstract.startswith(("arXiv:", "Abstract:")), paper.id
        assert paper.abstract == collapse_whitespace(paper.abstract), paper.id
        assert paper.title == collapse_whitespace(paper.title), paper.id
        assert all("\\" not in name and "{" not in name for name in paper.authors), paper.id


@dataclass(frozen=True)
class Expected:
    index: int
    id: str
    title: str
    abstract_start: str
    abstract_end: str
    n_authors: int
    first_author: str
    last_author: str
    categories: tuple[str, ...]
    announce_type: AnnounceType
    doi: str | None = None
    journal_ref: str | None = None


EXPECTED = [
    Expected(
        index=0,
        id="2508.13167",
        title="Chain-of-Agents: End-to-End Agent Foundation Models via Multi-Agent "
        "Distillation and Agentic RL",
        abstract_start="Recent advances in large language models (LLMs) and multi-agent systems",
        abstract_end="future research on agent models and agentic RL.",
        n_authors=30,
        first_author="Weizhen Li",
        last_author="Wangchunshu Zhou",
        categories=("cs.AI", "cs.CL"),
        announce_type=AnnounceType.NEW,
    ),
    Expected(
        index=4,
        id="2508.13177",
        title="A Hardware-oriented Approach for Efficient Active Inference Computation "
        "and Deployment",
        abstract_start="Active Inference (AIF) offers a robust framework for decision-making,",
        abstract_end="for real-time and embedded applications.",
        n_authors=5,
        first_author="Nikola Pižurica",
        last_author="Miguel de Prado",
        categories=("cs.AI",),
        announce_type=AnnounceType.NEW,
    ),
    Expected(
        index=40,
        id="2508.14040",
        title="ComputerRL: Scaling End-to-End Online Reinforcement Learning for Computer "
        "Use Agents",
        abstract_start="We introduce ComputerRL, a framework for autonomous desktop intelligence",
        abstract_end="adopted in building AutoGLM (Liu et al., 2024a)",
        n_authors=10,
        first_author="Hanyu Lai",
        last_author="Jie Tang",
        categories=("cs.AI",),
        announce_type=AnnounceType.NEW,
    ),
    Expected(
        index=41,
        id="2508.00875",
        title="Preliminary suggestions for rigorous GPAI model evaluations",
        abstract_start="This document presents a preliminary compilation of general-purpose AI",
        abstract_end="researchers developing or conducting GPAI evaluations.",
        n_authors=4,
        first_author="Patricia Paskov",
        last_author="Toby Webster",
        categories=("cs.CY", "cs.AI"),
        announce_type=AnnounceType.CROSS,
        doi="10.7249/PEA3971-1",
    ),
    Expected(
        index=73,
        id="2508.13303",
        title="Diff-MSM: Differentiable MusculoSkeletal Model for Simultaneous "
        "Identification of Human Muscle and Bone Parameters",
        abstract_start="High-fidelity personalized human musculoskeletal models are crucial",
        abstract_end="monitoring, rehabilitation, and sports science.",
        n_authors=4,
        first_author="Yingfan Zhou",
        last_author="Cheng Fang",
        categories=("cs.RO", "cs.AI"),
        announce_type=AnnounceType.CROSS,
        journal_ref="2025 IEEE/RSJ international conference on intelligent robots and "
        "systems (IROS)",
    ),
    Expected(
        index=85,
        id="2508.13434",
        title="EventTSF: Event-Aware Non-Stationary Time Series Forecasting",
        abstract_start="Time series forecasting plays a vital role in critical domains",
        abstract_end="and $1.13\\times$ faster training efficiency.",
        n_authors=7,
        first_author="Yunfeng Ge",
        last_author="Shirui Pan",
        categories=("cs.LG", "cs.AI"),
        announce_type=AnnounceType.CROSS,
    ),
]


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: f"{e.index}-{e.id}")
def test_listing_entry_exact_values(listing: ParseResult, expected: Expected) -> None:
    paper = listing.papers[expected.index]
    assert paper.id == expected.id
    assert paper.version == 1
    assert paper.title == expected.title
    assert paper.abstract.startswith(expected.abstract_start)
    assert paper.abstract.endswith(expected.abstract_end)
    assert len(paper.authors) == expected.n_authors
    assert paper.authors[0] == expected.first_author
    assert paper.authors[-1] == expected.last_author
    assert paper.categories == expected.categories
    assert paper.primary_category == expected.categories[0]
    assert paper.announce_type is expected.announce_type
    assert paper.announced_on == date(2025, 8, 20)
    assert paper.abs_url == f"https://arxiv.org/abs/{expected.id}"
    assert paper.pdf_url == f"https://arxiv.org/pdf/{expected.id}"
    assert paper.doi == expected.doi
    assert paper.journal_ref == expected.journal_ref


@pytest.mark.parametrize(
    ("arxiv_id", "authors"),
    [
        (
            "2508.13177",
            (
                "Nikola Pižurica",
                "Nikola Milović",
                "Igor Jovančević",
                "Conor Heins",
                "Miguel de Prado",
            ),
        ),
        ("2508.13675", ("Mariam Arustashvili", "Jörg Deigmöller", "Heiko Paulheim")),
        ("2508.13811", ("Jan Jakubův", "Mikoláš Janota")),
        ("2508.13247", ("Nina Rajcic", "Anders Søgaard")),
        ("2508.13429", ("Paulo André Lima de Castro",)),
    ],
)
def test_tex_escaped_author_names_are_decoded(
    listing: ParseResult, arxiv_id: str, authors: tuple[str, ...]
) -> None:
    assert paper_by_id(listing, arxiv_id).authors == authors


@pytest.mark.parametrize(
    ("arxiv_id", "name"),
    [
        ("2508.13876", "Jörg Hoffmann"),  # J\"org
        ("2508.13876", "Daniel Fišer"),  # Fi\v{s}er
        ("2508.13197", "Hendrik Kraß"),  # Kra{\ss}
        ("2508.13197", "Alán Aspuru-Guzik"),  # Al\'an
        ("2508.13288", "Inès Blin"),  # In\`es
        ("2508.13355", "Alexander Rodríguez"),  # Rodr\'iguez
    ],
)
def test_tex_escaped_name_within_long_author_list(
    listing: ParseResult, arxiv_id: str, name: str
) -> None:
    assert name in paper_by_id(listing, arxiv_id).authors


def test_xml_escapes_in_abstract_are_decoded_once(listing: ParseResult) -> None:
    # The feed holds `p &lt; 0.001 and Cohen's d &gt; 23`.
    assert "p < 0.001 and Cohen's d > 23" in paper_by_id(listing, "2508.13171").abstract


# --- RSS 2.0 ---------------------------------------------------------------------------------


def test_rss_spec_item_exact_values() -> None:
    result = parse_listing(rss_feed(read_data(RSS_SPEC_ITEM).decode()))
    assert result.skipped == []
    [paper] = result.papers
    assert paper.id == "2203.01250"
    assert paper.version == 3
    assert paper.title == "Mass concentration in rescaled first order integral functionals"
    assert paper.abstract.startswith("We consider first order local minimization problems")
    assert paper.abstract.endswith("approximation of branched transport by elliptic energies.")
    assert paper.announce_type is AnnounceType.REPLACE_CROSS
    assert paper.categories == ("math.AP", "math.OC")
    assert paper.primary_category == "math.AP"
    assert paper.announced_on == date(2024, 8, 23)
    assert paper.doi == "10.5802/jep.257"
    assert paper.authors == ("Antonin Monteil", "Paul Pegon")
    assert paper.abs_url == "https://arxiv.org/abs/2203.01250"
    assert paper.pdf_url == "https://arxiv.org/pdf/2203.01250"
    assert paper.journal_ref == (
        "Journal de l'École polytechnique - Mathématiques, Tome 11 (2024), pp. 431-472"
    )


def test_truncated_rss_response_skips_its_item_as_malformed() -> None:
    result = parse_listing(read_data(RSS_EXCERPT))
    assert result.papers == []
    [skipped] = result.skipped
    assert skipped.reason.startswith("malformed XML")


def test_rss_item_with_unparseable_pub_date_is_skipped() -> None:
    result = parse_listing(
        rss_feed(rss_item("2508.00001"), rss_item("2508.00002", pub_date="soon"))
    )
    assert ids_of(result) == ["2508.00001"]
    assert result.papers[0].announced_on == date(2025, 8, 20)
    [skipped] = result.skipped
    assert "2508.00002" in skipped.where
    assert skipped.reason.startswith("unreadable date")


# --- one broken entry costs only itself ------------------------------------------------------

TARGET = "2508.13179"  # entry 50 of 86, in the middle of the cross-lists

RECOVERED_BREAKAGES = [
    pytest.param(b"Abstract: ", b"Abstract: R&D ", id="bare-ampersand-in-summary"),
    pytest.param(b"Abstract: ", b"Abstract: &nbsp; ", id="undefined-entity-in-summary"),
    pytest.param(b"Abstract: ", b"Abstract: a < b ", id="bare-less-than-in-summary"),
    pytest.param(b"</title>", b"</titel>", id="mismatched-end-tag"),
    pytest.param(b'rel="alternate"', b'rel="alternate', id="unterminated-attribute"),
]
# Regression (bug found at commit 92d412a, newsletter/sources/xml.py): an element left open
# inside one entry makes libxml2 also report "Opening and ending tag mismatch: entry line N and
# feed" at the </feed> line. Blamed by that line number, the error fell inside the LAST entry's
# open-ended range, so the innocent last entry (2508.13434) was skipped too: 84 papers, not 85.
UNCLOSED_BREAKAGES = [
    pytest.param(b"Abstract: ", b"Abstract: <b>bold ", id="unclosed-tag-in-summary"),
    pytest.param(b'<category term="cs.CY"/>', b'<category term="cs.CY">', id="unclosed-category"),
]


@pytest.mark.parametrize(("old", "new"), RECOVERED_BREAKAGES + UNCLOSED_BREAKAGES)
def test_one_broken_entry_skips_only_that_entry(
    listing: ParseResult, old: bytes, new: bytes
) -> None:
    expected_ids = [paper_id for paper_id in ids_of(listing) if paper_id != TARGET]
    result = parse_listing(corrupt_entry(read_data(LISTING), TARGET, old, new))
    assert ids_of(result) == expected_ids
    [skipped] = result.skipped
    assert f"oai:arXiv.org:{TARGET}v1" in skipped.where
    assert skipped.reason.startswith("malformed XML (line ")


# --- invalid entries -------------------------------------------------------------------------


@pytest.mark.parametrize("title", [None, "", "  \n  "], ids=["missing", "empty", "blank"])
def test_entry_without_title_is_skipped(title: str | None) -> None:
    result = parse_listing(
        atom_feed(atom_entry("2508.00001", title=title), atom_entry("2508.00002"))
    )
    assert ids_of(result) == ["2508.00002"]
    [skipped] = result.skipped
    assert "2508.00001" in skipped.where
    assert skipped.reason == "no title"


@pytest.mark.parametrize("published", ["2025-13-45T00:00:00-04:00", "yesterday", "2025-08-2O"])
def test_entry_with_unparseable_published_date_is_skipped(published: str) -> None:
    result = parse_listing(
        atom_feed(atom_entry("2508.00001"), atom_entry("2508.00002", published=published))
    )
    assert ids_of(result) == ["2508.00001"]
    [skipped] = result.skipped
    assert "2508.00002" in skipped.where
    assert skipped.reason.startswith("unreadable date")
    assert published in skipped.reason


def test_title_is_whitespace_collapsed() -> None:
    result = parse_listing(atom_feed(atom_entry(title="\n  Deep\n    Learning \t for\n  All  ")))
    assert result.papers[0].title == "Deep Learning for All"


def test_escaped_markup_in_title_is_kept_as_literal_text() -> None:
    result = parse_listing(atom_feed(atom_entry(title="&lt;script&gt;alert(1)&lt;/script&gt; X")))
    assert result.skipped == []
    assert result.papers[0].title == "<script>alert(1)</script> X"


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
        ),
        min_size=1,
        max_size=60,
    ).filter(lambda text: collapse_whitespace(text) != "")
)
def test_any_escaped_title_round_trips_as_text(text: str) -> None:
    result = parse_listing(atom_feed(atom_entry(title=escape(text))))
    assert result.skipped == []
    assert result.papers[0].title == collapse_whitespace(text)


# --- whole-feed failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        atom_feed(title="Feed error for query: http://rss.arxiv.org/atom/cs.XX"),
        rss_feed().replace(b"cs updates", b"Feed error for query"),
    ],
    ids=["atom", "rss"],
)
def test_feed_error_title_raises(data: bytes) -> None:
    with pytest.raises(SourceError, match="Feed error for query"):
        parse_listing(data)


@pytest.mark.parametrize("data", [b"", b"  \n\t "], ids=["empty", "blank"])
def test_empty_response_raises(data: bytes) -> None:
    with pytest.raises(SourceError, match="empty response"):
        parse_listing(data)


@pytest.mark.parametrize(
    "data",
    [
        b"Service Unavailable",
        b'{"entries": []}',
        b"\x00\x01\x02\xff garbage",
        b"<?xml version='1.0'?>",
    ],
    ids=["text", "json", "binary", "declaration-only"],
)
def test_non_xml_response_raises(data: bytes) -> None:
    with pytest.raises(SourceError, match="not XML"):
        parse_listing(data)


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><h1>Maintenance</h1></body></html>",
        b"<feed><title>cs.AI</title></feed>",  # no Atom namespace
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
    ],
    ids=["html", "feed-without-namespace", "rdf"],
)
def test_other_root_element_raises(data: bytes) -> None:
    with pytest.raises(SourceError, match="not an arXiv listing feed"):
        parse_listing(data)


@pytest.mark.parametrize("data", [atom_feed(), rss_feed()], ids=["atom", "rss"])
def test_feed_without_entries_is_empty_not_an_error(data: bytes) -> None:
    assert parse_listing(data) == ParseResult()


# --- entities --------------------------------------------------------------------------------


def test_billion_laughs_is_not_expanded() -> None:
    data = with_dtd(atom_feed(atom_entry(title="Laughs &lol9;")), BILLION_LAUGHS_DTD)
    try:
        result = parse_listing(data)
    except SourceError:
        return
    strings = all_strings(result)
    assert max(map(len, strings), default=0) < 1_000
    assert not any("lollol" in text for text in strings)


# Regression (bug found at commit 92d412a, newsletter/sources/xml.py): libxml2 stops at the
# entity bomb with a fatal "Maximum entity amplification factor exceeded" error reported at
# line 1, i.e. in no entry; the recovering parser returned the tree built so far, so every entry
# after the bomb was silently lost (49 of 86 papers, the bombed one skipped as "no abstract",
# no SourceError).
def test_billion_laughs_in_one_entry_does_not_silently_truncate_the_feed() -> None:
    data = with_dtd(read_data(LISTING), BILLION_LAUGHS_DTD)
    data = corrupt_entry(data, TARGET, b"</title>", b"&lol9;</title>")
    try:
        result = parse_listing(data)
    except SourceError:
        return
    assert max(map(len, all_strings(result))) < 10_000
    assert len(result.papers) + len(result.skipped) == 86


def test_external_entity_is_not_resolved() -> None:
    dtd = '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    data = with_dtd(atom_feed(atom_entry(title="Leak &xxe;")), dtd)
    try:
        result = parse_listing(data)
    except SourceError:
        return
    assert not any("root:" in text for text in all_strings(result))
