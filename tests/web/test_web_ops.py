"""What operators and attackers see (issue 14, finding 8, the web part): /healthz names the
failed check, not the driver's message; docs and metrics are off or behind a token in
production; every response carries the security headers, 413 and 500 included; the API
explorer has a CSP; HSTS when the site is https."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.engine import session_factory
from newsletter.web.app import create_app
from tests.support.web_support import RecordingMailer

pytestmark = pytest.mark.anyio
STRONG_KEY = "VVabmG8tOXyVtkE4JLr0vCIkfqj9vLko8tTlX9PICxQ"
TOKEN = "ops-" + "Zq3xW9vLr2Tn8Ks5Pd7Hc4Jm6Bf1Gy0Ae"
OPS_PATHS = ("/docs", "/redoc", "/openapi.json", "/metrics")
HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
)


def production(sqlite_url: str, **fields: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        env="production", secret_key=STRONG_KEY, base_url="https://digest.example.org",
        smtp_host="smtp.example.org", database_url=sqlite_url, _env_file=None, **fields,
    )  # fmt: skip


def client(
    settings: Settings, sessions: sessionmaker[Session], app: Any = None
) -> httpx.AsyncClient:
    app = app or create_app(settings, sessions=sessions, mailer=RecordingMailer())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def statuses(web: httpx.AsyncClient, **headers: str) -> dict[str, int]:
    return {path: (await web.get(path, headers=headers)).status_code for path in OPS_PATHS}


@pytest.mark.parametrize(
    "url", ["sqlite:////nonexistent/dir/db.sqlite", "postgresql+psycopg://u:secret@127.0.0.1:1/db"]
)
async def test_healthz_says_which_check_failed_not_the_drivers_message(
    settings: Settings, url: str
) -> None:
    broken = session_factory(create_engine(url))
    async with client(settings, broken) as web:
        answer = await web.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "error", "database": "unreachable"}


async def test_docs_and_metrics_are_off_in_production_without_a_token(
    sqlite_url: str, sessions: sessionmaker[Session]
) -> None:
    async with client(production(sqlite_url), sessions) as web:
        assert await statuses(web) == dict.fromkeys(OPS_PATHS, 404)
        home = await web.get("/")
        missing = await web.get("/metrics")
    assert 'href="/docs"' not in home.text
    assert "Page not found" in missing.text  # the same answer as any unknown address
    async with client(production(sqlite_url, public_docs=True), sessions) as web:
        assert await statuses(web) == {**dict.fromkeys(OPS_PATHS, 200), "/metrics": 404}
        assert 'href="/docs"' in (await web.get("/")).text


async def test_the_ops_token_opens_docs_and_metrics(
    sqlite_url: str, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with client(production(sqlite_url, ops_token=TOKEN), sessions) as web:
        assert await statuses(web, authorization=f"Bearer {TOKEN}") == dict.fromkeys(OPS_PATHS, 200)
        assert await statuses(web, authorization=f"Bearer {TOKEN}x") == dict.fromkeys(
            OPS_PATHS, 401
        )
        refused = await web.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    async with client(settings, sessions) as web:  # dev: open
        assert await statuses(web) == dict.fromkeys(OPS_PATHS, 200)


def test_production_refuses_a_short_ops_token(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="NEWSLETTER_OPS_TOKEN"):
        production(sqlite_url, ops_token="short")


async def test_security_headers_on_413_and_500(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    app = create_app(settings, sessions=sessions, mailer=RecordingMailer())

    def fails() -> None:
        raise RuntimeError("a bug, with a secret in its message")

    app.add_api_route("/boom", fails)
    app.add_api_route("/api/boom", fails)
    async with client(settings, sessions, app) as web:
        declared = await web.post("/", content=b"x" * 70_000)

        async def stream() -> Any:
            for _ in range(70):
                yield b"x" * 1000

        streamed = await web.post("/api/subscribe", content=stream())
        page, api = await web.get("/boom"), await web.get("/api/boom")
    for answer in (declared, streamed, page, api):
        for header in HEADERS:
            assert header in answer.headers, (answer.status_code, header)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert (page.status_code, api.status_code) == (500, 500)
    assert api.json() == {"detail": "internal error", "problems": {}}
    assert "secret" not in page.text + api.text


async def test_the_api_explorer_has_a_csp_naming_its_inline_script(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with client(settings, sessions) as web:
        docs = await web.get("/docs")
        redoc = await web.get("/redoc")
    for page in (docs, redoc):
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        for script in re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy
    assert "'sha256-" in docs.headers["content-security-policy"]


async def test_hsts_only_when_the_site_is_https(
    sqlite_url: str, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with client(production(sqlite_url), sessions) as web:
        https = await web.get("/")
        missing = await web.get("/nowhere")
    async with client(settings, sessions) as web:
        http = await web.get("/")
    assert https.headers["strict-transport-security"] == "max-age=31536000"
    assert missing.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in http.headers
