"""A real digest, built the way the sender builds it, scored by SpamAssassin's local rules.

Run with `-s` to see the rules that fired. The message is scored exactly as we emit it: a
made-up Received header would only score the test's own fiction (a documentation IP trips
RCVD_ILLEGAL_IP, a private one earns ALL_TRUSTED's bonus), and the relays are not ours.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from newsletter.config import Settings
from newsletter.delivery import wiring
from newsletter.delivery.compose import Digest
from newsletter.domain import InterestProfile
from newsletter.mail.links import Recipient
from newsletter.matching.ranker import Ranker
from newsletter.sources.files import FileSource
from tests.conftest import DATA

pytestmark = pytest.mark.slow  # SpamAssassin

LISTING = DATA / "arxiv_listing_atom_cs.AI_2025-08-20.xml"
DAY = date(2025, 8, 20)
MAX_SCORE = 2.0
# One rule line of the report: points, name, description (continuation lines are indented).
_RULE = re.compile(r"^\s*(-?\d+\.\d+)\s+([A-Z][A-Z0-9_]+)\s+\S", re.M)
_SCORE = re.compile(r"^X-Spam-Status: \w+, score=(-?\d+\.\d+)", re.M)


@dataclass(frozen=True)
class Verdict:
    score: float
    rules: dict[str, float]  # rule name -> points
    report: str


def spamassassin() -> str:
    path = shutil.which("spamassassin")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but SpamAssassin is not installed: install the Debian package")
    pytest.skip("SpamAssassin is not installed (apt-get install spamassassin)")


def real_digest() -> bytes:
    """Ten real papers from a recorded arXiv listing, ranked and composed for one reader."""
    papers = FileSource(LISTING, max_bytes=10_000_000).fetch(day=None).papers
    profile = InterestProfile(
        description="Language model agents that plan, reason and use tools",
        keywords=("agents", "reasoning", "planning"),
        categories=("cs.AI",),
    )
    matches = Ranker(papers).rank(profile, limit=10)
    assert len(matches) == 10
    settings = Settings(
        base_url="https://digest.example.org",
        mail_from="Paper digest <digest@example.org>",
        mail_postal_address="Example Research Lab, 1 Example Street, 75005 Paris, France",
        _env_file=None,
    )
    now = datetime.now(UTC)
    digest = Digest(Recipient(42, "f3Jq9sLk2XbV7pTz1mNc0w"), "reader@example.com", DAY, matches)
    return wiring.composer(settings).compose(
        digest, message_id=wiring.mail_identity(settings).new_message_id(), now=now
    )


@pytest.fixture(scope="module")
def verdict(tmp_path_factory: pytest.TempPathFactory) -> Verdict:
    """One SpamAssassin run per module: it takes a second or two to load its rules."""
    program = spamassassin()
    # Its own HOME: SpamAssassin writes user preferences and auto-learns Bayes data there.
    home = tmp_path_factory.mktemp("spamassassin-home")
    result = subprocess.run(
        [program, "-L", "-t"],  # local tests only (no DNS, no network); append the report
        input=real_digest(),
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
        check=True,
    )
    output = result.stdout.decode("utf-8", "replace")
    score = _SCORE.search(output)
    assert score is not None, output[:2000]
    report = output[output.index("Content analysis details") :]
    rules = {name: float(points) for points, name in _RULE.findall(report)}
    return Verdict(score=float(score.group(1)), rules=rules, report=report)


def test_real_digest_scores_well_below_spam(verdict: Verdict) -> None:
    print(f"\nSpamAssassin score {verdict.score} (must be < {MAX_SCORE})\n{verdict.report}")
    assert verdict.rules, "no rules parsed from the report"
    assert verdict.score < MAX_SCORE, verdict.report
    assert sum(verdict.rules.values()) == pytest.approx(verdict.score, abs=0.1 * len(verdict.rules))


def test_no_header_or_mime_structure_rules_fire(verdict: Verdict) -> None:
    """Headers and MIME structure are ours alone: none of these may ever fire, whatever
    the papers say (MISSING_DATE, MISSING_MID, MIME_HTML_ONLY, MIME_QP_LONG_LINE, ...)."""
    structural = sorted(
        name
        for name in verdict.rules
        if name.startswith(("MISSING_", "INVALID_", "MIME_", "MSGID_", "HEADER_", "FROM_"))
    )
    assert structural == [], verdict.report
