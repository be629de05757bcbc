"""The mail commands end to end: real SQLite, real SMTP on loopback, exit codes and output."""

from __future__ import annotations

import os
import re
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import Result

from newsletter.config.production import DEV_SECRET_KEY
from newsletter.db import outbox, subscriber_rows
from newsletter.db.models import SubscriberRow
from newsletter.delivery.sink import SINK_HOST, list_mail, start_sink
from newsletter.mail.verp import Verp
from tests.conftest import DATA
from tests.support.cli_support import SITE, error_line, invoke, ok, sessions_for
from tests.support.smtp_server import Script, ScriptedSmtpServer

LISTING = DATA / "arxiv_listing_atom_cs.AI_2025-08-20.xml"
DAY = "2025-08-20"


def outbox_states(env: dict[str, str]) -> dict[str, int]:
    with sessions_for(env)() as session:
        return outbox.counts_by_state(session)


def subscriber(env: dict[str, str], email: str) -> tuple[str, dict[str, object]]:
    """(status, profile fields) of one stored subscriber."""
    with sessions_for(env)() as session:
        row = subscriber_rows.find(session, email)
        assert row is not None, email
        profile = subscriber_rows.to_profile(row.profile)
        fields: dict[str, object] = {
            "description": profile.description,
            "keywords": profile.keywords,
            "categories": profile.categories,
        }
        return row.status, fields


def subscriber_count(env: dict[str, str]) -> int:
    with sessions_for(env)() as session:
        return session.scalar(select(func.count()).select_from(SubscriberRow)) or 0


def fetch_listing(env: dict[str, str]) -> None:
    assert "86 new" in ok(env, "fetch", "--source", f"file:{LISTING}").stdout


AGENTS = (
    "--interests", "Language model agents that plan, reason and use tools",
    "--keyword", "agents", "--keyword", "reasoning", "--category", "cs.AI",
)  # fmt: skip


def subscribe(env: dict[str, str], email: str, *extra: str) -> Result:
    """An active subscriber whose interests match plenty of the listing's papers."""
    return ok(env, "subscribe", email, *AGENTS, "--confirmed", *extra)


# subscribe / unsubscribe


def test_subscribe_is_pending_until_confirmed(env: dict[str, str]) -> None:
    pending = ok(env, "subscribe", "Reader@Example.ORG", "--keyword", "agents")
    assert "added reader@example.org (pending: no digest until confirmed)" in pending.stdout
    confirmed = ok(env, "subscribe", "admin@example.org", "--keyword", "agents", "--confirmed")
    assert "added admin@example.org (active)" in confirmed.stdout

    assert subscriber(env, "reader@example.org")[0] == "pending"
    assert subscriber(env, "admin@example.org")[0] == "active"


def test_resubscribe_replaces_the_profile(env: dict[str, str]) -> None:
    subscribe(env, "reader@example.org")
    again = ok(
        env, "subscribe", "READER@example.org", "--interests", "robot  navigation",
        "--keyword", "robots",
    )  # fmt: skip
    assert "updated reader@example.org (active)" in again.stdout
    assert subscriber(env, "reader@example.org") == (
        "active",
        {"description": "robot navigation", "keywords": ("robots",), "categories": ()},
    )
    assert subscriber_count(env) == 1


@pytest.mark.parametrize(
    "address",
    [
        "not-an-address",
        "reader@example.org\r\nBcc: victim@example.org",  # header injection
        "read\r\ner@example.org",
        "reader@exa\nmple.org",
    ],
)
def test_subscribe_refuses_invalid_addresses(env: dict[str, str], address: str) -> None:
    result = invoke(env, "subscribe", address, "--keyword", "agents", "--confirmed")
    assert result.exit_code == 2
    assert "is not a valid email address" in error_line(result)
    assert "\r" not in result.stderr
    assert subscriber_count(env) == 0


def test_subscribe_refuses_an_empty_profile(env: dict[str, str]) -> None:
    result = invoke(env, "subscribe", "reader@example.org")
    assert result.exit_code == 2
    assert "the profile is empty" in error_line(result)
    assert subscriber_count(env) == 0


def test_unsubscribe_is_idempotent(env: dict[str, str]) -> None:
    subscribe(env, "reader@example.org")
    first = ok(env, "unsubscribe", "Reader@example.org")
    assert first.stdout.strip() == "reader@example.org unsubscribed"
    again = ok(env, "unsubscribe", "reader@example.org")
    assert again.stdout.strip() == "reader@example.org was already unsubscribed"
    assert subscriber(env, "reader@example.org")[0] == "unsubscribed"


def test_unsubscribe_unknown_address_fails(env: dict[str, str]) -> None:
    subscribe(env, "reader@example.org")
    result = invoke(env, "unsubscribe", "nobody@example.org")
    assert result.exit_code == 1
    assert error_line(result) == "error: no subscriber nobody@example.org"
    assert subscriber(env, "reader@example.org")[0] == "active"


# digest


def subscribers_for_digest(env: dict[str, str]) -> None:
    subscribe(env, "reader@example.org")
    ok(env, "subscribe", "nomatch@example.org", "--keyword", "zqxjvw", "--confirmed")
    ok(env, "subscribe", "pending@example.org", *AGENTS)  # not due: unconfirmed


def test_digest_dry_run_reports_and_queues_nothing(env: dict[str, str]) -> None:
    fetch_listing(env)
    subscribers_for_digest(env)
    result = ok(env, "digest", "--date", DAY, "--dry-run")
    assert (
        f"{DAY}: 86 candidate papers, 2 subscribers due; would queue 1 digests, "
        "nothing matched for 1" in result.stdout
    )
    assert "reader@example.org" in result.stdout
    assert "pending@example.org" not in result.stdout
    assert outbox_states(env) == {}


def test_digest_queues_once_per_day(env: dict[str, str]) -> None:
    fetch_listing(env)
    subscribers_for_digest(env)
    first = ok(env, "digest", "--date", DAY)
    assert "2 subscribers due; queued 1 digests, nothing matched for 1" in first.stdout
    assert outbox_states(env) == {"queued": 1, "skipped": 1}

    again = ok(env, "digest", "--date", DAY)
    assert "0 subscribers due; queued 0 digests, nothing matched for 0" in again.stdout
    assert outbox_states(env) == {"queued": 1, "skipped": 1}


def test_digest_in_parts_queues_each_subscriber_once(env: dict[str, str]) -> None:
    fetch_listing(env)
    subscribers_for_digest(env)
    ok(env, "digest", "--date", DAY, "--part", "0/2")
    ok(env, "digest", "--date", DAY, "--part", "1/2")
    assert outbox_states(env) == {"queued": 1, "skipped": 1}
    again = ok(env, "digest", "--date", DAY)
    assert "0 subscribers due; queued 0 digests" in again.stdout


@pytest.mark.parametrize("part", ["2/2", "1", "a/2", "-1/2", "1/0"])
def test_digest_refuses_a_malformed_part(env: dict[str, str], part: str) -> None:
    result = invoke(env, "digest", "--date", DAY, "--part", part)
    assert result.exit_code != 0
    assert "--part takes K/N" in error_line(result)


@pytest.mark.parametrize("fetched", [False, True])
def test_digest_for_a_day_without_papers_fails(env: dict[str, str], fetched: bool) -> None:
    if fetched:
        fetch_listing(env)  # stored, but for another day
    subscribe(env, "reader@example.org")
    result = invoke(env, "digest", "--date", "2025-08-21")
    assert result.exit_code == 1
    assert "no papers stored for 2025-08-21" in error_line(result)
    assert "fetch` first" in error_line(result)
    assert outbox_states(env) == {}


def test_digest_refuses_a_malformed_date(env: dict[str, str]) -> None:
    result = invoke(env, "digest", "--date", "20/08/2025")
    assert result.exit_code == 2
    assert "--date must be YYYY-MM-DD" in error_line(result)


# preview


def test_preview_writes_html_text_and_eml_without_queueing(
    env: dict[str, str], tmp_path: Path
) -> None:
    fetch_listing(env)
    subscribe(env, "reader@example.org")
    written = {}
    for suffix in ("html", "txt", "eml"):
        target = tmp_path / "out" / f"preview.{suffix}"
        result = ok(env, "preview", "Reader@example.org", "--date", DAY, "--out", str(target))
        assert f"10 papers; wrote {target}" in result.stdout
        written[suffix] = target.read_bytes()

    html = written["html"].decode()
    text = written["txt"].decode()
    assert html.lstrip().lower().startswith("<!doctype html")
    # The same ten papers in both parts.
    papers_in_text = set(re.findall(r"https://arxiv\.org/abs/([\d.]+)", text))
    assert len(papers_in_text) == 10
    assert set(re.findall(r'href="https://arxiv\.org/abs/([\d.]+)"', html)) == papers_in_text
    assert not re.search(r"</?[a-z]+[ >]", text), "HTML tags in the plain-text part"
    assert f"{SITE}/unsubscribe/" in text

    mail = message_from_bytes(written["eml"], policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "reader@example.org"
    assert mail["Subject"] == "10 new papers on your interests — 20 Aug"
    # Folded right after the colon (a long URL): the parser keeps the folding space.
    assert str(mail["List-Unsubscribe"]).strip().startswith(f"<{SITE}/unsubscribe/")
    assert mail.get_content_type() == "multipart/alternative"
    body = mail.get_body(preferencelist=("html",))
    assert body is not None
    assert set(re.findall(r'href="https://arxiv\.org/abs/([\d.]+)"', body.get_content())) == (
        papers_in_text
    )

    assert outbox_states(env) == {}
    assert list_mail(Path(env["NEWSLETTER_MAIL_SINK_DIR"])) == []


def test_preview_needs_a_subscriber_and_papers(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "preview.html"
    subscribe(env, "reader@example.org")
    no_papers = invoke(env, "preview", "reader@example.org", "--date", DAY, "--out", str(target))
    assert no_papers.exit_code == 1
    assert "fetch` first" in error_line(no_papers)
    fetch_listing(env)
    unknown = invoke(env, "preview", "who@example.org", "--date", DAY, "--out", str(target))
    assert unknown.exit_code == 1
    assert error_line(unknown) == "error: no subscriber who@example.org"
    assert not target.exists()


# send


def relay_env(env: dict[str, str], server: ScriptedSmtpServer) -> dict[str, str]:
    return env | {
        "NEWSLETTER_SMTP_HOST": server.host,
        "NEWSLETTER_SMTP_PORT": str(server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
    }


def test_send_delivers_the_queued_digests(
    env: dict[str, str], smtp_server: ScriptedSmtpServer
) -> None:
    fetch_listing(env)
    for email in ("a@example.org", "b@example.org"):
        subscribe(env, email)
    ok(env, "digest", "--date", DAY)
    relay = relay_env(env, smtp_server)

    result = ok(relay, "send")
    assert "sent 2, deferred 0, bounced 0, failed 0, cancelled 0" in result.stdout
    assert sorted(m.rcpt_tos for m in smtp_server.accepted) == [
        ("a@example.org",),
        ("b@example.org",),
    ]
    # Each digest leaves with its own return path (VERP), signed for its outbox row and reader.
    verp = Verp(DEV_SECRET_KEY, "bounces@example.org")
    for accepted in smtp_server.accepted:
        claim = verp.read(accepted.mail_from)
        assert claim is not None, accepted.mail_from
        assert claim.outbox_id is not None
        assert verp.verify(claim, accepted.rcpt_tos[0])
    first = message_from_bytes(smtp_server.accepted[0].data, policy=policy.default)
    assert first["Subject"] == "10 new papers on your interests — 20 Aug"
    assert outbox_states(env) == {"sent": 2}

    again = ok(relay, "send")
    assert "sent 0, deferred 0" in again.stdout
    assert len(smtp_server.messages) == 2


def test_send_dry_run_lists_what_is_due_and_connects_to_nobody(
    env: dict[str, str], smtp_server: ScriptedSmtpServer
) -> None:
    fetch_listing(env)
    subscribe(env, "a@example.org")
    ok(env, "digest", "--date", DAY)
    result = ok(relay_env(env, smtp_server), "send", "--dry-run")
    assert "1 digests due now; nothing sent (--dry-run)" in result.stdout
    assert "a@example.org" in result.stdout
    assert smtp_server.connections == 0
    assert outbox_states(env) == {"queued": 1}


def test_send_stops_on_a_policy_refusal(
    env: dict[str, str], smtp_server: ScriptedSmtpServer
) -> None:
    # The refusal is of our sender (MAIL FROM): since issue 14, a 5.7.1 at RCPT is that one
    # recipient's policy and defers only their digest (tests/delivery/test_sender.py).
    fetch_listing(env)
    subscribe(env, "reader@example.org")
    ok(env, "digest", "--date", DAY)
    smtp_server.script("bounces", Script(mail="550 5.7.1 Sender rejected by policy"))

    result = invoke(relay_env(env, smtp_server), "send")
    assert result.exit_code == 1
    assert "sent 0, deferred 0, bounced 0, failed 0" in result.stdout
    assert "the relay refused us" in error_line(result)
    assert "550 5.7.1 Sender rejected by policy" in error_line(result)
    assert smtp_server.accepted == []
    assert outbox_states(env) == {"queued": 1}  # not the reader's fault: kept for the next run


# mailbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((SINK_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def sink_env(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """No relay configured: mail goes to a running development sink."""
    port = free_port()
    controller = start_sink(Path(env["NEWSLETTER_MAIL_SINK_DIR"]), port=port)
    try:
        yield env | {"NEWSLETTER_MAIL_SINK_PORT": str(port)}
    finally:
        controller.stop()


def test_send_in_dev_goes_to_the_sink_and_mailbox_lists_it(sink_env: dict[str, str]) -> None:
    fetch_listing(sink_env)
    subscribe(sink_env, "reader@example.org")
    ok(sink_env, "digest", "--date", DAY)
    assert "sent 1, deferred 0" in ok(sink_env, "send").stdout

    listing = ok(sink_env, "mailbox")
    (stored,) = list_mail(Path(sink_env["NEWSLETTER_MAIL_SINK_DIR"]))
    assert stored.key in listing.stdout
    assert "reader@example.org" in listing.stdout
    assert "10 new papers on your interests — 20 Aug" in listing.stdout
    assert f"1 messages in {sink_env['NEWSLETTER_MAIL_SINK_DIR']}" in listing.stdout


def test_mailbox_limit_show_and_unknown_key(sink_env: dict[str, str]) -> None:
    port = int(sink_env["NEWSLETTER_MAIL_SINK_PORT"])
    with smtplib.SMTP(SINK_HOST, port, timeout=10) as smtp:
        for day, subject in ((19, "Older one"), (20, "Newer one")):
            mail = EmailMessage()
            mail["From"] = "digest@example.org"
            mail["To"] = "reader@example.org"
            mail["Subject"] = subject
            mail["Date"] = format_datetime(datetime(2025, 8, day, 6, tzinfo=UTC))
            mail.set_content(f"Body of the {subject.lower()}.")
            smtp.send_message(mail)

    everything = ok(sink_env, "mailbox")
    assert "2 messages in" in everything.stdout
    assert everything.stdout.index("Newer one") < everything.stdout.index("Older one")
    newest = ok(sink_env, "mailbox", "--limit", "1")
    assert "Newer one" in newest.stdout
    assert "Older one" not in newest.stdout

    key = list_mail(Path(sink_env["NEWSLETTER_MAIL_SINK_DIR"]))[1].key
    shown = ok(sink_env, "mailbox", "--show", key)
    assert shown.stdout.splitlines()[:2] == ["Older one", "Body of the older one."]

    unknown = invoke(sink_env, "mailbox", "--show", "no-such-key")
    assert unknown.exit_code == 1
    assert "no message no-such-key" in error_line(unknown)


def test_mailbox_before_any_mail(env: dict[str, str]) -> None:
    result = ok(env, "mailbox")
    assert f"0 messages in {env['NEWSLETTER_MAIL_SINK_DIR']}" in result.stdout
    missing = invoke(env, "mailbox", "--show", "anything")
    assert missing.exit_code == 1
    assert "no message anything" in error_line(missing)


def send_two(sink_env: dict[str, str]) -> None:
    port = int(sink_env["NEWSLETTER_MAIL_SINK_PORT"])
    with smtplib.SMTP(SINK_HOST, port, timeout=10) as smtp:
        for n, subject in enumerate(("First one", "Second one"), 1):
            mail = EmailMessage()
            mail["From"] = "digest@example.org"
            mail["To"] = "a-rather-long-address-for-a-narrow-terminal@example.org"
            mail["Subject"] = f"{subject}, with a subject long enough to need shortening"
            mail["Date"] = format_datetime(datetime(2025, 8, 20, 6, n, tzinfo=UTC))
            mail.set_content(f"Text of the {subject.lower()}.")
            mail.add_alternative(f"<p>HTML of the {subject.lower()}.</p>", subtype="html")
            smtp.send_message(mail)


def test_mailbox_keys_are_whole_and_usable_in_a_narrow_terminal(
    sink_env: dict[str, str],
) -> None:
    send_two(sink_env)
    narrow = sink_env | {"COLUMNS": "80"}
    listing = ok(narrow, "mailbox").stdout
    keys = [mail.key for mail in list_mail(Path(sink_env["NEWSLETTER_MAIL_SINK_DIR"]))]
    for key in keys:
        (line,) = [line for line in listing.splitlines() if key in line]
        shown_key = line.split("│")[1].strip()
        assert shown_key == key
        assert "Text of the" in ok(narrow, "mailbox", "--show", shown_key).stdout
    table = [
        line
        for line in listing.splitlines()
        if not line.endswith(" messages in " + str(sink_env["NEWSLETTER_MAIL_SINK_DIR"]))
    ]  # the footer names a path of any length
    assert max(len(line) for line in table) <= 80


def test_mailbox_show_prints_the_part_asked_for(sink_env: dict[str, str]) -> None:
    send_two(sink_env)
    newest = list_mail(Path(sink_env["NEWSLETTER_MAIL_SINK_DIR"]))[0]
    text = ok(sink_env, "mailbox", "--show", newest.key).stdout
    assert text.splitlines() == [
        "Second one, with a subject long enough to need shortening",
        "Text of the second one.",
    ]
    html = ok(sink_env, "mailbox", "--show", newest.key, "--part", "html").stdout
    assert html.strip() == "<p>HTML of the second one.</p>"
    raw = ok(sink_env, "mailbox", "--show", newest.key, "--part", "raw").stdout
    assert raw.startswith("X-Sink-Recipients: a-rather-long-address")
    assert "Content-Type: multipart/alternative" in raw
    assert "<p>HTML of the second one.</p>" in raw
    # Any unique beginning of a key will do; one that begins several keys is refused.
    keys = [mail.key for mail in list_mail(Path(sink_env["NEWSLETTER_MAIL_SINK_DIR"]))]
    shared = os.path.commonprefix(keys)  # noqa: RUF071 - keys, not paths: by character
    assert shared  # Maildir keys begin with the time of arrival
    unique = newest.key[: len(shared) + 1]
    assert "Second one" in ok(sink_env, "mailbox", "--show", unique).stdout
    ambiguous = invoke(sink_env, "mailbox", "--show", shared)
    assert ambiguous.exit_code == 1
    assert "begins 2 keys" in error_line(ambiguous)
