"""The JSON API: the forms' operations for scripts and apps (OpenAPI at /docs).

No cookies and no CSRF token: a request authenticates with the token in its path (or is
the subscribe request anyone may make), and bodies must be `application/json`, which a
cross-site HTML form cannot send. The same rules as the pages apply: identical answers for
every address, the per-IP limit, the cooldown, the honeypot. A body is checked before the
link's token is read, so a bad body gets its 422 whatever the link.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Response

from newsletter.db.subscriptions import (
    delete_subscriber,
    record_feedback,
    set_paused,
    update_preferences,
)
from newsletter.mail.tokens import Purpose
from newsletter.web.account import export, leave
from newsletter.web.deps import (
    ClientKey,
    DbSession,
    Durably,
    LearnerDep,
    LimitersDep,
    NowDep,
    OpenLink,
    PreferencesRow,
    PreviewerDep,
    SettingsDep,
    SignupsDep,
    allow,
)
from newsletter.web.feedback import feedback_target, feedback_topic
from newsletter.web.rating import learn_from_digest_vote
from newsletter.web.schemas import (
    Accepted,
    FeedbackIn,
    PreferencesIn,
    PreviewOut,
    ProfileIn,
    SubscribeIn,
    checked,
    preview_out,
)
from newsletter.web.signup import SUBSCRIBED_MESSAGE
from newsletter.web.strict_json import StrictJsonRoute

TOO_MANY = "Too many requests: try again later."
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input: every problem, by field"}
}

# Bodies are read by `strict_json`: no NaN or Infinity, no NUL or lone surrogates.
router = APIRouter(prefix="/api", tags=["subscriptions"], route_class=StrictJsonRoute)


@router.post("/subscribe", status_code=202, responses=INVALID)
def subscribe(
    body: SubscribeIn,
    settings: SettingsDep,
    limiters: LimitersDep,
    client: ClientKey,
    now: NowDep,
    signups: SignupsDep,
    background: BackgroundTasks,
) -> Accepted:
    """Ask for a subscription: a confirmation mail goes to the address (or, for one
    already subscribed, a link to its preferences). The answer is always the same, and
    comes before the request is stored (see `signup`)."""
    allow(limiters.subscribe, client, TOO_MANY)
    if not body.website:
        wanted = checked(body, email=body.email, default_timezone=settings.timezone)
        background.add_task(signups.request, wanted, now)
    return Accepted(status="accepted", detail=SUBSCRIBED_MESSAGE)


@router.post("/preview", responses=INVALID)
def preview(
    body: ProfileIn,
    settings: SettingsDep,
    limiters: LimitersDep,
    client: ClientKey,
    previewer: PreviewerDep,
) -> PreviewOut:
    """What the profile would have received from the latest day's papers (not stored)."""
    allow(limiters.preview, client, TOO_MANY)
    wanted = checked(body, email=None, default_timezone=settings.timezone)
    return preview_out(previewer.preview(wanted.profile))


@router.get("/preferences/{token}")
def get_preferences(row: PreferencesRow) -> dict[str, object]:
    return export(row)


@router.put("/preferences/{token}", responses=INVALID)
def put_preferences(
    token: str,
    body: PreferencesIn,
    opener: OpenLink,
    session: DbSession,
    settings: SettingsDep,
    now: NowDep,
) -> dict[str, object]:
    wanted = checked(body, email=None, default_timezone=settings.timezone)
    row = opener.subscriber(Purpose.PREFERENCES, token)
    update_preferences(row, profile=wanted.profile, schedule=wanted.schedule)
    if body.paused is not None:
        set_paused(row, paused=body.paused, now=now)
    session.flush()
    return export(row)


@router.delete("/preferences/{token}", status_code=204)
def delete_everything(row: PreferencesRow, session: DbSession) -> Response:
    delete_subscriber(session, row)
    return Response(status_code=204)


@router.post("/unsubscribe/{token}")
async def unsubscribe_now(token: str, durably: Durably, now: NowDep) -> Accepted:
    await durably.apply(Purpose.UNSUBSCRIBE, token, functools.partial(leave, pause=False, now=now))
    return Accepted(status="unsubscribed", detail="No more digests will be sent.")


@router.post("/feedback/{token}")
def feedback(
    token: str,
    body: FeedbackIn,
    opener: OpenLink,
    session: DbSession,
    learner: LearnerDep,
    now: NowDep,
) -> Accepted:
    paper_id, more = feedback_target(body.paper, body.vote)
    row = opener.subscriber(Purpose.FEEDBACK, token)
    topic = feedback_topic(session, row, body.topic)
    record_feedback(row, paper_id=paper_id, more=more, topic=topic)
    learn_from_digest_vote(
        session, row, paper_id=paper_id, more=more, learner=learner, now=now, topic=topic
    )
    return Accepted(status="noted", detail=f"{body.vote} like {paper_id}")
