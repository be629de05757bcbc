"""The JSON API's bodies and answers for topics, libraries, votes and what was learned.

A topic's profile has the preferences' profile fields with the same limits (`schemas`), and
no schedule: one subscription, one schedule. Checked by the same code as the pages' forms.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from newsletter.db.topics import MAX_NAME, MAX_TOPICS
from newsletter.domain import InterestProfile
from newsletter.web import forms
from newsletter.web.errors import InvalidInput
from newsletter.web.schemas import PaperIds, Terms
from newsletter.web.topics import TopicSummary, profile_json

TopicIdValue = Annotated[int, Field(ge=1, le=2**31 - 1)]
# A library file's text: what the pages' upload takes (WebLimits.max_upload_bytes).
MAX_LIBRARY_CHARS = 2_000_000


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_NAME + 20, description=f"At most {MAX_NAME} characters.")
    description: str = Field("", max_length=2000)
    keywords: Terms = Field(default_factory=list)
    exclude: Terms = Field(default_factory=list)
    categories: Annotated[
        list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=60)
    ] = Field(default_factory=list)
    category_mode: Literal["boost", "filter"] = "boost"
    authors: Terms = Field(default_factory=list)
    seed_papers: PaperIds = Field(default_factory=list)
    disliked_papers: PaperIds = Field(default_factory=list)

    def profile(self) -> InterestProfile:
        """Checked as the forms check it, or InvalidInput."""
        parts = forms.ProfileParts(
            description=self.description, keywords=self.keywords, exclude=self.exclude,
            categories=self.categories, category_mode=self.category_mode,
            authors=self.authors, seed_papers=self.seed_papers,
            disliked_papers=self.disliked_papers,
        )  # fmt: skip
        try:
            return forms.check_parts(
                email=None, profile=parts, send_hour="7", send_weekday="0", timezone="UTC",
                frequency="daily", default_timezone="UTC",
            ).profile  # fmt: skip
        except forms.FormError as exc:
            raise InvalidInput(exc.problems) from None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: list[TopicIdValue] = Field(
        max_length=MAX_TOPICS, description="Every topic's id, in the order wanted."
    )


class LibraryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field("library", max_length=200, description="Its extension breaks ties.")
    content: str = Field(
        max_length=MAX_LIBRARY_CHARS,
        description="The file's text: BibTeX, RIS, Zotero CSV or RDF, CSL JSON, or ids.",
    )


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paper: str = Field(max_length=255, description="A stored paper's id.")
    vote: Literal["relevant", "not-relevant", "more", "less"]

    @property
    def liked(self) -> bool:
        return self.vote in ("relevant", "more")


class TopicOut(BaseModel):
    id: int
    name: str
    position: int
    library: int
    votes: int
    fitted_at: str | None
    profile: dict[str, Any]


def topic_out(summary: TopicSummary, profile: InterestProfile) -> TopicOut:
    return TopicOut(
        id=summary.id,
        name=summary.name,
        position=summary.position,
        library=summary.library,
        votes=summary.votes,
        fitted_at=summary.fitted_at.isoformat() if summary.fitted_at else None,
        profile=profile_json(profile),
    )
