"""Rate to begin: ~10 recent papers, each with "relevant" / "not relevant" buttons that are
plain forms (no script needed), and after each rating the topic's model refitted at once and
the page saying what changed.

Two doors lead here: the subscribed page after confirming (the confirmation link's own
scope, `/confirm/<token>/rate`: it rates the first topic and shows no way to the
preferences, since anyone holding the confirmation mail can open it; the preferences link
comes in the welcome mail), and any topic's page under the preferences link. GET only shows;
the rating is a POST with a CSRF token, like every form here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from newsletter.db.examples import VoteSource, judged_ids, model_bytes, record_vote, vote_count
from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.papers import papers_by_id
from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import Paper
from newsletter.mail.render import long_date
from newsletter.normalize import MAX_PAPER_ID, storable_text
from newsletter.subscribers.latest import LatestDay, Outlook
from newsletter.subscribers.learning import Learner, Refit
from newsletter.web.errors import PageError
from newsletter.web.pages import Pages

VOTES = {"relevant": True, "not-relevant": False}


@dataclass(frozen=True)
class Rated:
    """One rating and what it changed in the latest day's digest of the topic (`day`: the
    latest day, ranked once per request)."""

    paper: Paper
    relevant: bool
    refit: Refit
    before: Outlook | None
    after: Outlook | None
    day: LatestDay | None = None


def rating_of(form: FormData) -> tuple[str, bool]:
    """(paper id, relevant?) from a rating form; PageError for a form that was edited."""
    paper, vote = form.get("paper"), form.get("vote")
    if not isinstance(paper, str) or not isinstance(vote, str) or vote not in VOTES:
        raise PageError(400, "This rating is not valid", "It names no paper or no rating.")
    paper = storable_text(paper).strip()
    if not paper or len(paper) > MAX_PAPER_ID:
        raise PageError(400, "This rating is not valid", "It names no paper.")
    return paper, VOTES[vote]


def rate(
    session: Session,
    topic: InterestProfileRow,
    *,
    paper_id: str,
    relevant: bool,
    learner: Learner,
    now: datetime,
    source: VoteSource = VoteSource.RATING,
) -> Rated:
    """Store the rating, refit the topic's model, and compare the latest day's digest
    before and after. PageError for a paper that is not stored."""
    paper = papers_by_id(session, [paper_id]).get(paper_id)
    if paper is None:
        raise PageError(
            404, "No such paper", "This paper is not among the stored ones: rate another."
        )
    day = learner.latest(session)
    before = day.outlook(to_profile(topic), model_bytes(session, topic.id)) if day else None
    record_vote(
        session, topic.id, paper_id=paper.id, liked=relevant, source=source, now=now, paper=paper
    )
    refit = learner.refit(session, topic, now=now)
    after = day.outlook(to_profile(topic), model_bytes(session, topic.id)) if day else None
    return Rated(paper, relevant, refit, before, after, day)


def rating_page(
    pages: Pages,
    session: Session,
    topic: InterestProfileRow,
    *,
    learner: Learner,
    action: str,
    back: tuple[str, str] | None,
    max_papers: int,
    rated: Rated | None = None,
) -> HTMLResponse:
    """The papers to rate next under the topic's current model, and what the last rating
    changed. `back`: the (label, path) of the way back, None on the confirmation's page."""
    day = rated.day if rated else learner.latest(session)
    papers: list[Paper] = []
    outlook = rated.after if rated else None
    if day is not None:
        model = model_bytes(session, topic.id)
        judged = judged_ids(session, topic.id)
        papers = day.to_rate(to_profile(topic), model, judged=judged)
        outlook = outlook or day.outlook(to_profile(topic), model)
    context: dict[str, Any] = {
        "topic_name": topic.name,
        "papers": papers,
        "action": action,
        "back": back,
        "rated": rated,
        "ratings": vote_count(session, topic.id, source=VoteSource.RATING),
        "outlook": outlook,
        "max_papers": max_papers,
        "changed": changed_lines(rated, max_papers) if rated else [],
    }
    return pages.render("rate.html", context)


def changed_lines(rated: Rated, max_papers: int) -> list[str]:
    """What the rating changed, in words: the day's count over the threshold, before and
    after, and why nothing was learned when nothing was."""
    lines = []
    if not rated.refit.fitted and rated.refit.reason:
        reason = rated.refit.reason
        lines.append(f"{reason[:1].upper()}{reason[1:]}.")
    before, after = rated.before, rated.after
    if before is not None and after is not None:
        day = long_date(after.day)
        count, was = len(after.included), len(before.included)
        moved = "no change" if count == was else f"before this rating: {was}"
        shown = f"; a digest shows the best {max_papers}" if count > max_papers else ""
        lines.append(
            f"Of the {day} papers, {count} would now be in this topic's digest ({moved}{shown})."
        )
    return lines


def learn_from_digest_vote(
    session: Session,
    row: SubscriberRow,
    *,
    paper_id: str,
    more: bool,
    learner: Learner,
    now: datetime,
    source: VoteSource = VoteSource.DIGEST,
    topic: InterestProfileRow | None = None,
) -> Refit | None:
    """A "more / less like this" vote (already recorded in the topic's liked or disliked
    papers) kept as a vote of `topic` (the one the link names, checked to be the reader's;
    None: an older link, the first topic), whose model is refitted at once. A paper that is
    not stored is kept with its id alone (its text cannot be learned from)."""
    topic = topic if topic is not None else row.profile
    if topic is None:
        return None
    paper = papers_by_id(session, [paper_id]).get(paper_id)
    record_vote(
        session, topic.id, paper_id=paper_id, liked=more, source=source, now=now, paper=paper
    )
    return learner.refit(session, topic, now=now)
