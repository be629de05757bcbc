""" "More / less like this" from a digest: the paper becomes a positive or negative example
of the subscriber's profile, which the matcher uses from the next digest on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from newsletter.db.papers import papers_by_id
from newsletter.db.subscriptions import record_feedback
from newsletter.mail.tokens import Purpose
from newsletter.normalize import InvalidArxivId, split_arxiv_id
from newsletter.web.context import PageError, Web

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


def add_feedback_routes(router: APIRouter, web: Web) -> None:
    @router.get("/feedback/{token}", response_class=HTMLResponse)
    def feedback_page(
        request: Request, token: str, paper: str | None = None, vote: str | None = None
    ) -> HTMLResponse:
        paper_id, more = feedback_target(paper, vote)
        with web.sessions() as session:
            web.subscriber(session, Purpose.FEEDBACK, token)
            found = papers_by_id(session, [paper_id]).get(paper_id)
        context = {
            "title": found.title if found else paper_id,
            "more": more,
            "path": request.url.path,
            # Built from the checked values, not echoed from the request.
            "action": f"{request.url.path}?paper={paper_id}&vote={'more' if more else 'less'}",
        }
        return web.page(request, "feedback.html", context)

    @router.post("/feedback/{token}", response_class=HTMLResponse)
    async def feedback(
        request: Request, token: str, paper: str | None = None, vote: str | None = None
    ) -> HTMLResponse:
        web.check_csrf(request, await request.form(max_fields=20, max_files=0))
        paper_id, more = feedback_target(paper, vote)
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.FEEDBACK, token)
            record_feedback(row, paper_id=paper_id, more=more)
        what = "more" if more else "fewer"
        return web.notice(
            request,
            "Thanks, noted",
            f"From the next digest on you will get {what} papers like {paper_id}.",
        )
