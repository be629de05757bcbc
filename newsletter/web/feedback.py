""" "More / less like this" from a digest: the paper becomes a positive or negative example
of the subscriber's profile, which the matcher uses from the next digest on.

Any paper a digest can show can be rated, whatever its source: the link names the stored id
(an arXiv id, or `doi:`, `s2:`, `url:`, `local:` …, up to the papers.id column's 255
characters; `normalize.paper_id`), so a paper from a file is as much an example as one from
arXiv. Anything else is an edited link."""

from __future__ import annotations

from newsletter.normalize import MAX_PAPER_ID, InvalidPaperId, paper_id
from newsletter.web.errors import PageError

VOTES = {"more": True, "less": False}


def feedback_target(paper: str | None, vote: str | None) -> tuple[str, bool]:
    """(paper id, more?) from the link's query, or PageError for a link that was edited."""
    if paper is None or vote not in VOTES or len(paper) > MAX_PAPER_ID:
        raise PageError(400, "This link is not valid", "It names no paper or no vote.")
    try:
        stored_id, _ = paper_id(paper)
    except InvalidPaperId:
        raise PageError(400, "This link is not valid", "It names no paper.") from None
    return stored_id, VOTES[vote]
