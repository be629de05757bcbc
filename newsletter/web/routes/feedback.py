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
from newsletter.web.feedback import feedback_target
from newsletter.web.rating import learn_from_digest_vote

router = APIRouter(include_in_schema=False)
# The feedback form holds nothing but its CSRF token.
_feedback_form = csrf_form(max_fields=20, max_part=1024 * 1024)


def vote_of(paper: str | None = None, vote: str | None = None) -> tuple[str, bool]:
    """(paper id, more?) from the link's query; checked before the link's token is read."""
    return feedback_target(paper, vote)


Vote = Annotated[tuple[str, bool], Depends(vote_of)]


@router.get("/feedback/{token}", response_class=HTMLResponse)
def feedback_page(
    target: Vote, _link: FeedbackRow, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    paper_id, more = target
    path = pages.request.url.path
    context = {
        "title": _title(session, paper_id),
        "more": more,
        "path": path,
        # Built from the checked values, not echoed from the request.
        "action": f"{path}?{urlencode({'paper': paper_id, 'vote': 'more' if more else 'less'})}",
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
    paper_id, more = target
    record_feedback(row, paper_id=paper_id, more=more)
    learn_from_digest_vote(session, row, paper_id=paper_id, more=more, learner=learner, now=now)
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
