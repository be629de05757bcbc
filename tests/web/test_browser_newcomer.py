"""A newcomer's first minutes, offline: the real `newsletter run` on a fresh database with
no network for the sources, driven in headless Chromium as a person would.

The arXiv and Hugging Face URLs point at a loopback port that refuses connections (a socket
bound and never listening), so the first fetch fails as it does on a machine without
network; the service then loads the bundled sample day. The person subscribes, confirms by
clicking the link in the development inbox (a new tab), asks for a digest now, and finds it
in the inbox: all of it within two minutes of starting the process. Then the inbox on a
phone, the API explorer with every request outside the service refused, and the error
pages. Screenshots stay in var/test-artifacts/newcomer/ for a person to look at.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.processes import newsletter_command
from tests.web.test_browser import HAVE_PLAYWRIGHT, browser, style_of, watch  # noqa: F401

if HAVE_PLAYWRIGHT:
    from playwright.sync_api import Browser, Locator, Page, Route, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "newcomer"
BUDGET_SECONDS = 120  # from starting the process to a digest in the inbox
WAIT_MS = 20_000  # for any one page or mail (the machine may be busy)
EMAIL = "newcomer@example.org"
SAMPLE_LOG = re.compile(r"loaded (\d+) sample papers")
ERROR_RED = "rgb(180, 35, 24)"  # --error in static/site.css


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """`newsletter run` as a process, and everything it printed so far."""

    process: subprocess.Popen[str]
    base: str
    started: float
    lines: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(" ".join(self.output().split()))  # rich wraps long lines
            if found:
                return found
            assert self.process.poll() is None, f"newsletter run ended:\n{self.output()}"
            time.sleep(0.1)
        raise AssertionError(f"no {pattern.pattern!r} in the log:\n{self.output()}")

    def wait_until_serving(self, timeout: float = 60) -> None:
        """As a person waits for "Uvicorn running on …" before opening the browser."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"newsletter run ended:\n{self.output()}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the web app never answered:\n{self.output()}"
            time.sleep(0.2)

    def shoot(self, page: Page, name: str) -> None:
        path = ARTIFACTS / f"{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        self.shots.append(path)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("fresh-clone")
    web, sink = free_port(), free_port()
    # Bound and never listening: every connection to it is refused, like a missing network.
    offline = socket.socket()
    offline.bind(("127.0.0.1", 0))
    nowhere = f"http://127.0.0.1:{offline.getsockname()[1]}"
    base = f"http://127.0.0.1:{web}"
    started = time.monotonic()
    process = newsletter_command(
        "run",
        "--port",
        str(web),
        cwd=home,
        database_url=f"sqlite:///{home / 'var' / 'newsletter.db'}",
        base_url=base,
        mail_sink_port=str(sink),
        mail_sink_dir=str(home / "var" / "mail"),
        arxiv_listing_url=f"{nowhere}/atom",
        arxiv_api_url=f"{nowhere}/api/query",
        hf_api_url=f"{nowhere}/api/daily_papers",
        log_format="json",  # one line per record, whatever the terminal width
    )
    running = Service(process, base, started)
    reader = threading.Thread(target=running.read_output, daemon=True)
    reader.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        running.wait_until_serving()
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
        offline.close()


def test_offline_newcomer_sees_a_digest_within_two_minutes(
    browser: Browser,  # noqa: F811
    service: Service,
) -> None:
    found = service.wait_for_log(SAMPLE_LOG, timeout=60)
    assert int(found.group(1)) > 20
    assert "the first fetch failed (arxiv, hf)" in service.output()
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems = watch(page)

    preview_and_subscribe(page, service)
    confirm_page = confirm_from_the_inbox(page, service)
    ask_for_a_digest_now(confirm_page, service)
    digest = open_the_digest(confirm_page, service)
    elapsed = time.monotonic() - service.started
    service.shoot(digest, "digest-in-the-inbox")
    assert elapsed < BUDGET_SECONDS, f"the digest took {elapsed:.0f} s"
    print(f"a digest in the dev inbox {elapsed:.0f} s after `newsletter run` started")

    show_the_inbox_on_a_phone(browser, service)
    context.close()
    assert problems == [], problems


def preview_and_subscribe(page: Page, service: Service) -> None:
    page.goto(f"{service.base}/")
    sample_note = page.locator("p.sample").first
    expect(sample_note).to_contain_text("Sample data")
    expect(sample_note).to_contain_text("20 August 2025")
    page.get_by_label("Describe what you read").fill("LLM agents that plan and use tools")
    page.get_by_label("Keywords").fill("agents, tool use")
    # Names are visible next to the codes, grouped by field.
    expect(page.locator("details.categories summary").first).to_have_text("Computer Science")
    page.get_by_role("checkbox", name="Artificial Intelligence cs.AI").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Preview my digest").click()
    # The anchor scrolls the preview into view, no script needed.
    assert page.url.endswith("/preview#preview")
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Preview")).to_be_in_viewport()
    expect(preview.locator("ol.papers li").first).to_be_visible()
    expect(preview.locator("p.sample")).to_be_visible()
    service.shoot(page, "preview-scrolled-into-view")

    page.get_by_label("Email address").fill(EMAIL)
    with page.expect_navigation():
        page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()


def confirm_from_the_inbox(page: Page, service: Service) -> Page:
    """Opens the confirmation mail in the dev inbox and clicks its link: a new tab."""
    page.get_by_role("link", name="dev inbox").click()
    mail_link = page.get_by_role("link", name=re.compile("^Confirm your subscription"))
    reload_until_visible(page, mail_link)
    service.shoot(page, "inbox-confirmation")
    mail_link.click()
    button = page.frame_locator("iframe.mail").get_by_role("link", name="Confirm subscription")
    expect(button).to_be_visible()
    service.shoot(page, "confirmation-mail")
    with page.context.expect_page() as opened:
        button.click()
    tab = opened.value
    tab.wait_for_load_state()
    expect(tab.get_by_role("heading", name="Confirm your subscription")).to_be_visible()
    with tab.expect_navigation():
        tab.get_by_role("button", name="Confirm subscription").click()
    expect(tab.get_by_role("heading", name="You are subscribed")).to_be_visible()
    expect(tab.get_by_role("status")).to_contain_text(
        re.compile(r"first digest comes .+ at \d\d:00")
    )
    service.shoot(tab, "subscribed")
    return tab


def ask_for_a_digest_now(page: Page, service: Service) -> None:
    # Right after the confirmation (and the welcome mail): not refused by their cooldown.
    with page.expect_navigation():
        page.get_by_role("button", name="Send me a digest of the latest papers now").click()
    expect(page.get_by_role("status")).to_contain_text("on its way to your inbox")
    expect(page.get_by_role("alert")).to_have_count(0)
    service.shoot(page, "digest-requested")


def open_the_digest(page: Page, service: Service) -> Page:
    page.get_by_role("status").get_by_role("link", name="development inbox").click()
    digest_link = page.get_by_role("link", name=re.compile(r"new papers? on your interests"))
    reload_until_visible(page, digest_link)
    digest_link.first.click()
    mail = page.frame_locator("iframe.mail")
    expect(mail.locator(".paper").first).to_be_visible()
    expect(mail.locator(".sample")).to_contain_text("Sample data")
    return page


def show_the_inbox_on_a_phone(browser: Browser, service: Service) -> None:  # noqa: F811
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{service.base}/dev/mail")
    expect(page.get_by_role("link", name=re.compile("^Welcome to"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    service.shoot(page, "inbox-phone")
    page.get_by_role("link", name=re.compile("^Welcome to")).click()
    expect(page.locator("iframe.mail")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    service.shoot(page, "mail-phone")
    phone.close()


def reload_until_visible(page: Page, target: Locator, timeout: float = WAIT_MS / 1000) -> None:
    """Mail is sent after the page answered: look again, as a person would."""
    deadline = time.monotonic() + timeout
    while not target.count():
        assert time.monotonic() < deadline, f"not in the inbox: {target}"
        time.sleep(0.3)
        page.reload()


def test_api_explorers_load_nothing_from_elsewhere(
    browser: Browser,  # noqa: F811
    service: Service,
) -> None:
    service.wait_for_log(SAMPLE_LOG, timeout=60)  # the service is up
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    elsewhere: list[str] = []

    def only_this_service(route: Route) -> None:
        if route.request.url.startswith(service.base):
            route.continue_()
        else:  # what a machine without network would do to the page
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_service)
    page = context.new_page()
    page.goto(f"{service.base}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("newsletter")
    expect(page.get_by_text("/api/subscribe").first).to_be_visible()
    service.shoot(page, "docs-offline")
    page.goto(f"{service.base}/redoc")
    expect(page.get_by_role("heading", name=re.compile("newsletter"))).to_be_visible()
    service.shoot(page, "redoc-offline")
    context.close()
    assert elsewhere == []


def test_error_pages_look_like_errors_and_offer_a_way_on(
    browser: Browser,  # noqa: F811
    service: Service,
) -> None:
    service.wait_for_log(SAMPLE_LOG, timeout=60)
    page = browser.new_page()
    page.goto(f"{service.base}/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    alert = page.get_by_role("alert")
    assert style_of(alert, "borderLeftColor") == ERROR_RED
    expect(page.get_by_role("link", name="Go to the home page")).to_be_visible()
    service.shoot(page, "not-found")
    page.goto(f"{service.base}/confirm/not-a-real-token")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    assert style_of(page.get_by_role("alert"), "borderLeftColor") == ERROR_RED
    page.get_by_role("link", name="Get a fresh link from the home page").click()
    expect(page.get_by_role("button", name="Subscribe", exact=True)).to_be_visible()
    page.close()
    # Scripts still get JSON, and uptime checkers a HEAD.
    api = httpx.get(f"{service.base}/api/nothing-here", timeout=10)
    assert (api.status_code, api.json()) == (404, {"detail": "Not Found", "problems": {}})
    head = httpx.head(f"{service.base}/healthz", timeout=10)
    assert (head.status_code, head.content) == (200, b"")
