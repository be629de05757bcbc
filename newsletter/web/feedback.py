""" "More / less like this" from a digest: the paper becomes a positive or negative example
of the subscriber's profile, which the matcher uses from the next digest on.

Any paper a digest can show can be rated, whatever its source: the link names the stored id
(an arXiv id, or `doi:`, `s2:`, `url:`, `local:` …, up to the papers.id column's 255
characters; `normalize.paper_id`), so a paper from a file is as much an example as one from
arXiv. Anything else is an edited link.

The link names the topic the paper was chosen for (`topic`, its id): the vote teaches that
topic. Links mailed before topics name none and teach the first topic. The topic is not
signed (one token serves the whole mail), so it is checked to be the reader's own: another
reader's topic, a deleted one or a malformed id is a clear 4xx page, never a vote elsewhere.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.topics import topic_of
from newsletter.normalize import MAX_PAPER_ID, InvalidPaperId, paper_id
from newsletter.web.errors import PageError

MAX_TOPIC_DIGITS = 10

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


def topic_number(topic: str | None) -> int | None:
    """The topic id a link names (None: none named), or PageError for a malformed one."""
    if topic is None:
        return None
    if not topic.isascii() or not topic.isdigit() or len(topic) > MAX_TOPIC_DIGITS:
        raise PageError(400, "This link is not valid", "It names no topic.")
    return int(topic)


def feedback_topic(
    session: Session, row: SubscriberRow, topic: int | None
) -> InterestProfileRow | None:
    """The reader's topic the link names (None: the link names none, the first topic)."""
    if topic is None:
        return None
    found = topic_of(session, row.id, topic)
    if found is None:
        raise PageError(
            404,
            "No such topic",
            "The topic this link votes for was deleted, or is not one of yours: "
            "nothing was recorded.",
        )
    return found
