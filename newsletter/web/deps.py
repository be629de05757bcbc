"""What a route may ask for, as FastAPI dependencies (`Annotated[..., Depends(...)]`).

The per-app pieces come from `app.state`, where `create_app` put them; the per-request ones
are made here. The rules travel with the aliases, so a route cannot forget one:
- `DbSession` is the one place a route gets the database: one transaction per request,
  committed when the route returns and rolled back when it raises, always before the
  response is sent (scope "function"), so a redirect never shows a change not yet stored
  and mail queued with `MailDep` leaves only after the commit.
- `CsrfForm` (or `RequireCsrf` where the values are not needed) reads a posted form with
  small limits and refuses it (403) unless its CSRF token is valid for the path.
- `PreferencesRow` and its siblings are the subscriber whose signed link the path carries,
  for that purpose only: a tampered, expired, revoked or other-purpose link ends the
  request with an explanation page. `Durably` opens such a link in a transaction of its
  own, retried while the database is busy, for the writes that must never be lost.
FastAPI resolves a route's `dependencies=[...]` first, then its parameters in order: a
check that must come before the link is read (CSRF, a rate limit) goes first. Dependencies
that only read memory are `async def` (FastAPI would send each `def` to the thread pool);
those that touch the database are `def`, so they run in the pool like the routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, TypeVar, cast

from fastapi import BackgroundTasks, Depends, Path, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from newsletter.config import Settings
from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.subscriber_rows import get
from newsletter.db.topics import topic_of
from newsletter.delivery.compose import Composer
from newsletter.mail.links import Links
from newsletter.mail.tokens import Purpose, TokenClaims, TokenError, Tokens
from newsletter.normalize import storable_text
from newsletter.subscribers.learning import Learner
from newsletter.web import forms
from newsletter.web.context import Limiters, Mail, OutgoingMail, WebLimits
from newsletter.web.errors import PageError
from newsletter.web.library import Upload, upload_in
from newsletter.web.pages import Pages, Site, pages_for, site_of
from newsletter.web.preview import Previewer
from newsletter.web.retry import until_stored
from newsletter.web.security import CSRF_FIELD, Csrf, RateLimiter, client_key
from newsletter.web.signup import Signups

MAX_FIELDS = 200  # a form has ~20 fields and a dozen category boxes
MAX_PART = 16_000
MAX_TOKEN_LENGTH = 400
TOO_MANY = "Please wait a while and try again."
# The way back from a dead link: the subscribe form mails a subscribed address its links
# (and a confirmation link to anyone else), without saying which it did.
FRESH_LINK_HOW = (
    "To get a fresh one, enter your address on the home page: we mail you a link to your "
    "preferences if you are subscribed, or a new confirmation link if not."
)
FRESH_LINK = [("Get a fresh link from the home page", "/")]
T = TypeVar("T")


# The pieces built once per app (see `create_app`), read back typed.
async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_sessions(request: Request) -> sessionmaker[Session]:
    return cast(sessionmaker[Session], request.app.state.sessions)


async def get_links(request: Request) -> Links:
    return cast(Links, request.app.state.links)


async def get_site(request: Request) -> Site:
    return site_of(request)


async def get_previewer(request: Request) -> Previewer:
    return cast(Previewer, request.app.state.previewer)


async def get_limits(request: Request) -> WebLimits:
    return cast(WebLimits, request.app.state.limits)


async def get_limiters(request: Request) -> Limiters:
    return cast(Limiters, request.app.state.limiters)


async def get_composer(request: Request) -> Composer:
    return cast(Mail, request.app.state.mail).composer


async def get_scheduler_alive(request: Request) -> Callable[[], bool] | None:
    return cast(Callable[[], bool] | None, request.app.state.scheduler_alive)


async def get_signups(request: Request) -> Signups:
    return cast(Signups, request.app.state.signups)


async def get_learner(request: Request) -> Learner:
    return cast(Learner, request.app.state.learner)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
LinksDep = Annotated[Links, Depends(get_links)]
SiteDep = Annotated[Site, Depends(get_site)]
ComposerDep = Annotated[Composer, Depends(get_composer)]
PreviewerDep = Annotated[Previewer, Depends(get_previewer)]
LimitsDep = Annotated[WebLimits, Depends(get_limits)]
LimitersDep = Annotated[Limiters, Depends(get_limiters)]
SchedulerAliveDep = Annotated[Callable[[], bool] | None, Depends(get_scheduler_alive)]
SignupsDep = Annotated[Signups, Depends(get_signups)]
LearnerDep = Annotated[Learner, Depends(get_learner)]


# One request's database transaction, time, pages and mail.
def db_session(sessions: SessionsDep) -> Iterator[Session]:
    with sessions.begin() as session:
        yield session


async def request_time(request: Request) -> datetime:
    clock = cast(Callable[[], float], request.app.state.clock)
    return datetime.fromtimestamp(clock(), UTC)


async def get_templates(site: SiteDep) -> Jinja2Templates:
    return site.templates


async def get_client_key(request: Request) -> str:
    return client_key(request)


async def get_pages(request: Request) -> Pages:
    return pages_for(request)


async def outgoing_mail(request: Request, background: BackgroundTasks) -> OutgoingMail:
    return OutgoingMail(cast(Mail, request.app.state.mail), background)


DbSession = Annotated[Session, Depends(db_session, scope="function")]
NowDep = Annotated[datetime, Depends(request_time)]
PagesDep = Annotated[Pages, Depends(get_pages)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
MailDep = Annotated[OutgoingMail, Depends(outgoing_mail)]
ClientKey = Annotated[str, Depends(get_client_key)]


def allow(limiter: RateLimiter, client: str, message: str = TOO_MANY) -> None:
    """429 once the client used up its share of `limiter`."""
    if not limiter.allow(client):
        raise PageError(429, "Too many requests", message)


async def limit_previews(limiters: LimitersDep, client: ClientKey) -> None:
    allow(limiters.preview, client)


# Posted forms.
async def read_form(
    request: Request, *, max_fields: int = MAX_FIELDS, max_part: int = MAX_PART, max_files: int = 0
) -> FormData:
    return await request.form(max_fields=max_fields, max_files=max_files, max_part_size=max_part)


def require_csrf(request: Request, form: FormData, *, path: str | None = None) -> None:
    """403 unless the form's token was issued, in this browser, for `path` (default: the
    path posted to; subscribe and preview share the subscribe form's token, for "/")."""
    csrf: Csrf = site_of(request).csrf
    submitted = form.get(CSRF_FIELD)
    if not csrf.valid(
        submitted=submitted if isinstance(submitted, str) else "",
        cookie=request.cookies.get(csrf.cookie),
        path=path or request.url.path,
    ):
        raise PageError(
            403,
            "This form has expired",
            "For your security, forms work only in the browser that opened them, for "
            "12 hours, with cookies on. Go back, reload the page and send it again.",
        )


def csrf_form(
    *,
    path: str | None = None,
    max_fields: int = MAX_FIELDS,
    max_part: int = MAX_PART,
    max_files: int = 0,
) -> Callable[[Request], Awaitable[FormData]]:
    """A dependency: the posted form, once its CSRF token is checked (`require_csrf`).
    `max_files`: file fields it may carry (a library upload; the body limit is the
    middleware's, see `security.UPLOAD_PATHS`)."""

    async def checked_form(request: Request) -> FormData:
        form = await read_form(
            request, max_fields=max_fields, max_part=max_part, max_files=max_files
        )
        require_csrf(request, form, path=path)
        return form

    return checked_form


def values_of(form: FormData) -> forms.FormValues:
    """What the form says, without characters no database can store (NUL, lone
    surrogates): dropped here, at the edge, so the page shows what will be kept."""
    texts = {k: storable_text(v) for k, v in form.multi_items() if isinstance(v, str)}
    ticked = [storable_text(v) for v in form.getlist("categories") if isinstance(v, str)]
    return forms.from_form(texts, ticked)


_own_form = csrf_form()
# The subscribe form (and its preview button) may carry the reader's library file.
_subscribe_form = csrf_form(path="/", max_files=1)
_upload_form = csrf_form(max_files=1)
CsrfForm = Annotated[FormData, Depends(_own_form)]
RequireCsrf = Depends(_own_form)
RequirePreviewLimit = Depends(limit_previews)
UploadForm = Annotated[FormData, Depends(_upload_form)]


async def _subscribe_upload(
    form: Annotated[FormData, Depends(_subscribe_form)],
) -> Upload | None:
    return await upload_in(form)


async def _library_upload(form: UploadForm) -> Upload | None:
    return await upload_in(form)


SubscribeUpload = Annotated[Upload | None, Depends(_subscribe_upload)]
LibraryUpload = Annotated[Upload | None, Depends(_library_upload)]


async def _profile_values(form: CsrfForm) -> forms.FormValues:
    return values_of(form)


async def _subscribe_values(
    form: Annotated[FormData, Depends(_subscribe_form)],
) -> forms.FormValues:
    return values_of(form)


ProfileForm = Annotated[forms.FormValues, Depends(_profile_values)]
SubscribeForm = Annotated[forms.FormValues, Depends(_subscribe_values)]


# Mailed links.
@dataclass(frozen=True)
class Opened:
    row: SubscriberRow
    claims: TokenClaims


@dataclass(frozen=True)
class LinkOpener:
    """Reads a mailed link's signed token within the request's transaction."""

    session: Session
    tokens: Tokens

    def open(self, purpose: Purpose, token: str) -> Opened:
        """The subscriber a link is for, or PageError: tampered, expired, for another
        purpose, or revoked (the subscriber is gone or its token key was replaced)."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise PageError(400, "This link is not valid", "The link is too long.", FRESH_LINK)
        try:
            claims = self.tokens.read(purpose, token)
        except TokenError as exc:
            raise PageError(
                400,
                "This link does not work",
                f"Sorry, {exc}. Links work only as mailed. {FRESH_LINK_HOW}",
                FRESH_LINK,
            ) from None
        row = get(self.session, claims.subscriber_id)
        if row is None or row.token_key != claims.token_key:
            raise PageError(
                404,
                "This link no longer works",
                "The subscription it belongs to was deleted, or its links were replaced. "
                + FRESH_LINK_HOW,
                FRESH_LINK,
            )
        return Opened(row, claims)

    def subscriber(self, purpose: Purpose, token: str) -> SubscriberRow:
        return self.open(purpose, token).row


async def link_opener(session: DbSession, links: LinksDep) -> LinkOpener:
    return LinkOpener(session, links.tokens)


OpenLink = Annotated[LinkOpener, Depends(link_opener)]


@dataclass(frozen=True)
class DurableChange:
    """A change to a mailed link's subscriber that must never be lost (one-click
    unsubscribe): its own transaction, tried again while the database is busy (`retry`)."""

    sessions: sessionmaker[Session]
    tokens: Tokens

    async def apply(
        self, purpose: Purpose, token: str, change: Callable[[Session, SubscriberRow], T]
    ) -> T:
        def attempt() -> T:
            with self.sessions.begin() as session:
                return change(session, LinkOpener(session, self.tokens).subscriber(purpose, token))

        return await until_stored(attempt)


async def durable_change(sessions: SessionsDep, links: LinksDep) -> DurableChange:
    return DurableChange(sessions, links.tokens)


Durably = Annotated[DurableChange, Depends(durable_change)]


def _opened(purpose: Purpose) -> Callable[[str, LinkOpener], Opened]:
    def opened(token: str, opener: OpenLink) -> Opened:
        return opener.open(purpose, token)

    return opened


def _subscriber(purpose: Purpose) -> Callable[[str, LinkOpener], SubscriberRow]:
    def subscriber(token: str, opener: OpenLink) -> SubscriberRow:
        return opener.subscriber(purpose, token)

    return subscriber


ConfirmRow = Annotated[SubscriberRow, Depends(_subscriber(Purpose.CONFIRM))]
PreferencesRow = Annotated[SubscriberRow, Depends(_subscriber(Purpose.PREFERENCES))]
UnsubscribeRow = Annotated[SubscriberRow, Depends(_subscriber(Purpose.UNSUBSCRIBE))]
FeedbackRow = Annotated[SubscriberRow, Depends(_subscriber(Purpose.FEEDBACK))]
FeedRow = Annotated[SubscriberRow, Depends(_subscriber(Purpose.FEED))]
ViewLink = Annotated[Opened, Depends(_opened(Purpose.VIEW))]


# A topic of the subscriber whose preferences link the path carries.
TopicId = Annotated[int, Path(ge=1, le=2**31 - 1, description="One of the reader's topics.")]


def _topic(topic_id: TopicId, row: PreferencesRow, session: DbSession) -> InterestProfileRow:
    topic = topic_of(session, row.id, topic_id)
    if topic is None:
        raise PageError(
            404,
            "No such topic",
            "This topic was deleted, or the link belongs to another subscription.",
        )
    return topic


TopicRow = Annotated[InterestProfileRow, Depends(_topic)]
