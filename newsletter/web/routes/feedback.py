""" "More / less like this" links from a digest: a page with a button, then the POST that
records the vote (see `web.feedback`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from newsletter.db.papers import papers_by_id
from newsletter.db.subscriptions import record_feedback
from newsletter.web.account import recipient
from newsletter.web.deps import (
    DbSession,
    FeedbackRow,
    LearnerDep,
    LinksDep,
    NowDep,
    PagesDep,
    csrf_form,
)
from newsletter.web.feedback import feedback_target, feedback_topic, topic_number
from newsletter.web.rating import learn_from_digest_vote

router = APIRouter(include_in_schema=False)
# The feedback form holds nothing but its CSRF token.
_feedback_form = csrf_form(max_fields=20, max_part=1024 * 1024)


def vote_of(
    paper: str | None = None, vote: str | None = None, topic: str | None = None
) -> tuple[str, bool, int | None]:
    """(paper id, more?, topic id or None) from the link's query; checked before the
    link's token is read (whether the topic is the reader's, after)."""
    paper_id, more = feedback_target(paper, vote)
    return paper_id, more, topic_number(topic)


Vote = Annotated[tuple[str, bool, int | None], Depends(vote_of)]


@router.get("/feedback/{token}", response_class=HTMLResponse)
def feedback_page(
    target: Vote, link: FeedbackRow, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    paper_id, more, topic_id = target
    topic = feedback_topic(session, link, topic_id)
    path = pages.request.url.path
    query = {"paper": paper_id, "vote": "more" if more else "less"}
    if topic is not None:
        query["topic"] = str(topic.id)
    context = {
        "title": _title(session, paper_id),
        "more": more,
        "path": path,
        "topic_name": topic.name if topic is not None and len(link.topics) > 1 else None,
        # Built from the checked values, not echoed from the request.
        "action": f"{path}?{urlencode(query)}",
    }
    return pages.render("feedback.html", context)


@router.post(
    "/feedback/{token}", response_class=HTMLResponse, dependencies=[Depends(_feedback_form)]
)
def feedback(
    target: Vote,
    row: FeedbackRow,
    session: DbSession,
    pages: PagesDep,
    links: LinksDep,
    learner: LearnerDep,
    now: NowDep,
) -> HTMLResponse:
    paper_id, more, topic_id = target
    topic = feedback_topic(session, row, topic_id)
    record_feedback(row, paper_id=paper_id, more=more, topic=topic)
    learn_from_digest_vote(
        session, row, paper_id=paper_id, more=more, learner=learner, now=now, topic=topic
    )
    what = "more" if more else "fewer"
    return pages.notice(
        "Thanks, noted",
        f"From the next digest on you will get {what} papers like “{_title(session, paper_id)}”.",
        links=[("Your preferences", links.preferences(recipient(row)))],
    )


def _title(session: Session, paper_id: str) -> str:
    # The paper is named as a person knows it; its id only if it is not stored (any more).
    found = papers_by_id(session, [paper_id]).get(paper_id)
    return found.title if found else paper_id
