"""`newsletter subscribers list|add|remove|import|export` end to end on real SQLite."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import func, select
from typer.testing import Result

from newsletter.db import subscriber_rows, subscribers, subscriptions
from newsletter.db.models import BounceEventRow, OutboxRow, SubscriberRow
from newsletter.domain import Frequency, InterestProfile, Schedule
from newsletter.subscribers.addresses import AddressError, normalise_address
from tests.support import cli_support
from tests.support.cli_support import error_line, sessions_for
from tests.support.queued import queue_digests, topic_papers

HEADER = "email,interests,keywords,exclude,categories,authors,frequency,send_hour,timezone"


@pytest.fixture
def env_overrides() -> dict[str, str | None]:
    # A default zone that is not UTC, so listings visibly mark who uses the default.
    return {"NEWSLETTER_TIMEZONE": "Europe/Berlin"}


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return cli_support.invoke(env, "subscribers", *args, stdin=stdin)


def ok(env: dict[str, str], *args: str) -> Result:
    return cli_support.ok(env, "subscribers", *args)


class Stored(NamedTuple):
    status: str
    profile: InterestProfile
    schedule: Schedule


def stored(env: dict[str, str]) -> dict[str, Stored]:
    """Every subscriber by address."""
    with sessions_for(env)() as session:
        return {
            row.email: Stored(
                row.status,
                subscriber_rows.to_profile(row.profile),
                subscriber_rows.to_schedule(row),
            )
            for row in session.scalars(select(SubscriberRow))
        }


def count(env: dict[str, str], model: type[object]) -> int:
    with sessions_for(env)() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def add(env: dict[str, str], email: str, *extra: str) -> Result:
    return ok(env, "add", email, "--interests", "Language model agents", *extra)


# add


def test_add_pending_or_confirmed_with_a_schedule(env: dict[str, str]) -> None:
    assert add(env, "Reader@Example.ORG").stdout.strip() == (
        "added reader@example.org (pending: no digest until confirmed)"
    )
    result = ok(
        env, "add", "ada@example.org", "--keyword", "agents", "--keyword", "tool use",
        "--category", "cs.AI", "--frequency", "weekly", "--send-weekday", "4",
        "--send-hour", "18", "--timezone", "America/New_York", "--confirmed",
    )  # fmt: skip
    assert result.stdout.strip() == "added ada@example.org (active)"
    ada = stored(env)["ada@example.org"]
    assert ada.status == "active"
    assert ada.profile == InterestProfile(keywords=("agents", "tool use"), categories=("cs.AI",))
    assert ada.schedule == Schedule(
        timezone="America/New_York", send_hour=18, frequency=Frequency.WEEKLY,
        send_weekday=4,
    )  # fmt: skip
    assert stored(env)["reader@example.org"].schedule == Schedule()


def test_add_again_replaces_interests_and_keeps_the_rest(env: dict[str, str]) -> None:
    add(env, "ada@example.org", "--send-hour", "6", "--timezone", "Asia/Tokyo", "--confirmed")
    with sessions_for(env).begin() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        subscriptions.record_feedback(row, paper_id="2508.00001", more=True)
        subscriptions.set_paused(row, paused=True)

    result = ok(env, "add", "ADA@example.org", "--keyword", "robots", "--send-hour", "9")
    assert result.stdout.strip() == "updated ada@example.org (paused)"
    ada = stored(env)["ada@example.org"]
    assert ada.status == "paused"  # the subscriber paused it; an admin update does not resume it
    assert ada.profile == InterestProfile(keywords=("robots",), seed_papers=("2508.00001",))
    assert ada.schedule == Schedule(timezone="Asia/Tokyo", send_hour=9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-address", "--keyword", "x"], "is not a valid email address"),
        (["a@example.org\r\nBcc: b@example.org", "--keyword", "x"], "is not a valid email"),
        (["a@example.org"], "the profile is empty"),
        (["a@example.org", "--keyword", "x", "--timezone", "Mars/Olympus"], "unknown time zone"),
    ],
)
def test_add_refuses_bad_input(env: dict[str, str], args: list[str], message: str) -> None:
    result = invoke(env, "add", *args)
    assert result.exit_code == 2
    assert message in error_line(result)
    assert count(env, SubscriberRow) == 0


def test_add_refuses_an_hour_out_of_range(env: dict[str, str]) -> None:
    result = invoke(env, "add", "a@example.org", "--keyword", "x", "--send-hour", "24")
    assert result.exit_code == 2
    assert count(env, SubscriberRow) == 0


# One path for `newsletter subscribe` and `newsletter subscribers add` (they once drifted:
# `subscribe --confirmed` re-activated addresses that had unsubscribed or bounced).
COMMANDS = [pytest.param(("subscribe",), id="subscribe"),
            pytest.param(("subscribers", "add"), id="subscribers-add")]  # fmt: skip


def suppress(env: dict[str, str], email: str, status: str) -> None:
    add(env, email, "--confirmed")
    with sessions_for(env).begin() as session:
        row = subscriber_rows.find(session, email)
        assert row is not None
        row.status = status
        row.suppressed_reason = "550 5.1.1 no such user" if status == "bounced" else None


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("status", ["unsubscribed", "bounced"])
def test_no_admin_command_reactivates_a_suppressed_address(
    env: dict[str, str], command: tuple[str, ...], status: str
) -> None:
    suppress(env, "ada@example.org", status)
    result = cli_support.invoke(env, *command, "ada@example.org", "--keyword", "x", "--confirmed")
    assert result.exit_code == 1
    assert error_line(result) == (
        f"error: ada@example.org is {status}: not re-activated without --reactivate "
        "(or they subscribe again on the web)"
    )
    assert stored(env)["ada@example.org"].status == status
    assert stored(env)["ada@example.org"].profile == InterestProfile("Language model agents")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("confirmed", "after"), [(True, "active"), (False, "pending")])
def test_reactivate_subscribes_a_suppressed_address_again(
    env: dict[str, str], command: tuple[str, ...], confirmed: bool, after: str
) -> None:
    suppress(env, "ada@example.org", "bounced")
    flags = ["--reactivate", *(["--confirmed"] if confirmed else [])]
    result = cli_support.ok(env, *command, "ada@example.org", "--keyword", "robots", *flags)
    state = "active" if confirmed else "pending: no digest until confirmed"
    assert result.stdout.strip() == f"reactivated ada@example.org ({state})"
    ada = stored(env)["ada@example.org"]
    assert (ada.status, ada.profile.keywords) == (after, ("robots",))
    with sessions_for(env)() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        assert (row.suppressed_reason, row.unsubscribed_at) == (None, None)


@pytest.mark.parametrize("command", COMMANDS)
def test_both_commands_keep_liked_papers_and_a_pause(
    env: dict[str, str], command: tuple[str, ...]
) -> None:
    add(env, "ada@example.org", "--confirmed")
    with sessions_for(env).begin() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        subscriptions.record_feedback(row, paper_id="2508.00001", more=True)
        subscriptions.set_paused(row, paused=True)
    result = cli_support.ok(env, *command, "ada@example.org", "--keyword", "robots", "--confirmed")
    assert result.stdout.strip() == "updated ada@example.org (paused)"
    ada = stored(env)["ada@example.org"]
    assert ada.status == "paused"
    assert ada.profile == InterestProfile(keywords=("robots",), seed_papers=("2508.00001",))


def test_add_or_update_never_reactivates_either(env: dict[str, str]) -> None:
    """The database helper the tests and older callers use follows the same rule."""
    suppress(env, "ada@example.org", "unsubscribed")
    with sessions_for(env).begin() as session:
        row, created = subscribers.add_or_update(
            session, email="ada@example.org", profile=InterestProfile(keywords=("x",)),
            confirmed=True, now=datetime.now(UTC),
        )  # fmt: skip
        assert (created, row.status) == (False, "unsubscribed")


# list


def test_list_formats_filters_and_limit(env: dict[str, str]) -> None:
    assert "0 of 0 subscribers" in ok(env, "list").stdout
    add(env, "ada@example.org", "--keyword", "agents", "--category", "cs.AI", "--confirmed")
    add(env, "bob@example.org", "--frequency", "weekly", "--send-weekday", "2",
        "--timezone", "Asia/Tokyo")  # fmt: skip

    table = ok(env, "list").stdout
    assert "ada@example.org" in table
    assert "bob@example.org" in table
    assert "Wed 07:00" in table
    assert "Europe/Berlin (default)" in table
    assert "2 of 2 subscribers" in table

    rows = json.loads(ok(env, "list", "--format", "json", "--status", "active").stdout)
    today = datetime.now(UTC).date().isoformat()
    assert rows == [
        {
            "email": "ada@example.org",
            "status": "active",
            "frequency": "daily",
            "send_time": "07:00",
            "timezone": "Europe/Berlin (default)",
            "created": today,
            "confirmed": today,
            "interests": "Language model agents | keywords: agents | categories: cs.AI",
        }
    ]
    listed = list(
        csv.DictReader(ok(env, "list", "--format", "csv", "--limit", "1").stdout.splitlines())
    )
    assert [row["email"] for row in listed] == ["ada@example.org"]
    assert listed[0]["confirmed"] == today

    pending = ok(env, "list", "--status", "pending").stdout
    assert "bob@example.org" in pending
    assert "ada@example.org" not in pending
    assert "1 of 1 subscribers with status pending" in pending
    assert invoke(env, "list", "--status", "gone").exit_code == 2


# remove


def test_remove_unsubscribes_and_keeps_the_row(env: dict[str, str]) -> None:
    add(env, "ada@example.org", "--confirmed")
    assert ok(env, "remove", "Ada@example.org").stdout.strip() == "ada@example.org unsubscribed"
    again = ok(env, "remove", "ada@example.org").stdout.strip()
    assert again == "ada@example.org was already unsubscribed"
    assert stored(env)["ada@example.org"].status == "unsubscribed"

    missing = invoke(env, "remove", "nobody@example.org")
    assert missing.exit_code == 1
    assert error_line(missing) == "error: no subscriber nobody@example.org"
    assert invoke(env, "remove", "not-an-address").exit_code == 2


def test_remove_delete_erases_every_row_about_them(env: dict[str, str]) -> None:
    sessions = sessions_for(env)
    day = date(2026, 11, 27)
    now = datetime.now(UTC)
    queue_digests(sessions, ["ada@example.org", "bob@example.org"], papers=topic_papers(day),
                  day=day, now=now)  # fmt: skip
    with sessions.begin() as session:
        for n, who in enumerate(("ada@example.org", "ada@example.org", "bob@example.org")):
            session.add(BounceEventRow(fingerprint=str(n), recipient=who, kind="soft"))

    declined = invoke(env, "remove", "ada@example.org", "--delete", stdin="n\n")
    assert declined.exit_code == 1
    assert "Delete ada@example.org and everything stored about them?" in declined.stdout
    assert "ada@example.org" in stored(env)

    confirmed = invoke(env, "remove", "ada@example.org", "--delete", stdin="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.stdout.splitlines()[-1] == (
        "deleted ada@example.org: subscriber, profile, digests, 2 bounce reports"
    )
    assert list(stored(env)) == ["bob@example.org"]
    assert (count(env, OutboxRow), count(env, BounceEventRow)) == (1, 1)

    ok(env, "remove", "bob@example.org", "--delete", "--yes")
    assert (count(env, SubscriberRow), count(env, OutboxRow), count(env, BounceEventRow)) == (
        0,
        0,
        0,
    )


# import


def bad_address_message(text: str) -> str:
    with pytest.raises(AddressError) as caught:
        normalise_address(text)
    return str(caught.value)


MIXED = (
    HEADER + "\n"
    + "ada@example.org,Language model agents,agents;tool use,,cs.AI;cs.CL,,daily,7,Europe/Paris\n"
    + "not-an-address,Robots,,,,,,,\n"
    + 'bob@example.org,Robots,"navigation\r\nBcc: x@example.net",,,,,,\n'
    + "carol@example.org,Graphs,,,,,,8,Mars/Olympus\n"
    + "dave@example.org,Speech,,,,,,25,\n"
    + "erin@example.org,,,,,,weekly,,\n"
    + "\n"
    + "ADA@example.org,Something else,,,,,,,\n"
    + 'frank@example.org,Quantum error correction,,,quant-ph,John Preskill,weekly,6,\n'
    + "grace@@example.org,,,,,,hourly,99,Nowhere/Land\n"
)  # fmt: skip
MIXED_REJECTED = [
    f"line 3: rejected: email: {bad_address_message('not-an-address')}",
    "line 4: rejected: keywords: a line break or NUL character",
    "line 6: rejected: timezone: unknown time zone 'Mars/Olympus' (expected e.g. Europe/Paris)",
    "line 7: rejected: send_hour: a whole hour from 0 to 23, not '25'",
    "line 8: rejected: profile: the profile is empty: give a description, keywords, categories, "
    "authors or seed papers",
    "line 10: rejected: email: ada@example.org is also on line 2",
    f"line 12: rejected: email: {bad_address_message('grace@@example.org')}; profile: the "
    "profile is empty: give a description, keywords, categories, authors or seed papers; "
    "send_hour: a whole hour from 0 to 23, not '99'; timezone: unknown time zone "
    "'Nowhere/Land' (expected e.g. Europe/Paris); frequency: daily or weekly, not 'hourly'",
]


def test_import_writes_good_rows_and_reports_every_bad_one(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = write(tmp_path / "people.csv", MIXED)
    result = invoke(env, "import", str(source))
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        *MIXED_REJECTED,
        "people.csv: 2 imported, 0 updated, 0 already there, 0 not re-activated, 7 rejected",
        f"rejected rows written to {tmp_path / 'people.rejected.csv'}",
    ]
    people = stored(env)
    assert sorted(people) == ["ada@example.org", "frank@example.org"]
    assert people["ada@example.org"] == Stored(
        "pending",
        InterestProfile(
            description="Language model agents", keywords=("agents", "tool use"),
            categories=("cs.AI", "cs.CL"),
        ),
        Schedule(timezone="Europe/Paris", send_hour=7),
    )  # fmt: skip
    frank = people["frank@example.org"]
    assert frank.profile.authors == ("John Preskill",)
    assert frank.schedule == Schedule(send_hour=6, frequency=Frequency.WEEKLY)

    with (tmp_path / "people.rejected.csv").open(newline="") as stream:
        rejected = list(csv.DictReader(stream))
    assert [row["email"] for row in rejected] == [
        "not-an-address", "bob@example.org", "carol@example.org", "dave@example.org",
        "erin@example.org", "ADA@example.org", "grace@@example.org",
    ]  # fmt: skip
    assert rejected[1]["keywords"] == "navigation\r\nBcc: x@example.net"  # kept as it was
    assert rejected[3]["problems"] == "send_hour: a whole hour from 0 to 23, not '25'"


def test_the_fixed_rejected_file_imports_again(env: dict[str, str], tmp_path: Path) -> None:
    source = write(tmp_path / "people.csv", MIXED)
    invoke(env, "import", str(source))
    rejected = tmp_path / "people.rejected.csv"
    fixed = rejected.read_text().replace("Mars/Olympus", "Europe/Rome").replace(",25,", ",21,")
    rejected.write_text(fixed)
    again = invoke(env, "import", str(rejected), "--dry-run")
    assert again.stdout.splitlines()[-1] == (
        "dry run, nothing written: people.rejected.csv: 2 imported, 0 updated, 1 already "
        "there (left as they are: --update changes them), 0 not re-activated, 4 rejected"
    )


def test_dry_run_writes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    source = write(tmp_path / "people.csv", MIXED)
    result = invoke(env, "import", str(source), "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        *MIXED_REJECTED,
        "dry run, nothing written: people.csv: 2 imported, 0 updated, 0 already there, "
        "0 not re-activated, 7 rejected",
    ]
    assert count(env, SubscriberRow) == 0
    assert not (tmp_path / "people.rejected.csv").exists()


def test_existing_addresses_are_skipped_unless_update(env: dict[str, str], tmp_path: Path) -> None:
    add(env, "ada@example.org", "--keyword", "agents", "--confirmed")
    add(env, "gone@example.org", "--confirmed")
    ok(env, "remove", "gone@example.org")
    source = write(
        tmp_path / "people.csv",
        "email,keywords,send_hour\n"
        "ada@example.org,robots,9\n"
        "gone@example.org,robots,9\n"
        "new@example.org,robots,9\n",
    )
    first = ok(env, "import", str(source), "--confirmed")
    assert first.stdout.splitlines() == [
        "line 3: gone@example.org has unsubscribed or bounced: an import never re-activates it",
        "people.csv: 1 imported, 0 updated, 1 already there (left as they are: --update changes "
        "them), 1 not re-activated, 0 rejected",
    ]
    assert stored(env)["ada@example.org"].profile.keywords == ("agents",)

    second = ok(env, "import", str(source), "--update")
    assert second.stdout.splitlines()[-1] == (
        "people.csv: 0 imported, 2 updated, 0 already there, 1 not re-activated, 0 rejected"
    )
    people = stored(env)
    # Only the columns in the file changed: the description stays.
    assert people["ada@example.org"] == Stored(
        "active",
        InterestProfile(description="Language model agents", keywords=("robots",)),
        Schedule(send_hour=9),
    )
    assert people["gone@example.org"].status == "unsubscribed"
    assert people["new@example.org"].status == "active"  # imported --confirmed the first time


def test_active_status_needs_confirmed(env: dict[str, str], tmp_path: Path) -> None:
    source = write(tmp_path / "s.csv", "email,status,keywords\na@example.org,active,x\n"
                   "b@example.org,unsubscribed,x\nc@example.org,,x\n")  # fmt: skip
    result = invoke(env, "import", str(source))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "line 2: rejected: status: active needs --confirmed (you vouch the address was confirmed)"
    )
    people = stored(env)
    assert {email: person.status for email, person in people.items()} == {
        "b@example.org": "unsubscribed",
        "c@example.org": "pending",
    }


def test_bom_crlf_lines_short_rows_and_formula_cells(env: dict[str, str], tmp_path: Path) -> None:
    text = (
        "Email , Interests,Keywords\r\n\r\n"
        "ada@example.org,'=HYPERLINK(x),agents\r\n"
        "bob@example.org,,robots\r\n"
    )
    source = write(tmp_path / "excel.csv", text, bom=True)
    result = ok(env, "import", str(source))
    assert result.stdout.strip() == (
        "excel.csv: 2 imported, 0 updated, 0 already there, 0 not re-activated, 0 rejected"
    )
    people = stored(env)
    assert people["ada@example.org"].profile.description == "=HYPERLINK(x)"
    assert people["bob@example.org"].profile.keywords == ("robots",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("email,interests,colour,Size\n", "unknown columns: 'colour', 'size' (known: email,"),
        ("name,interests\nx,y\n", "has no email column (its columns: name, interests)"),
        ("email,email\n", "columns named twice: email"),
        ("\n\n", "is empty: expected a header line with an email column"),
    ],
)
def test_import_refuses_a_bad_header(
    env: dict[str, str], tmp_path: Path, text: str, message: str
) -> None:
    result = invoke(env, "import", str(write(tmp_path / "bad.csv", text)))
    assert result.exit_code == 2
    assert message in error_line(result)


def test_import_refuses_a_missing_or_non_utf8_file(env: dict[str, str], tmp_path: Path) -> None:
    missing = invoke(env, "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "cannot read" in error_line(missing)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"email,interests\na@example.org,agents\nb@example.org,caf\xe9\n")
    result = invoke(env, "import", str(latin))
    assert result.exit_code == 2
    assert error_line(result) == (
        f"error: {latin}: line 3 is not UTF-8 text (save it as CSV UTF-8); nothing was imported"
    )
    assert count(env, SubscriberRow) == 0


def test_import_streams_in_batches(env: dict[str, str], tmp_path: Path) -> None:
    lines = [f"user{n}@example.org,topic {n}" for n in range(2500)]
    lines[1500] = "user3@example.org,again"  # a duplicate from the first batch
    source = write(tmp_path / "many.csv", "email,interests\n" + "\n".join(lines) + "\n")
    result = invoke(env, "import", str(source), "--confirmed")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "line 1502: rejected: email: user3@example.org is also on line 5",
        "many.csv: 2499 imported, 0 updated, 0 already there, 0 not re-activated, 1 rejected",
    ]
    assert count(env, SubscriberRow) == 2499


# export


def populate(env: dict[str, str]) -> None:
    add(env, "ada@example.org", "--keyword", "agents;planning", "--exclude", "survey",
        "--category", "cs.AI", "--category-mode", "filter", "--author", "Yoshua Bengio",
        "--timezone", "Europe/Paris", "--send-hour", "6", "--confirmed")  # fmt: skip
    ok(env, "add", "bob@example.org", "--interests", "=1+1 robots, navigation",
       "--frequency", "weekly", "--send-weekday", "3")  # fmt: skip
    add(env, "carol@example.org", "--confirmed")
    add(env, "dave@example.org", "--confirmed")
    add(env, "erin@example.org", "--confirmed")
    with sessions_for(env).begin() as session:
        carol = subscriber_rows.find(session, "carol@example.org")
        dave = subscriber_rows.find(session, "dave@example.org")
        ada = subscriber_rows.find(session, "ada@example.org")
        assert carol is not None
        assert dave is not None
        assert ada is not None
        erin = subscriber_rows.find(session, "erin@example.org")
        assert erin is not None
        subscriptions.set_paused(erin, paused=True)
        subscribers.unsubscribe(session, subscriber=carol, now=datetime.now(UTC))
        dave.status = "bounced"
        subscriptions.record_feedback(ada, paper_id="2508.00001", more=True)
        subscriptions.record_feedback(ada, paper_id="2508.00002", more=False)


def snapshot(env: dict[str, str]) -> list[dict[str, object]]:
    records = json.loads(ok(env, "export", "--format", "json").stdout)
    assert isinstance(records, list)
    return records


def test_export_then_import_gives_the_same_subscribers(env: dict[str, str], tmp_path: Path) -> None:
    populate(env)
    exported = tmp_path / "all.csv"
    result = ok(env, "export", "--output", str(exported))
    assert "exported 5 subscribers to" in result.stderr
    assert "a keywords item contains ';'" in result.stderr  # "agents;planning" splits
    before = snapshot(env)
    text = exported.read_text()
    assert "'=1+1 robots, navigation" in text  # never a formula in a spreadsheet

    fresh = env | {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    imported = ok(fresh, "import", str(exported), "--confirmed")
    assert imported.stdout.strip() == (
        "all.csv: 5 imported, 0 updated, 0 already there, 0 not re-activated, 0 rejected"
    )
    after = snapshot(fresh)
    ada_before, ada_after = before[0], after[0]
    assert ada_before["keywords"] == ["agents;planning"]
    assert ada_after["keywords"] == ["agents", "planning"]  # the one documented loss
    assert [r | {"keywords": None} for r in after] == [r | {"keywords": None} for r in before]
    assert [r["status"] for r in after] == [
        "active", "pending", "unsubscribed", "bounced", "paused",
    ]  # fmt: skip
    assert ok(fresh, "export").stdout == ok(env, "export").stdout


def test_export_json_shape(env: dict[str, str]) -> None:
    assert snapshot(env) == []
    populate(env)
    ada = snapshot(env)[0]
    created = ada.pop("created_at")
    confirmed = ada.pop("confirmed_at")
    assert isinstance(created, str)
    assert isinstance(confirmed, str)
    assert ada == {
        "email": "ada@example.org",
        "status": "active",
        "interests": "Language model agents",
        "keywords": ["agents;planning"],
        "exclude": ["survey"],
        "categories": ["cs.AI"],
        "category_mode": "filter",
        "authors": ["Yoshua Bengio"],
        "seed_papers": ["2508.00001"],
        "disliked_papers": ["2508.00002"],
        "frequency": "daily",
        "send_weekday": 0,
        "send_hour": 6,
        "timezone": "Europe/Paris",
        "unsubscribed_at": None,
    }


@pytest.mark.postgres
def test_import_export_and_erase_on_postgres(
    env: dict[str, str], tmp_path: Path, postgres_url: str
) -> None:
    populate(env)
    exported = tmp_path / "all.csv"
    ok(env, "export", "--output", str(exported))
    pg = env | {"NEWSLETTER_DATABASE_URL": postgres_url}
    ok(pg, "import", str(exported), "--confirmed")
    assert ok(pg, "export").stdout == ok(env, "export").stdout
    again = ok(pg, "import", str(exported), "--update", "--confirmed")
    assert again.stdout.strip() == (
        "all.csv: 0 imported, 3 updated, 2 already there, 0 not re-activated, 0 rejected"
    )
    with sessions_for(pg).begin() as session:
        session.add(BounceEventRow(fingerprint="x", recipient="ada@example.org", kind="soft"))
    erased = ok(pg, "remove", "ada@example.org", "--delete", "--yes").stdout.strip()
    assert erased == "deleted ada@example.org: subscriber, profile, digests, 1 bounce reports"
    assert "ada@example.org" not in stored(pg)
