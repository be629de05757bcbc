"""No input makes any route answer 5xx (issue 14, finding 3), on SQLite and PostgreSQL.

A property test over every route the app serves (read from its routers, so a new route is
covered without editing this file): working or mangled tokens in the path, any query,
JSON with NaN, Infinity, 1e999, huge integers, NUL and lone surrogates, forms with NUL and a
valid CSRF token or none, raw bytes under any content type. Bounded (a few hundred cases)
so it runs with the suite; hypothesis keeps the failing example it finds.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from newsletter.config import Settings
from newsletter.db.subscriber_rows import find
from newsletter.db.topics import topics_of
from newsletter.mail.links import Links, Recipient
from newsletter.web.app import create_app
from newsletter.web.context import WebLimits
from newsletter.web.routes import ROUTERS, dev_mail
from tests.support.web_support import (
    Database,
    RecordingMailer,
    links,
    subscriber,
)

NONCE = "n" * 24
FIELDS = [
    "email", "description", "keywords", "exclude", "categories", "other_categories",
    "category_mode", "category_filter", "authors", "send_hour", "timezone", "frequency",
    "send_weekday", "website", "seed_papers", "disliked_papers", "paused", "paper", "vote",
    "action", "List-Unsubscribe", "name", "position", "order", "content", "filename", "library",
]  # fmt: skip
ODD_TEXT = ["\x00", "\ud800", "\udfff", "a\x00b", "\u202e", "\ufeff", "%00", "..", "€", "<b>"]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400, "1e-999"]
# Which token each path's {token} takes: the purpose is the first part of the path.
TOKEN_FOR = {
    "confirm": "confirm", "preferences": "preferences", "unsubscribe": "unsubscribe",
    "feedback": "feedback", "feed": "feed", "digest": "view",
}  # fmt: skip


def routes() -> list[tuple[str, str]]:
    found = [("GET", p) for p in ("/docs", "/redoc", "/openapi.json", "/static/site.css")]
    for router in (*ROUTERS, dev_mail.router):
        found += [(m, r.path) for r in router.routes for m in sorted(getattr(r, "methods", []))]
    return found


ROUTES = routes()

text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(ODD_TEXT),
    st.lists(st.sampled_from(ODD_TEXT) | st.text(max_size=3), max_size=5).map("".join),
)
values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), text
    ),  # floats: NaN and infinities included
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(FIELDS) | text, inner, max_size=6),
    ),
    max_leaves=20,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    body = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=8))
    raw = json.dumps(body)  # lone surrogates as \\udXXX escapes, NaN and inf as words
    if body and draw(st.booleans()):  # a number Python would read as infinity, or huge
        key = draw(st.sampled_from(sorted(body)))
        raw = raw.replace(
            json.dumps(key) + ": ",
            json.dumps(key) + ": " + draw(st.sampled_from(RAW_NUMBERS)) + ', "_": ',
            1,
        )
    return raw.encode()


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    method, path = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]))
    good_token = draw(st.booleans())
    garbage = quote(draw(text).encode("utf-8", "surrogatepass"), safe="")
    kind = draw(st.sampled_from(["none", "json", "form", "raw"]))
    body: dict[str, Any] = {}
    if kind == "json":
        body = {"content": draw(json_bodies()), "headers": {"content-type": "application/json"}}
    elif kind == "form":
        fields = draw(st.dictionaries(st.sampled_from(FIELDS), text, max_size=8))
        body = {"data": fields, "csrf": draw(st.booleans())}
    elif kind == "raw":
        content_type = draw(
            st.sampled_from(
                ["application/json", "application/x-www-form-urlencoded", "text/plain",
                 "multipart/form-data; boundary=x", "multipart/form-data; charset=unicode_escape",
                 "application/json; charset=utf-16"]
            )
        )  # fmt: skip
        body = {"content": draw(st.binary(max_size=200)), "headers": {"content-type": content_type}}
    query = draw(
        st.dictionaries(
            st.sampled_from(["paper", "vote", "date", "limit", "done"]), text, max_size=3
        )
    )
    return {"method": method, "path": path, "good_token": good_token, "garbage": garbage,
            "body": body, "query": query}  # fmt: skip


def concrete_path(
    template: str, made: Links, who: Recipient, good: bool, garbage: str, topic: int = 0
) -> str:
    def token(match: re.Match[str]) -> str:
        if match.group(0) == "{topic_id}":  # one of the subscriber's topics, or garbage
            return str(topic) if good else garbage or "x"
        purpose = TOKEN_FOR.get(template.removeprefix("/api").split("/")[1])
        if not good or purpose is None:
            return garbage or "x"
        url = (
            made.view(who, date(2025, 8, 20)) if purpose == "view" else getattr(made, purpose)(who)
        )
        return url.rsplit("/", 1)[1].removesuffix(".xml")

    return re.sub(r"\{\w+\}", token, template)


def no_5xx(database: Database, tmp_path: Any, examples: int) -> None:
    settings = database.settings.model_copy(update={"mail_sink_dir": tmp_path / "mail"})
    limits = WebLimits(subscribe_per_ip=10**9, preview_per_ip=10**9)
    app = create_app(settings, sessions=database.sessions, mailer=RecordingMailer(), limits=limits)
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set("csrf", NONCE)
    made = links(settings)
    csrf = app.state.site.csrf

    @hypothesis_settings(
        max_examples=examples, deadline=None, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )  # fmt: skip
    @given(request=requests())
    def check(request: dict[str, Any]) -> None:
        who = present_subscriber(database.sessions)
        path = concrete_path(
            request["path"], made, who, request["good_token"], request["garbage"],
            first_topic_id(database.sessions, who),
        )  # fmt: skip
        body = dict(request["body"])
        if "data" in body:  # encoded here: the client refuses lone surrogates
            fields = dict(body.pop("data"))
            if body.pop("csrf"):
                form_path = "/" if path in ("/", "/preview") else path
                fields["csrf_token"] = csrf.token(NONCE, form_path)
            body["content"] = encoded(fields).encode()
            body["headers"] = {"content-type": "application/x-www-form-urlencoded"}
        if request["query"]:
            path += "?" + encoded(request["query"])
        answer = client.request(request["method"], path, **body)
        assert answer.status_code < 500, (request, answer.text[:300])

    check()


def encoded(fields: dict[str, str]) -> str:
    def part(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{part(key)}={part(value)}" for key, value in fields.items())


def first_topic_id(sessions: sessionmaker[Session], who: Recipient) -> int:
    with sessions() as session:
        topics = topics_of(session, who.subscriber_id)
        return topics[0].id if topics else 1


def present_subscriber(sessions: sessionmaker[Session]) -> Recipient:
    """The subscriber the tokens name, made again when a case deleted it."""
    with sessions() as session:
        row = find(session, "owner@example.org")
        if row is not None:
            return Recipient(row.id, row.token_key)
    return subscriber(sessions, "owner@example.org")


def test_routes_are_found(settings: Settings) -> None:
    paths = {path for _, path in ROUTES}
    assert {"/", "/api/subscribe", "/unsubscribe/{token}", "/healthz", "/feed/{token}.xml"} <= paths
    assert len(ROUTES) > 30


def test_no_input_makes_any_route_answer_5xx(database: Database, tmp_path: Any) -> None:
    no_5xx(database, tmp_path, examples=300 if database.name == "sqlite" else 150)
