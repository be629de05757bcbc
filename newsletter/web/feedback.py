""" "More / less like this" from a digest: the paper becomes a positive or negative example
of the subscriber's profile, which the matcher uses from the next digest on."""

from __future__ import annotations

from newsletter.normalize import InvalidArxivId, split_arxiv_id
from newsletter.web.errors import PageError

VOTES = {"more": True, "less": False}


def feedback_target(paper: str | None, vote: str | None) -> tuple[str, bool]:
    """(paper id, more?) from the link's query, or PageError for a link that was edited."""
    if paper is None or vote not in VOTES or len(paper) > 64:
        raise PageError(400, "This link is not valid", "It names no paper or no vote.")
    try:
        paper_id, _ = split_arxiv_id(paper)
    except InvalidArxivId:
        raise PageError(400, "This link is not valid", "It names no paper.") from None
    return paper_id, VOTES[vote]
