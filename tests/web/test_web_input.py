"""No input yields a 500 (issue 14, finding 3) and API errors have one shape that never echoes
what was sent (issue 13, item 10): odd JSON numbers, NUL and lone surrogates, and many
sign-ups for one address at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from newsletter.db.models import SubscriberRow
from newsletter.db.subscriber_rows import to_profile
from newsletter.web.context import WebLimits
from tests.support.web_support import (
    Database,
    RecordingMailer,
    csrf_of,
    link_path,
    links,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio
SHAPE = {"detail", "problems"}
MANY = WebLimits(subscribe_per_ip=1000, preview_per_ip=1000)


def body(**fields: Any) -> dict[str, Any]:
    return {"email": "in@example.org", "keywords": ["retrieval"], **fields}


def api_paths(database: Database) -> dict[str, tuple[str, str]]:
    """(method, path) of each API route that takes a body, with a working token."""
    made = links(database.settings)
    who = subscriber(database.sessions, "owner@example.org")
    tail = {kind: link_path(getattr(made, kind)(who)) for kind in ("preferences", "feedback")}
    return {
        "subscribe": ("POST", "/api/subscribe"),
        "preview": ("POST", "/api/preview"),
        "preferences": ("PUT", "/api" + tail["preferences"]),
        "feedback": ("POST", "/api" + tail["feedback"]),
    }


async def send_raw(
    web: httpx.AsyncClient, method: str, path: str, raw: str | bytes
) -> httpx.Response:
    content = raw.encode() if isinstance(raw, str) else raw
    return await web.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )


async def test_api_errors_have_one_shape_and_never_echo_the_input(database: Database) -> None:
    long_text = "echo" * 2500  # 10,000 characters
    async with web_client(
        database.settings, database.sessions, mailer=RecordingMailer(), limits=MANY
    ) as web:
        answers = {
            "too long": await web.post("/api/subscribe", json=body(description=long_text)),
            "wrong type": await web.post("/api/subscribe", json=body(send_hour=long_text)),
            "unknown field": await web.post("/api/subscribe", json=body(**{long_text: 1})),
            "not json": await send_raw(web, "POST", "/api/subscribe", long_text),
            "too deep": await send_raw(web, "POST", "/api/subscribe", "[" * 30_000),
            "not utf-8": await send_raw(web, "POST", "/api/subscribe", b'{"email": "\xff"}'),
            "not an object": await web.post("/api/subscribe", json=[long_text]),
            "bad address": await web.post("/api/subscribe", json=body(email=long_text[:300])),
            "bad query": await web.get("/api/papers", params={"date": long_text}),
            "unknown path": await web.get("/api/" + long_text[:100]),
            "wrong method": await web.get("/api/subscribe"),
            "bad token": await web.get("/api/preferences/" + long_text[:300]),
        }
    for what, answer in answers.items():
        assert 400 <= answer.status_code < 500, what
        assert answer.headers["content-type"] == "application/json", what
        assert set(answer.json()) == SHAPE, (what, answer.text[:300])
        assert isinstance(answer.json()["detail"], str), what
        assert "echoecho" not in answer.text, what
        assert len(answer.content) < 600, what
    assert set(answers["too long"].json()["problems"]) == {"description"}
    assert set(answers["wrong type"].json()["problems"]) == {"send_hour"}
    assert answers["unknown field"].json()["problems"] == {"body": "unknown field"}
    assert set(answers["bad query"].json()["problems"]) == {"date"}
    assert answers["wrong method"].status_code == 405


@pytest.mark.parametrize(
    "raw",
    [
        '{"email": "n@example.org", "keywords": ["x"], "send_hour": NaN}',
        '{"email": "n@example.org", "keywords": ["x"], "send_hour": Infinity}',
        '{"email": "n@example.org", "keywords": ["x"], "send_hour": -Infinity}',
        '{"email": "n@example.org", "keywords": ["x"], "send_hour": 1e999}',
        '{"email": "n@example.org", "keywords": ["x"], "send_hour": 1' + "0" * 5000 + "}",
        '{"email": "n@example.org", "keywords": ["x"], "paper": 1e999, "vote": NaN}',
    ],
)
async def test_nan_infinity_and_huge_numbers_are_refused_on_every_api_route(
    database: Database, raw: str
) -> None:
    async with web_client(
        database.settings, database.sessions, mailer=RecordingMailer(), limits=MANY
    ) as web:
        for name, (method, path) in api_paths(database).items():
            answer = await send_raw(web, method, path, raw)
            assert answer.status_code == 422, (name, answer.text[:200])
            assert set(answer.json()) == SHAPE
            assert "not accepted" in next(iter(answer.json()["problems"].values()))


@pytest.mark.parametrize(("text", "escape"), [("\ud800x", r"\ud800x"), ("a\x00b", r"a\u0000b")])
async def test_nul_and_lone_surrogates_in_json_are_refused_by_field(
    database: Database, text: str, escape: str
) -> None:
    mailer = RecordingMailer()
    async with web_client(database.settings, database.sessions, mailer=mailer, limits=MANY) as web:
        for name, (method, path) in api_paths(database).items():
            for field in ("description", "keywords", "paper"):
                value = f'["{escape}"]' if field == "keywords" else f'"{escape}"'
                raw = f'{{"email": "s@example.org", "vote": "more", "{field}": {value}}}'
                answer = await send_raw(web, method, path, raw)
                assert answer.status_code == 422, (name, field, answer.text[:200])
                problems = answer.json()["problems"]
                assert list(problems) == [field + ("[0]" if field == "keywords" else "")]
                assert text not in answer.text
    assert mailer.sent == []
    with database.sessions() as session:  # nothing stored but the owner of the links
        assert session.scalar(select(func.count()).select_from(SubscriberRow)) == 1


async def test_nul_in_forms_is_stripped_and_the_rest_kept(database: Database) -> None:
    who = subscriber(database.sessions, "form@example.org")
    preferences = link_path(links(database.settings).preferences(who))
    async with web_client(database.settings, database.sessions, mailer=RecordingMailer()) as web:
        home = await web.get("/")
        subscribed = await web.post(
            "/",
            data={
                "email": "nul@example.org",
                "description": "retrieval\x00 augmented generation",
                "keywords": "rag\x00, search",
                "send_hour": "7",
                "csrf_token": csrf_of(home),
            },
        )
        page = await web.get(preferences)
        saved = await web.post(
            preferences,
            data={"description": "graphs\x00", "keywords": "gnn", "csrf_token": csrf_of(page)},
        )
    assert subscribed.status_code == 200
    assert saved.status_code == 303
    profile = to_profile(subscriber_row(database.sessions, "nul@example.org").profile)
    assert (profile.description, profile.keywords) == (
        "retrieval augmented generation",
        ("rag", "search"),
    )
    assert to_profile(
        subscriber_row(database.sessions, "form@example.org").profile
    ).description == ("graphs")


async def test_many_sign_ups_for_one_new_address_at_once(database: Database) -> None:
    """20 at once: each answered the same 202, one subscriber, one confirmation mail."""
    mailer = RecordingMailer()
    async with web_client(database.settings, database.sessions, mailer=mailer, limits=MANY) as web:
        answers = await asyncio.gather(
            *(web.post("/api/subscribe", json=body(email="race@example.org")) for _ in range(20))
        )
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 202
    with database.sessions() as session:
        rows = session.scalars(select(SubscriberRow)).all()
        assert [(r.email, r.status, r.profile is not None) for r in rows] == [
            ("race@example.org", "pending", True)
        ]
    assert [recipient for recipient, _ in mailer.sent] == ["race@example.org"]


def test_the_strict_parser_names_where_a_bad_string_is() -> None:
    from newsletter.web.strict_json import UnacceptableJson, loads

    assert loads(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for raw, where in [
        (b'{"a": {"b": ["ok", "\\u0000"]}}', "a.b[1]"),
        (b'{"\\ud800": 1}', "body"),
        (b'{"' + b"k" * 100 + b'": "\\udfff"}', "body"),  # a made-up key is not repeated
        (b'"\xed\xa0\x80"', "body"),  # a surrogate encoded in UTF-8 bytes
    ]:
        with pytest.raises(UnacceptableJson) as refused:
            loads(raw)
        assert refused.value.field == where
    with pytest.raises(UnacceptableJson):
        loads(json.dumps({"x": float("nan")}).encode())
