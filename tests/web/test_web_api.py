"""The JSON API mirrors the forms, under the same rules; no input makes it answer 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from newsletter.config import Settings
from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import Status
from newsletter.mail.links import Recipient
from newsletter.web.app import create_app
from newsletter.web.context import WebLimits
from tests.support.smtp_server import (
    ScriptedSmtpServer,
)
from tests.support.web_support import (
    RecordingMailer,
    link_path,
    links,
    mail,
    smtp_settings,
    snapshot,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio


def body(**fields: Any) -> dict[str, Any]:
    return {
        "email": "api@example.org",
        "description": "protein structure prediction",
        "keywords": ["AlphaFold", "protein folding"],
        "categories": ["q-bio.BM"],
        "send_hour": 9,
        "timezone": "America/New_York",
        "frequency": "weekly",
        "send_weekday": 2,
        **fields,
    }


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_api_subscribe_mails_and_answers_the_same_for_everyone(
    sqlite_url: str, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    settings = smtp_settings(sqlite_url, smtp_server)
    subscriber(sessions, "active@example.org")
    async with web_client(settings, sessions) as web:
        new = await web.post("/api/subscribe", json=body())
        active = await web.post("/api/subscribe", json=body(email="active@example.org"))
        bot = await web.post("/api/subscribe", json=body(email="bot@example.org", website="x"))
    assert new.status_code == active.status_code == bot.status_code == 202
    assert new.json() == active.json() == bot.json()
    assert sorted(m.rcpt_tos[0] for m in smtp_server.accepted) == [
        "active@example.org",
        "api@example.org",
    ]
    row = subscriber_row(sessions, "api@example.org")
    assert row.status == Status.PENDING.value
    assert (row.frequency, row.send_weekday, row.timezone) == ("weekly", 2, "America/New_York")
    confirmation = next(m for m in smtp_server.accepted if m.rcpt_tos[0] == "api@example.org")
    assert mail(confirmation.data)["Subject"].startswith("Confirm")


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"email": "a@b.c\r\nBcc: x@y.z"}, "email"),
        ({"email": "nobody"}, "email"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"description": "", "keywords": [], "categories": []}, "profile"),
    ],
)
async def test_api_reports_problems_by_field(
    settings: Settings, sessions: sessionmaker[Session], fields: dict[str, Any], where: str
) -> None:
    async with web_client(settings, sessions, mailer=RecordingMailer()) as web:
        answer = await web.post("/api/subscribe", json=body(**fields))
    assert answer.status_code == 422
    assert where in answer.json()["problems"]
    assert snapshot(sessions) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"send_hour": 24},
        {"frequency": "hourly"},
        {"description": "x" * 2001},
        {"keywords": ["k"] * 51},
        {"email": "e" * 400},
        {"unknown": 1},
    ],
)
async def test_api_schema_limits(
    settings: Settings, sessions: sessionmaker[Session], fields: dict[str, Any]
) -> None:
    async with web_client(settings, sessions, mailer=RecordingMailer()) as web:
        answer = await web.post("/api/subscribe", json=body(**fields))
    assert answer.status_code == 422


async def test_api_needs_json(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """A cross-site HTML form can only send form or text bodies: refused, so no CSRF."""
    mailer = RecordingMailer()
    async with web_client(settings, sessions, mailer=mailer) as web:
        form = await web.post("/api/subscribe", data={"email": "x@example.org"})
        text = await web.post(
            "/api/subscribe", content=b'{"email": "x@example.org"}',
            headers={"content-type": "text/plain"},
        )  # fmt: skip
    assert (form.status_code, text.status_code) == (422, 422)
    assert mailer.sent == []


async def test_api_rate_limit(settings: Settings, sessions: sessionmaker[Session]) -> None:
    limits = WebLimits(subscribe_per_ip=1)
    async with web_client(settings, sessions, limits=limits, mailer=RecordingMailer()) as web:
        assert (await web.post("/api/subscribe", json=body())).status_code == 202
        limited = await web.post("/api/subscribe", json=body())
    assert limited.status_code == 429
    assert "detail" in limited.json()


async def test_api_preferences_round_trip_pause_and_delete(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who = subscriber(sessions)
    path = "/api/preferences/" + token(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        got = await web.get(path)
        assert got.json()["profile"]["keywords"] == ["language models"]
        put = await web.put(
            path,
            json={**body(), "seed_papers": ["2401.04088"], "paused": True} | {"email": None},
        )
        assert put.status_code == 422  # no email field here
        fields = {k: v for k, v in body().items() if k != "email"}
        put = await web.put(path, json={**fields, "seed_papers": ["2401.04088"], "paused": True})
        assert put.status_code == 200
        assert put.json()["status"] == "paused"
        assert put.json()["profile"]["seed_papers"] == ["2401.04088"]
        assert (await web.get(path)).json() == put.json()
        deleted = await web.delete(path)
        assert deleted.status_code == 204
        assert (await web.get(path)).status_code == 404
    assert snapshot(sessions) == []


async def test_api_unsubscribe_and_feedback(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who = subscriber(sessions)
    made = links(settings)
    async with web_client(settings, sessions) as web:
        liked = await web.post(
            "/api/feedback/" + token(made.feedback(who)),
            json={"paper": "2508.13167", "vote": "more"},
        )
        wrong = await web.post(
            "/api/feedback/" + token(made.feedback(who)), json={"paper": "nope", "vote": "more"}
        )
        gone = [await web.post("/api/unsubscribe/" + token(made.unsubscribe(who))) for _ in "12"]
        confirm_token = await web.post("/api/unsubscribe/" + token(made.confirm(who)))
    assert liked.status_code == 200
    assert wrong.status_code == 400
    assert [answer.status_code for answer in gone] == [200, 200]
    assert confirm_token.status_code == 400
    row = subscriber_row(sessions, "ada@example.org")
    assert row.status == Status.UNSUBSCRIBED.value
    assert to_profile(row.profile).seed_papers == ("2508.13167",)


async def test_openapi_lists_the_api(settings: Settings, sessions: sessionmaker[Session]) -> None:
    async with web_client(settings, sessions) as web:
        schema = (await web.get("/openapi.json")).json()
        docs = await web.get("/docs")
    assert {"/api/subscribe", "/api/preview", "/api/preferences/{token}"} <= set(schema["paths"])
    assert docs.status_code == 200
    # Issue 14: the explorer has a CSP too, allowing its own inline script by hash.
    assert "'sha256-" in docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in docs.headers["content-security-policy"].split("style-src")[0]


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.lists(st.text(max_size=120), max_size=60),
)
FIELDS = [
    "email", "description", "keywords", "exclude", "categories", "category_mode", "authors",
    "send_hour", "timezone", "frequency", "send_weekday", "website", "seed_papers",
    "disliked_papers", "paused", "paper", "vote",
]  # fmt: skip


@pytest.fixture
def api(settings: Settings, sessions: sessionmaker[Session]) -> tuple[TestClient, Recipient]:
    who = subscriber(sessions)
    limits = WebLimits(subscribe_per_ip=10**9, preview_per_ip=10**9)
    app = create_app(settings, sessions=sessions, mailer=RecordingMailer(), limits=limits)
    return TestClient(app, raise_server_exceptions=False), who


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.dictionaries(st.sampled_from(FIELDS), anything, max_size=len(FIELDS)),
    endpoint=st.sampled_from(["subscribe", "preview", "preferences", "feedback", "unsubscribe"]),
    garbage_token=st.booleans(),
)
def test_no_input_makes_the_api_fail(
    settings: Settings,
    api: tuple[TestClient, Recipient],
    payload: dict[str, Any],
    endpoint: str,
    garbage_token: bool,
) -> None:
    client, who = api
    made = links(settings)
    if endpoint in ("subscribe", "preview"):
        answer = client.post(f"/api/{endpoint}", json=payload)
    else:
        url = {"preferences": made.preferences, "feedback": made.feedback}.get(
            endpoint, made.unsubscribe
        )(who)
        path = "/api" + link_path(url)
        if garbage_token:
            # Percent-encoded, so the client can send any text (control characters included).
            tail = quote(str(payload.get("email", ""))[:20], safe="")
            path = path[:-4] + tail + "ab"
        method = "PUT" if endpoint == "preferences" else "POST"
        answer = client.request(method, path, json=payload)
    assert answer.status_code < 500, answer.text
