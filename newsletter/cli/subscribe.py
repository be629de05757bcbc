"""`newsletter subscribe` / `subscribers add`, and `unsubscribe` / `subscribers remove`.

One function per job, registered under both names, so the short top-level command and the
admin group can never drift apart again (they did: `subscribe --confirmed` re-activated
addresses that `subscribers add` refused). The rules:

- a new address is pending (no digest until it is confirmed) unless `--confirmed`;
- an address already here gets the new interests and any schedule option given; liked and
  disliked papers are kept, and a paused subscriber stays paused;
- an unsubscribed or bounced address (a spam complaint unsubscribes) is never mailed again
  because an admin typed its address: only `--reactivate` brings it back, as a new pending
  subscription (or an active one with `--confirmed`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from newsletter.cli.common import (
    Authors,
    Categories,
    CategoryModeOption,
    Excluded,
    Interests,
    Keywords,
    address_or_fail,
    fail,
    load_settings,
    migrated,
    out,
    profile_or_fail,
)
from newsletter.domain import CategoryMode, Frequency, InterestProfile, Status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsletter.db.models import SubscriberRow
    from newsletter.db.subscribers import Entry


def register(app: typer.Typer, subscribers_app: typer.Typer) -> None:
    app.command("subscribe")(add)
    app.command("unsubscribe")(unsubscribe)
    subscribers_app.command("add")(add)
    subscribers_app.command("remove")(remove)


def add(
    email: str,
    interests: Interests = "",
    keyword: Keywords = None,
    exclude: Excluded = None,
    category: Categories = None,
    category_mode: CategoryModeOption = CategoryMode.BOOST,
    author: Authors = None,
    frequency: Annotated[Frequency | None, typer.Option()] = None,
    send_hour: Annotated[int | None, typer.Option(min=0, max=23, help="Local hour")] = None,
    send_weekday: Annotated[
        int | None, typer.Option(min=0, max=6, help="Weekly digests: 0 = Monday")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone (default: settings)")] = None,
    confirmed: Annotated[
        bool, typer.Option(help="The address is known good: skip the confirmation step")
    ] = False,
    reactivate: Annotated[
        bool,
        typer.Option(help="Subscribe an unsubscribed or bounced address again (else refused)"),
    ] = False,
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic",
            help="The topic these interests are (added when the subscriber has none of that "
            "name; default: the first topic)",
        ),
    ] = None,
) -> None:
    """Add a subscriber, or replace the interests (and any schedule option given) of one
    already here. Liked and disliked papers are kept; a paused subscriber stays paused; an
    unsubscribed or bounced address is refused unless --reactivate. With --topic NAME the
    interests are that topic's (a new subscriber's first topic gets the name). `newsletter
    subscribe` and `newsletter subscribers add` are the same command."""
    from newsletter.db import subscriber_rows
    from newsletter.db import subscribers as db

    settings = load_settings()
    address = address_or_fail(email)
    profile = profile_or_fail(
        interests=interests, keyword=keyword, exclude=exclude, category=category,
        category_mode=category_mode, author=author,
    )  # fmt: skip
    stated = {"timezone": timezone, "send_hour": send_hour, "frequency": frequency,
              "send_weekday": send_weekday}  # fmt: skip
    entry = _entry(address, profile, stated, whole_profile=topic is None)
    now = datetime.now(UTC)
    _, sessions = migrated(settings)
    with sessions.begin() as session:
        row = subscriber_rows.find(session, address)
        suppressed = row is not None and Status(row.status) in db.SUPPRESSED
        if row is not None and suppressed:
            if not reactivate:
                fail(
                    f"{address} is {row.status}: not re-activated without --reactivate "
                    "(or they subscribe again on the web)"
                )
            db.reactivate(row)
        (outcome,) = db.import_entries(session, [entry], update=True, confirmed=confirmed, now=now)
        after = subscriber_rows.find(session, address)
        status = Status(after.status) if after else Status.PENDING
        where = ""
        if topic is not None and after is not None:
            where = _into_topic(session, after, topic, profile, created=row is None)
    state = f"{status}: no digest until confirmed" if status is Status.PENDING else status
    verb = "reactivated" if suppressed else outcome
    out.print(f"{verb} {address}{where} ({state})", markup=False, highlight=False)


def _into_topic(
    session: Session, row: SubscriberRow, name: str, profile: InterestProfile, *, created: bool
) -> str:
    """The interests written into the topic `name` (a new subscriber's first topic takes
    the name; an existing subscriber's topic of that name keeps its liked and disliked
    papers; another name is a new topic): what to add to the report."""
    from dataclasses import replace

    from newsletter.db.subscriber_rows import to_profile, write_profile
    from newsletter.db.topics import TopicError, add_topic, find_topic, first_topic, rename_topic

    try:
        if created:
            first = first_topic(session, row)
            rename_topic(session, first, name)
            return f", topic {first.name!r}"
        found = find_topic(session, row.id, name)
        if found is None:
            added = add_topic(session, row, name=name, profile=profile)
            return f", new topic {added.name!r}"
    except TopicError as exc:
        fail(str(exc), code=2)
    kept = to_profile(found)
    write_profile(found, replace(profile, seed_papers=kept.seed_papers,
                                 disliked_papers=kept.disliked_papers))  # fmt: skip
    return f", topic {found.name!r}"


def _entry(
    address: str, profile: InterestProfile, stated: dict[str, Any], *, whole_profile: bool = True
) -> Entry:
    """What the admin said about `address`: the whole profile (liked and disliked papers
    excepted: they come from the reader) unless the interests go to a named topic (then
    only a new subscriber's first topic gets them), and the schedule options given."""
    from newsletter.db.subscribers import Entry
    from newsletter.domain import Schedule
    from newsletter.subscribers.csv_rows import DEFAULT_SCHEDULE, PROFILE_COLUMNS, zone_problem

    if stated["timezone"] is not None and (problem := zone_problem(stated["timezone"])):
        fail(problem, code=2)
    given = {n for n in PROFILE_COLUMNS.values() if n not in ("seed_papers", "disliked_papers")}
    if not whole_profile:
        given = set()
    given |= {name for name, value in stated.items() if value is not None}
    defaults = {name: getattr(DEFAULT_SCHEDULE, name) for name in stated}
    schedule = Schedule(**{name: stated[name] if name in given else defaults[name]
                           for name in stated})  # fmt: skip
    return Entry(email=address, profile=profile, schedule=schedule, given=frozenset(given))


def remove(
    email: str,
    delete: Annotated[
        bool, typer.Option(help="Delete every row about them (erasure), not just unsubscribe")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking")] = False,
) -> None:
    """Unsubscribe an address (kept, so it is never mailed again by mistake), or with
    --delete erase everything stored about it."""
    from newsletter.db import subscriber_rows
    from newsletter.db import subscribers as db

    settings = load_settings()
    address = address_or_fail(email)
    _, sessions = migrated(settings)
    with sessions.begin() as session:
        row = subscriber_rows.find(session, address)
        if row is None:
            fail(f"no subscriber {address}")
        if delete:
            if not yes:
                typer.confirm(
                    f"Delete {address} and everything stored about them? This cannot be "
                    "undone, and the address is no longer suppressed afterwards.",
                    abort=True,
                )
            bounces = db.erase(session, row)
            message = f"deleted {address}: subscriber, profile, digests, {bounces} bounce reports"
        elif row.status == Status.BOUNCED:
            message = f"{address} has bounced: it is not mailed already"
        elif db.unsubscribe(session, subscriber=row, now=datetime.now(UTC)):
            message = f"{address} unsubscribed"
        else:
            message = f"{address} was already unsubscribed"
    out.print(message, markup=False, highlight=False)


def unsubscribe(email: str) -> None:
    """Stop all mail to an address (kept, so it is never mailed again by mistake); the same
    as `newsletter subscribers remove` without --delete."""
    remove(email, delete=False, yes=False)
