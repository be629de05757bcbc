"""The subscriber's whole journey in a real browser: subscribe, confirm from the mail, edit the
preferences, then leave from the unsubscribe link of a real digest.

Headless Debian Chromium (/usr/bin/chromium; Playwright never downloads a browser here)
against the app served by uvicorn on loopback, mail through the scripted aiosmtpd server,
the digest made by the real pipeline from a recorded arXiv listing. Screenshots of every step
stay in var/test-artifacts/browser/ for a person to look at."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.papers import store_papers
from newsletter.db.subscriber_rows import to_profile
from newsletter.delivery import wiring
from newsletter.delivery.sender import SendReport
from newsletter.domain import Status
from newsletter.matching.embedding import DEFAULT_MODEL, load_embedder
from newsletter.matching.explain import GENERIC_WORDS
from newsletter.pipeline.queueing import DigestOptions, queue_digests
from newsletter.sources.files import FileSource
from newsletter.web.app import create_app
from tests.conftest import DATA
from tests.support.smtp_server import ScriptedSmtpServer
from tests.support.web_support import mail, subscriber_row, text_of

try:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Locator,
        Page,
        expect,
        sync_playwright,
    )

    HAVE_PLAYWRIGHT = True
except ImportError:  # the `browser` fixture skips (or fails, in CI) with the reason
    HAVE_PLAYWRIGHT = False

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"
LISTING = DATA / "arxiv_listing_atom_cs.AI_2025-08-20.xml"
DAY = date(2025, 8, 20)  # a Wednesday
WEDNESDAY = "2"
EMAIL = "ada@example.org"
BROWSER_ZONE = "Asia/Tokyo"  # the browser's own zone, which the page's script prefills
WAIT_MS = 10_000  # for any one page, selector or mail; the whole test takes a few seconds
ACCENT = "rgb(11, 87, 208)"  # --accent in static/site.css: the stylesheet applied
T = TypeVar("T")


@pytest.fixture
def browser() -> Iterator[Browser]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium is not at {CHROMIUM} (apt-get install chromium)")
    if not HAVE_PLAYWRIGHT:
        missing.append("Playwright is not installed (pip install -e '.[dev]')")
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the browser test cannot run: {'; '.join(missing)}")
        pytest.skip("; ".join(missing))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@dataclass
class Live:
    """The app served over real HTTP, and what the test reads behind its back."""

    settings: Settings
    sessions: sessionmaker[Session]
    smtp: ScriptedSmtpServer
    shots: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.settings.base_url

    def shoot(self, page: Page, name: str) -> None:
        path = ARTIFACTS / f"{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        self.shots.append(path)
        print(f"screenshot: {path}")

    def mail(self, number: int) -> EmailMessage:
        """The `number`th accepted mail (1-based): the app sends after answering, so wait."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while len(self.smtp.accepted) < number:
            assert time.monotonic() < deadline, f"mail {number} never arrived"
            time.sleep(0.02)
        return mail(self.smtp.accepted[number - 1].data)

    def link(self, message: EmailMessage, kind: str) -> str:
        """The one service link of this kind in the mail's plain-text part."""
        found = set(re.findall(rf"{re.escape(self.base)}/{kind}/[^\s<>\"]+", text_of(message)))
        assert len(found) == 1, (kind, found)
        return str(found.pop())


@pytest.fixture
def live(
    sqlite_url: str, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> Iterator[Live]:
    with served(sqlite_url, sessions, smtp_server, embedding_model="") as running:
        yield running


@contextmanager
def served(
    sqlite_url: str,
    sessions: sessionmaker[Session],
    smtp_server: ScriptedSmtpServer,
    *,
    embedding_model: str,
) -> Iterator[Live]:
    """The app served by uvicorn on loopback while the block runs; with an `embedding_model`
    its votes, ratings and imports refit the topics' models, as `newsletter serve` does."""
    # Bound before the app exists, so its links carry the real port; no race for the port.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    settings = Settings(
        database_url=sqlite_url,
        base_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_timeout_seconds=5,
        embedding_model=embedding_model,
        _env_file=None,
    )
    app = create_app(settings, sessions=sessions, learning_embedder=load_embedder(embedding_model))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_MS / 1000
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield Live(settings=settings, sessions=sessions, smtp=smtp_server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.mark.slow  # headless Chromium against a live server
def test_subscribe_confirm_manage_and_unsubscribe_in_a_browser(
    browser: Browser, live: Live
) -> None:
    context = browser.new_context(viewport={"width": 900, "height": 800}, timezone_id=BROWSER_ZONE)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems = watch(page)

    subscribe(page, live)
    preferences_url = confirm(page, live)
    edit_preferences(page, live, preferences_url)
    digest = produce_digest(live)
    unsubscribe(page, live, digest)
    show_on_a_phone(browser, live)

    context.close()
    assert problems == [], problems  # CSP violations, missing files, script errors
    print(f"{len(live.shots)} screenshots in {ARTIFACTS}")


def watch(page: Page) -> list[str]:
    """Collects what would mean a broken page: console errors (a CSP refusal is one), script
    errors and failed requests for the page's own files."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The site has no icon; the browser asks for one once (a 404) by itself.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"console: {message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    return problems


def subscribe(page: Page, live: Live) -> None:
    page.goto(f"{live.base}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The stylesheet and the script both loaded under the CSP: the button wears the accent
    # colour, and the script replaced the server's default zone with the browser's.
    subscribe_button = page.get_by_role("button", name="Subscribe", exact=True)
    assert style_of(subscribe_button, "backgroundColor") == ACCENT
    expect(page.get_by_label("Time zone")).to_have_value(BROWSER_ZONE)
    expect(page.locator(".honeypot")).not_to_be_in_viewport()
    live.shoot(page, "subscribe-empty")

    page.get_by_label("Email address").fill(EMAIL)
    # Generic research words on purpose: the digest must not highlight them (see below).
    page.get_by_label("Describe what you read").fill(
        "A new framework or method for large language model agents that plan and use tools"
    )
    page.get_by_label("Keywords").fill("agents")
    page.get_by_role("checkbox", name="cs.AI").check()
    page.get_by_label("Send hour").select_option("7")
    zone = page.get_by_label("Time zone")
    zone.fill("Europe/Paris")
    # Leave the field as a keyboard user would: its suggestion list (a <datalist>) stays
    # open otherwise, and after a full-page screenshot it swallows the next click.
    zone.press("Tab")
    live.shoot(page, "subscribe-filled")
    with page.expect_navigation():
        subscribe_button.click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    live.shoot(page, "subscribe-sent")

    live.mail(1)  # the request is stored, then mailed, after the answer (issue 14)
    row = subscriber_row(live.sessions, EMAIL)
    assert row.status == Status.PENDING.value
    assert (row.timezone, row.send_hour, row.frequency) == ("Europe/Paris", 7, "daily")
    profile = to_profile(row.profile)
    assert (profile.keywords, profile.categories) == (("agents",), ("cs.AI",))


def confirm(page: Page, live: Live) -> str:
    """Confirms from the mailed link; returns the preferences link of the welcome mail."""
    confirmation = live.mail(1)
    assert confirmation["To"] == EMAIL
    page.goto(live.link(confirmation, "confirm"))
    expect(page.get_by_role("heading", name="Confirm your subscription")).to_be_visible()
    expect(page.get_by_text("Keywords: agents")).to_be_visible()
    live.shoot(page, "confirm-page")
    assert subscriber_row(live.sessions, EMAIL).status == Status.PENDING.value  # GET only

    with page.expect_navigation():
        page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    live.shoot(page, "confirmed")
    assert subscriber_row(live.sessions, EMAIL).status == Status.ACTIVE.value

    welcome = live.mail(2)
    assert str(welcome["Subject"]).startswith("Welcome to")
    return live.link(welcome, "preferences")


def edit_preferences(page: Page, live: Live, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    keywords = page.get_by_label("Keywords")
    expect(keywords).to_have_value("agents")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")  # not the browser's
    live.shoot(page, "preferences")

    keywords.fill("agents, memory")
    page.get_by_label("Frequency").select_option("weekly")
    page.get_by_label("Weekday (weekly)").select_option(WEDNESDAY)  # DAY's weekday
    with page.expect_navigation():
        page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Your preferences are saved")
    assert "?done=saved" in page.url

    page.reload()
    expect(page.get_by_label("Keywords")).to_have_value("agents, memory")
    expect(page.get_by_label("Frequency")).to_have_value("weekly")
    expect(page.get_by_label("Weekday (weekly)")).to_have_value(WEDNESDAY)
    expect(page.get_by_role("checkbox", name="cs.AI")).to_be_checked()
    live.shoot(page, "preferences-saved")
    row = subscriber_row(live.sessions, EMAIL)
    assert (row.frequency, row.send_weekday) == ("weekly", int(WEDNESDAY))
    assert to_profile(row.profile).keywords == ("agents", "memory")


def produce_digest(live: Live) -> EmailMessage:
    """The day's digest for the subscriber, matched, queued and sent as the scheduler does."""
    papers = FileSource(LISTING, max_bytes=10_000_000).fetch(day=DAY).papers[:12]
    now = datetime.now(UTC)
    with live.sessions.begin() as session:
        store_papers(session, papers, now=now)
    options = DigestOptions(
        max_papers=5,
        quiet_day=False,
        new_message_id=wiring.mail_identity(live.settings).new_message_id,
    )
    # With the embedding model when it is installed (as the service runs), lexical otherwise.
    embedder = load_embedder(DEFAULT_MODEL)
    queued = queue_digests(
        sessions=live.sessions, day=DAY, options=options, embedder=embedder, now=now
    )
    assert queued.queued == 1, queued
    sent = off_thread(lambda: asyncio.run(send(live)))
    assert (sent.attempted, sent.errors) == (1, 0), sent
    digest = live.mail(3)
    assert digest["To"] == EMAIL
    assert "new paper" in str(digest["Subject"])
    return digest


async def send(live: Live) -> SendReport:
    return await wiring.send_all(
        live.settings, sessions=live.sessions, clock=lambda: datetime.now(UTC)
    )


def off_thread(work: Callable[[], T]) -> T:
    # Playwright's sync API keeps an event loop of its own in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result(timeout=WAIT_MS / 1000)


def unsubscribe(page: Page, live: Live, digest: EmailMessage) -> None:
    header = str(digest["List-Unsubscribe"]).strip()  # folded: the URL is on its own line
    assert re.fullmatch(rf"<{re.escape(live.base)}/unsubscribe/[^\s<>]+>", header), header
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body_link = show_digest(page, live, digest)

    page.goto(body_link)
    expect(page.get_by_role("heading", name="Unsubscribe", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Pause instead")).to_be_visible()
    live.shoot(page, "unsubscribe-page")
    assert subscriber_row(live.sessions, EMAIL).status == Status.ACTIVE.value  # GET only
    with page.expect_navigation():
        page.get_by_role("button", name="Unsubscribe", exact=True).click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    live.shoot(page, "unsubscribed")
    assert subscriber_row(live.sessions, EMAIL).status == Status.UNSUBSCRIBED.value

    # The header's URL is for the mail provider: RFC 8058 one-click, no cookie, no redirect,
    # harmless after the unsubscribe above.
    one_click = httpx.post(header[1:-1], data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert one_click.status_code == 200
    assert subscriber_row(live.sessions, EMAIL).status == Status.UNSUBSCRIBED.value


def show_digest(page: Page, live: Live, digest: EmailMessage) -> str:
    """Draws the digest's HTML part as a mail client would, then the service's "view in
    browser" copy of it; returns the HTML part's footer unsubscribe link."""
    part = digest.get_body(preferencelist=("html",))
    assert part is not None
    # A fresh page: set_content() on one of the app's pages would inherit its CSP, which
    # (rightly) refuses the mail's inline styles.
    mail_page = page.context.new_page()
    problems = watch(mail_page)
    mail_page.set_content(str(part.get_content()))
    check_digest_page(mail_page)
    live.shoot(mail_page, "digest-html")
    footer = mail_page.locator(".footer").get_by_role("link", name="Unsubscribe", exact=True)
    link = footer.get_attribute("href")
    assert link is not None
    assert link.startswith(f"{live.base}/unsubscribe/"), link

    view = mail_page.get_by_role("link", name="View in browser").get_attribute("href")
    assert view is not None
    assert view.startswith(f"{live.base}/digest/"), view
    mail_page.goto(view)
    check_digest_page(mail_page)
    live.shoot(mail_page, "digest-view-in-browser")
    mail_page.close()
    assert problems == [], problems
    return link


def check_digest_page(page: Page) -> None:
    """Papers listed, and the styles applied: the hidden preheader is hidden, the card
    white with rounded corners."""
    expect(page.locator(".paper").first).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Chain-of-Agents"))).to_be_visible()
    expect(page.locator(".preheader")).to_be_hidden()
    card = page.locator(".card").first
    assert (style_of(card, "backgroundColor"), style_of(card, "borderRadius")) == (
        "rgb(255, 255, 255)",
        "12px",
    )
    check_reasons_and_highlights(page)


# How each line of a paper's "Why" may start (matching/explain.py): the part of the profile
# it answers, or the sentence of the abstract it quotes. A list of bare words is not a reason.
REASONS = re.compile(
    r'^(your keywords? "|close to your (interest|keyword) "|matches your interest "'
    r'|like a paper you liked: "|by .+ \(an author you follow\)$'
    r'|in .+ \(a category you chose\)$|it says: ")'
)


def check_reasons_and_highlights(page: Page) -> None:
    """Each paper says why in words, and what is highlighted is never a stop word or a word
    every research abstract uses: checked against the ranker's own generic words and, apart
    from the ranker's stop list, scikit-learn's standard English one."""
    papers = page.locator(".paper")
    assert papers.count() >= 3
    for index in range(papers.count()):
        why = papers.nth(index).locator(".why").inner_text()
        assert why.startswith("Why: "), why
        for line in why.removeprefix("Why: ").split(" · "):
            assert REASONS.match(line), line
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # the dev extra's

    marks = [m.strip() for m in page.locator("mark").all_inner_texts()]
    assert marks  # the keywords are highlighted where they occur
    unwanted = GENERIC_WORDS | ENGLISH_STOP_WORDS
    for mark in marks:
        words = [w.casefold() for w in re.findall(r"\w+", mark)]
        assert words, mark
        assert not all(w in unwanted or w.removesuffix("s") in unwanted for w in words), mark


def show_on_a_phone(browser: Browser, live: Live) -> None:
    """The subscribe page on a phone-sized screen: one column, nothing wider than it."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{live.base}/")
    expect(page.get_by_role("button", name="Subscribe", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    live.shoot(page, "subscribe-phone")
    phone.close()


def style_of(locator: Locator, name: str) -> str:
    return str(locator.evaluate(f"e => getComputedStyle(e).{name}"))
