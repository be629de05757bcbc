"""The JSON API: the forms' operations for scripts and apps (OpenAPI at /docs).

No cookies and no CSRF token: a request authenticates with the token in its path (or is
the subscribe request anyone may make), and bodies must be `application/json`, which a
cross-site HTML form cannot send. The same rules as the pages apply: identical answers for
every address, the per-IP limit, the cooldown, the honeypot.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.background import BackgroundTasks

from newsletter.db.subscribers import unsubscribe
from newsletter.db.subscriptions import (
    delete_subscriber,
    record_feedback,
    set_paused,
    update_preferences,
)
from newsletter.mail.tokens import Purpose
from newsletter.web import forms
from newsletter.web.context import PageError, Web
from newsletter.web.feedback import feedback_target
from newsletter.web.manage import export
from newsletter.web.subscribe import SUBSCRIBED_MESSAGE, request_and_mail

Term = Annotated[str, StringConstraints(max_length=100)]
Terms = Annotated[list[Term], Field(max_length=50)]
PaperIds = Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=50)]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=2000, description="What you read, in your words.")
    keywords: Terms = Field(default_factory=list)
    exclude: Terms = Field(default_factory=list, description="Never show papers about these.")
    categories: Annotated[
        list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=60)
    ] = Field(default_factory=list, description="arXiv categories, e.g. cs.CL.")
    category_mode: Literal["boost", "filter"] = "boost"
    authors: Terms = Field(default_factory=list)
    send_hour: int = Field(7, ge=0, le=23, description="Local hour the digest is sent.")
    timezone: str = Field("", max_length=64, description="IANA zone; empty: the default.")
    frequency: Literal["daily", "weekly"] = "daily"
    send_weekday: int = Field(0, ge=0, le=6, description="Weekly digests: 0 is Monday.")


class SubscribeIn(ProfileIn):
    email: str = Field(max_length=320)
    website: str = Field("", max_length=500, description="Leave empty (a trap for bots).")


class PreferencesIn(ProfileIn):
    seed_papers: PaperIds = Field(default_factory=list)
    disliked_papers: PaperIds = Field(default_factory=list)
    paused: bool | None = Field(None, description="Pause or resume; null leaves it as is.")


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paper: str = Field(max_length=64)
    vote: Literal["more", "less"]


class Accepted(BaseModel):
    status: str
    detail: str


class PreviewPaper(BaseModel):
    id: str
    title: str
    score: float
    why: list[str]


class PreviewOut(BaseModel):
    day: str | None
    papers: list[PreviewPaper]


def _checked(web: Web, body: ProfileIn, *, email: str | None) -> forms.Checked:
    examples = body if isinstance(body, PreferencesIn) else None
    parts = forms.ProfileParts(
        description=body.description,
        keywords=body.keywords,
        exclude=body.exclude,
        categories=body.categories,
        category_mode=body.category_mode,
        authors=body.authors,
        seed_papers=examples.seed_papers if examples else (),
        disliked_papers=examples.disliked_papers if examples else (),
    )
    try:
        return forms.check_parts(
            email=email,
            profile=parts,
            send_hour=str(body.send_hour),
            send_weekday=str(body.send_weekday),
            timezone=body.timezone,
            frequency=body.frequency,
            default_timezone=web.settings.timezone,
        )
    except forms.FormError as exc:
        raise InvalidInput(exc.problems) from None


class InvalidInput(Exception):
    """Answered 422 with every problem by field (see `invalid_handler`)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems


def api_router(web: Web) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["subscriptions"])
    invalid: dict[int | str, dict[str, Any]] = {
        422: {"description": "Invalid input: every problem, by field"}
    }

    def limited(request: Request, *, preview: bool = False) -> None:
        limiter = web.preview_limiter if preview else web.subscribe_limiter
        if not limiter.allow(web.client(request)):
            raise PageError(429, "Too many requests", "Too many requests: try again later.")

    @router.post("/subscribe", status_code=202, responses=invalid)
    def subscribe(request: Request, body: SubscribeIn, background: BackgroundTasks) -> Accepted:
        """Ask for a subscription: a confirmation mail goes to the address (or, for one
        already subscribed, a link to its preferences). The answer is always the same."""
        limited(request)
        if not body.website:
            request_and_mail(web, _checked(web, body, email=body.email), background)
        return Accepted(status="accepted", detail=SUBSCRIBED_MESSAGE)

    @router.post("/preview", responses=invalid)
    def preview(request: Request, body: ProfileIn) -> PreviewOut:
        """What the profile would have received from the latest day's papers (not stored)."""
        limited(request, preview=True)
        result = web.previewer.preview(_checked(web, body, email=None).profile)
        return PreviewOut(
            day=result.day.isoformat() if result.day else None,
            papers=[
                PreviewPaper(id=m.paper.id, title=m.paper.title, score=m.score, why=list(m.why))
                for m in result.matches
            ],
        )

    @router.get("/preferences/{token}")
    def get_preferences(token: str) -> dict[str, object]:
        with web.sessions() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            return export(row)

    @router.put("/preferences/{token}", responses=invalid)
    def put_preferences(token: str, body: PreferencesIn) -> dict[str, object]:
        checked = _checked(web, body, email=None)
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            update_preferences(row, profile=checked.profile, schedule=checked.schedule)
            if body.paused is not None:
                set_paused(row, paused=body.paused, now=web.now())
            session.flush()
            return export(row)

    @router.delete("/preferences/{token}", status_code=204)
    def delete_everything(token: str) -> Response:
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            delete_subscriber(session, row)
        return Response(status_code=204)

    @router.post("/unsubscribe/{token}")
    def unsubscribe_now(token: str) -> Accepted:
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.UNSUBSCRIBE, token)
            unsubscribe(session, subscriber=row, now=web.now())
        return Accepted(status="unsubscribed", detail="No more digests will be sent.")

    @router.post("/feedback/{token}")
    def feedback(token: str, body: FeedbackIn) -> Accepted:
        paper_id, more = feedback_target(body.paper, body.vote)
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.FEEDBACK, token)
            record_feedback(row, paper_id=paper_id, more=more)
        return Accepted(status="noted", detail=f"{body.vote} like {paper_id}")

    return router


def invalid_handler(_: Request, exc: Exception) -> JSONResponse:
    problems = exc.problems if isinstance(exc, InvalidInput) else {}
    return JSONResponse({"detail": "invalid input", "problems": problems}, status_code=422)
