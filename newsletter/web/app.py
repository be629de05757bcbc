"""FastAPI app factory: everything it needs is passed in, so each test builds its own.

`create_app` builds the per-app pieces once and keeps them on `app.state` (see `context`,
`pages`); routes ask for them through `deps`. Routers live in `routes/`, one per area,
and errors become pages or JSON in `errors`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from newsletter import __version__
from newsletter.config import Settings
from newsletter.delivery import wiring
from newsletter.delivery.transactional import Mailer, smtp_mailer
from newsletter.mail.links import Links
from newsletter.mail.tokens import Tokens
from newsletter.matching.semantic import Embedder
from newsletter.resources import resource_dir
from newsletter.subscribers.learning import Learner
from newsletter.web import docs, errors
from newsletter.web.context import Limiters, Mail, WebLimits
from newsletter.web.head import HeadAsGet
from newsletter.web.ops import OpsAccess, OpsGate
from newsletter.web.pages import Site
from newsletter.web.preview import Previewer
from newsletter.web.routes import ROUTERS, dev_mail
from newsletter.web.security import Csrf, SecurityMiddleware
from newsletter.web.signup import Signups


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    mailer: Mailer | None = None,
    embedder: Embedder | None = None,
    learning_embedder: Embedder | None = None,
    clock: Callable[[], float] = time.time,
    limits: WebLimits | None = None,
    scheduler_alive: Callable[[], bool] | None = None,
) -> FastAPI:
    """`mailer` defaults to SMTP as configured; `embedder` (optional) makes the subscribe
    page's preview semantic like the digest; `learning_embedder` (optional) lets a vote, a
    rating or a library import refit the topic's model at once (without one, examples are
    stored and the model waits); `clock` drives tokens, CSRF and rate limits;
    `scheduler_alive` (given by `newsletter run`) makes /healthz check the scheduler too."""
    limits = limits or WebLimits.of(settings)
    secret = settings.secret_key.get_secret_value()
    links = Links(base_url=settings.base_url, tokens=Tokens(secret, clock=clock))
    composer = dataclasses.replace(wiring.composer(settings), links=links)
    csrf = Csrf(secret, https=settings.base_url.startswith("https://"), clock=clock)
    templates = Jinja2Templates(directory=resource_dir("templates"))
    access = OpsAccess.of(settings)

    # The explorers are served by `docs` with local assets, not FastAPI's CDN pages.
    app = FastAPI(title="newsletter", version=__version__, docs_url=None, redoc_url=None)
    state = app.state  # read back, typed, by the dependencies in `deps`
    state.settings, state.sessions, state.clock = settings, sessions, clock
    state.links = links
    mail = Mail(composer, mailer or smtp_mailer(settings, sessions), sessions, limits.quota(clock))
    state.mail = mail
    state.signups = Signups(
        sessions,
        mail,
        cooldown=limits.confirmation_cooldown,
        resubscribe_after=timedelta(days=settings.bounce_resubscribe_days),
    )
    state.site = Site(
        templates,
        csrf,
        composer.masthead.list_name,
        settings.uses_mail_sink,
        api_docs=access.docs_for_everyone,
    )
    state.previewer = Previewer(sessions, embedder, limit=settings.digest_max_papers)
    state.limits, state.limiters = limits, Limiters.of(limits, clock)
    state.learner = Learner.for_web(sessions, learning_embedder)
    state.scheduler_alive = scheduler_alive

    app.add_middleware(OpsGate, access=access)  # inside SecurityMiddleware: gets its headers
    app.add_middleware(
        SecurityMiddleware,
        csrf=csrf,
        max_body=limits.max_body_bytes,
        max_upload=limits.max_upload_bytes + limits.max_body_bytes,  # the file and the form
    )
    app.add_middleware(HeadAsGet)
    app.mount("/static", StaticFiles(directory=resource_dir("static")), name="static")
    if settings.uses_mail_sink:
        app.include_router(dev_mail.router)
    for router in ROUTERS:
        app.include_router(router)
    docs.install(app)
    errors.install(app)
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn must serve the app. X-Forwarded-For decides which client a request is
    counted against (the per-IP limit), so it is believed only from TRUSTED_PROXIES; by
    default uvicorn would believe it from 127.0.0.1, where any local client can send it."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
