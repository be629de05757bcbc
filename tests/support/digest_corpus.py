"""A recorded day of digests for many readers: the real arXiv listing of 2025-08-20 and the
recorded Hugging Face daily papers, ranked for varied interests, plus papers and reasons
made to be awkward (markup, quotes, no-break spaces, CR, NUL, no arXiv id, 50 authors), at
the usual size budget and at budgets that shorten excerpts and drop papers.

Deterministic (links signed at a fixed time), so two renderers can be compared on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from newsletter.domain import Highlight, HuggingFaceExtras, Match, Paper
from newsletter.mail.links import Links, Recipient
from newsletter.mail.render import MAX_HTML_BYTES, DigestLinks, Masthead
from newsletter.mail.tokens import Tokens
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker, Weights
from newsletter.sources.files import parse_file_bytes
from newsletter.sources.huggingface import parse_daily_papers
from tests.conftest import read_data
from tests.support.factories import arxiv_paper, hf_paper

DAY = date(2025, 8, 20)
SITE = "https://digest.example.org"
LINKS = Links(base_url=SITE, tokens=Tokens("corpus-secret-" + "k" * 32, clock=lambda: 1.76e9))
MASTHEADS = (
    Masthead(
        list_name="Paper digest", postal_address="Example Lab, 1 Way, Cambridge", site_url=SITE
    ),
    Masthead(list_name='Papers & "friends" <daily>', postal_address="", site_url=SITE),
)
INTERESTS = (
    ("LLM agents and tool use", ("tool use",)),
    ("planning with language models", ()),
    ("reinforcement learning from human feedback", ("RLHF",)),
    ("retrieval augmented generation", ("retrieval",)),
    ("multimodal vision language models", ("vision",)),
    ("benchmarks and evaluation of reasoning", ("benchmark", "reasoning")),
    ("safety, alignment and red teaming", ("jailbreak",)),
    ("graph neural networks", ()),
    ("medical imaging and clinical text", ("clinical",)),
    ("robot learning from demonstrations", ("robot",)),
    ("theorem proving and formal mathematics", ("lean",)),
    ("efficient inference, quantization, distillation", ("quantization",)),
    ("knowledge graphs and ontologies", ()),
    ("multi-agent systems and game theory", ("multi-agent",)),
    ("causal inference", ()),
    ("time series forecasting", ()),
    ("code generation with language models", ("code",)),
    ("speech and audio", ()),
    ("fairness and bias in machine learning", ("bias",)),
    ("memory in conversational agents", ("memory",)),
)
AWKWARD = "Q&A <b>bold</b> \"double\" 'single' a\u00a0b > c"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    matches: list[Match]
    recipient: str
    links: DigestLinks
    masthead: Masthead
    max_html_bytes: int = MAX_HTML_BYTES
    topics: tuple[str | None, ...] = ()


def day_papers() -> list[Paper]:
    listing = parse_file_bytes(read_data("arxiv_listing_atom_cs.AI_2025-08-20.xml"), what="x")
    hf = parse_daily_papers(read_data("hf_daily_papers.json"), day=DAY)
    return [*listing.papers, *hf.papers, *awkward_papers()]


def awkward_papers() -> list[Paper]:
    sentence = "We study how agents plan multi-step tool use, e.g. in markets. "
    return [
        arxiv_paper(
            "2508.90001",
            title=f"{AWKWARD}: tool use\r\nfor agents\x00",
            abstract=(f"{AWKWARD}. " + sentence * 14 + "Finally, a cut here,;: and more. ") * 2,
            authors=tuple(f"Author Number{k} & Co" for k in range(50)),
            categories=(),
        ),
        arxiv_paper(
            "local:0123456789abcdef",
            abs_url=None,
            pdf_url=None,
            title="A paper from a local file about agents and tool use",
            abstract="Short.\rAbstract with a lone CR, a NUL\x00 and\u00a0a no-break space.",
        ),
        hf_paper(
            "2508.90002",
            upvotes=1,
            title="Agents with one upvote and unsafe links",
            abstract=sentence * 20,
            hf=HuggingFaceExtras(upvotes=1, github_repo="javascript:alert(1)", project_page=None),
        ),
        hf_paper(
            "2508.90003", upvotes=0, title="Planning agents, zero upvotes", categories=("cs.AI",)
        ),
    ]


def ranked(papers: list[Paper], *, limit: int) -> Iterator[tuple[int, list[Match]]]:
    ranker = Ranker(papers, weights=Weights(min_score=-1.0) if limit > 50 else Weights())
    profiles = [
        (number, build_profile(description=text, keywords=keywords))
        for number, (text, keywords) in enumerate(INTERESTS)
    ]
    yield from ranker.rank_many(profiles, limit=limit)


def awkward_matches(papers: list[Paper]) -> list[Match]:
    """Reasons and highlights nobody's profile would produce, on the awkward papers."""
    by_id = {p.id: p for p in papers}
    spans = (
        Highlight("title", 0, 3),
        Highlight("title", 2, 9),  # overlapping
        Highlight("abstract", 5, 12),
        Highlight("abstract", 890, 1400),  # crosses every excerpt cut
        Highlight("abstract", 5000, 5010),  # beyond the text
        Highlight("title", 40, 46),  # around the CR LF
    )
    reasons = [
        (f'mentions "{AWKWARD}"', "in cs.AI"),
        (),
        ("by Author & Co <x>",),
        ('close in meaning to "a\r\nb\x00c" (similarity 0.42)', "by \u00a0nobody"),
    ]
    ids = ["2508.90001", "local:0123456789abcdef", "2508.90002", "2508.90003"]
    return [
        Match(by_id[i], score=0.5, why=why, highlights=spans)
        for i, why in zip(ids, reasons, strict=True)
    ]


def cases() -> Iterator[Case]:
    papers = day_papers()
    for number, matches in ranked(papers, limit=10):
        if not matches:  # nothing over the threshold: a quiet day, not a digest
            continue
        masthead = MASTHEADS[number % 2]
        recipient = ("reader", "o'brien&co", "ada")[number % 3] + f"{number}@example.org"
        yield from _at_budgets(f"interest {number}", matches, recipient, masthead, number)
    for number, matches in ranked(papers, limit=100):
        if number % 5 == 0:  # the real budget, met by shortening and dropping papers
            yield _case(f"100 papers, interest {number}", matches, "many@example.org", number)
    awkward = awkward_matches(papers)
    yield from _at_budgets("awkward", awkward, "a&b@example.org", MASTHEADS[1], 1)
    yield from _at_budgets("awkward reversed", awkward[::-1], "x@example.org", MASTHEADS[0], 3)
    yield _case("one awkward paper", awkward[:1], "x@example.org", 0)
    yield _case("local paper only", awkward[1:2], "x@example.org", 1)
    yield from topic_cases(papers)


TOPIC_NAMES = (
    "Agents & <tools>",
    'Robots "in the wild"',
    "R\u00e9seaux\u00a0neuronaux " + "x" * 70,
)


def topic_cases(papers: list[Paper]) -> Iterator[Case]:
    """Mails of several topics (a heading per topic, names with markup, quotes, a no-break
    space, one long enough to wrap), at budgets that drop whole sections, and one topic."""
    rankings = [matches for _, matches in ranked(papers, limit=10) if matches]
    for number in range(0, 6, 2):
        parts = rankings[number : number + 3]
        matches = [m for part in parts for m in part]
        topics = tuple(TOPIC_NAMES[n] for n, part in enumerate(parts) for _ in part)
        links = _links(matches, number)
        recipient = f"topics{number}@example.org"
        for budget in (MAX_HTML_BYTES, 16_000, 9_000):
            yield Case(
                f"topics {number} at {budget} bytes", matches, recipient, links,
                MASTHEADS[number % 2], budget, topics,
            )  # fmt: skip
    single = rankings[0]
    yield Case(
        "one named topic", single, "one@example.org", _links(single, 0), MASTHEADS[0],
        topics=(TOPIC_NAMES[0],) * len(single),
    )  # fmt: skip


def _at_budgets(
    name: str, matches: list[Match], recipient: str, masthead: Masthead, number: int
) -> Iterator[Case]:
    links = _links(matches, number)
    yield Case(name, matches, recipient, links, masthead)
    if number % 3 == 0:
        for budget in (30_000, 16_000, 9_000):
            yield Case(f"{name} at {budget} bytes", matches, recipient, links, masthead, budget)


def _case(name: str, matches: list[Match], recipient: str, number: int) -> Case:
    return Case(name, matches, recipient, _links(matches, number), MASTHEADS[number % 2])


def _links(matches: list[Match], number: int) -> DigestLinks:
    rated = [m.paper.id for m in matches if not m.paper.id.startswith("local:")]
    return LINKS.digest(Recipient(number + 1, f"key{number:04d}"), DAY, rated)


def with_paper(match: Match, **changes: object) -> Match:
    return replace(match, paper=replace(match.paper, **changes))  # type: ignore[arg-type]
