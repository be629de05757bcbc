"""The JSON API's bodies and answers (pydantic models: its OpenAPI schema at /docs).

Lists where the HTML forms have text, with the same limits; `checked` runs them through
the same checks as the forms, so both refuse the same input for the same reasons.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from newsletter.matching.profile import MAX_SEEDS
from newsletter.normalize import MAX_PAPER_ID
from newsletter.web import forms
from newsletter.web.errors import InvalidInput
from newsletter.web.preview import Preview

Term = Annotated[str, StringConstraints(max_length=100)]
Terms = Annotated[list[Term], Field(max_length=50)]
PaperId = Annotated[str, StringConstraints(max_length=MAX_PAPER_ID)]  # any id (normalize.paper_id)
PaperIds = Annotated[list[PaperId], Field(max_length=MAX_SEEDS)]


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

    paper: PaperId
    vote: Literal["more", "less"]
    # The topic the vote teaches (one of the reader's; the digest link's `topic`); none:
    # the first topic.
    topic: int | None = Field(default=None, ge=1, le=2**31 - 1)


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


def checked(body: ProfileIn, *, email: str | None, default_timezone: str) -> forms.Checked:
    """The body's profile and schedule checked as the forms' are, or InvalidInput."""
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
            default_timezone=default_timezone,
        )
    except forms.FormError as exc:
        raise InvalidInput(exc.problems) from None


def preview_out(result: Preview) -> PreviewOut:
    return PreviewOut(
        day=result.day.isoformat() if result.day else None,
        papers=[
            PreviewPaper(id=m.paper.id, title=m.paper.title, score=m.score, why=list(m.why))
            for m in result.matches
        ],
    )
