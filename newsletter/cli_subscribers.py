"""`newsletter subscribers`: the admin's list, add, remove, import and export.

Import and export share one set of CSV columns, so an export imports back unchanged. An import
checks every row completely before anything is written, never half-applies a row, and writes
the good rows in one transaction, in batches so 100k rows stream through in little memory.
"""

from __future__ import annotations

import codecs
import csv
import functools
import json
import re
import sys
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, NamedTuple

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from newsletter.addresses import AddressError, normalise_address
from newsletter.cli_common import err, fail, load_settings, migrated, out
from newsletter.db import subscribers as db
from newsletter.db.models import SubscriberRow
from newsletter.db.subscribers import Entry, Frequency, Outcome, Schedule, Status
from newsletter.domain import CategoryMode, InterestProfile
from newsletter.matching.profile import ProfileError, build_profile

subscribers_app = typer.Typer(
    no_args_is_help=True, help="Subscribers: list, add, remove, import, export."
)

PROFILE_COLUMNS = {  # column -> InterestProfile field
    "interests": "description",
    "keywords": "keywords",
    "exclude": "exclude",
    "categories": "categories",
    "category_mode": "category_mode",
    "authors": "authors",
    "seed_papers": "seed_papers",
    "disliked_papers": "disliked_papers",
}
SCHEDULE_COLUMNS = ("frequency", "send_weekday", "send_hour", "timezone")  # as in Schedule
DATE_COLUMNS = ("created_at", "confirmed_at", "unsubscribed_at")
COLUMNS = ("email", "status", *PROFILE_COLUMNS, *SCHEDULE_COLUMNS, *DATE_COLUMNS)
PROBLEMS = "problems"  # FILE.rejected.csv adds it; ignored, so the fixed file imports again
LIST_SEPARATOR = ";"
BATCH = 1000
_DEFAULT = Schedule()
_FORMULA = tuple("=+-@")  # a cell starting so runs as a formula when a spreadsheet opens it


def register(app: typer.Typer) -> None:
    app.add_typer(subscribers_app, name="subscribers")


# --- checking what the admin gives ---


def _address(text: str) -> str:
    try:
        return normalise_address(text)
    except AddressError as exc:
        fail(str(exc), code=2)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def _zone_problem(zone: str) -> str | None:
    if zone in _zones():
        return None
    return f"unknown time zone {zone[:64]!r} (expected e.g. Europe/Paris)"


def _whole(text: str, *, low: int, high: int, default: int) -> int | None:
    text = text.strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        return None
    return int(text)


def _when(text: str) -> datetime | None:
    """ISO 8601; without an offset it is taken as UTC. Raises ValueError."""
    if not text.strip():
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Checked(NamedTuple):
    address: str | None  # None: not a valid address
    entry: Entry | None  # None: rejected, for `problems`
    problems: list[str]


def check_row(cells: Mapping[str, str], *, given: frozenset[str], confirmed: bool) -> Checked:
    """One import row (column -> cell), checked completely: every problem is reported."""
    problems = [
        f"{name}: a line break or NUL character"
        for name, value in cells.items()
        if name != "email"  # the address check has its own message
        and ("\x00" in value or (name != "interests" and ("\r" in value or "\n" in value)))
    ]  # free text may span lines: they are folded to spaces
    address = None
    try:
        address = normalise_address(cells["email"])
    except AddressError as exc:
        problems.append(f"email: {exc}")
    profile = _profile(cells, problems)
    schedule = _schedule(cells, problems)
    status = _status(cells.get("status", ""), confirmed=confirmed, problems=problems)
    dates: dict[str, datetime | None] = {}
    for name in DATE_COLUMNS:
        try:
            dates[name] = _when(cells.get(name, ""))
        except ValueError:
            problems.append(f"{name}: not an ISO 8601 date and time: {cells[name][:40]!r}")
    if problems or address is None or profile is None or schedule is None:
        return Checked(address, None, problems)
    entry = Entry(
        email=address,
        profile=profile,
        schedule=schedule,
        given=given,
        status=status,
        created_at=dates["created_at"],
        confirmed_at=dates["confirmed_at"],
        unsubscribed_at=dates["unsubscribed_at"],
    )
    return Checked(address, entry, [])


def _items(text: str | None) -> list[str]:
    return (text or "").split(LIST_SEPARATOR)


def _profile(cells: Mapping[str, str], problems: list[str]) -> InterestProfile | None:
    try:
        return build_profile(
            description=cells.get("interests", ""),
            keywords=_items(cells.get("keywords")),
            exclude=_items(cells.get("exclude")),
            categories=_items(cells.get("categories")),
            category_mode=cells.get("category_mode", "").strip().lower() or CategoryMode.BOOST,
            authors=_items(cells.get("authors")),
            seed_papers=_items(cells.get("seed_papers")),
            disliked_papers=_items(cells.get("disliked_papers")),
        )
    except ProfileError as exc:
        problems.append(f"profile: {exc}")
        return None


def _schedule(cells: Mapping[str, str], problems: list[str]) -> Schedule | None:
    hour = _whole(cells.get("send_hour", ""), low=0, high=23, default=_DEFAULT.send_hour)
    if hour is None:
        problems.append(f"send_hour: a whole hour from 0 to 23, not {cells['send_hour'][:20]!r}")
    weekday = _whole(cells.get("send_weekday", ""), low=0, high=6, default=_DEFAULT.send_weekday)
    if weekday is None:
        problems.append(f"send_weekday: 0 (Monday) to 6, not {cells['send_weekday'][:20]!r}")
    zone = cells.get("timezone", "").strip() or None  # None: the service's default zone
    zone_problem = _zone_problem(zone) if zone else None
    if zone_problem:
        problems.append(f"timezone: {zone_problem}")
    frequency = cells.get("frequency", "").strip().lower() or Frequency.DAILY.value
    if frequency not in set(Frequency):
        problems.append(f"frequency: daily or weekly, not {frequency[:20]!r}")
    if hour is None or weekday is None or zone_problem or frequency not in set(Frequency):
        return None
    return Schedule(
        timezone=zone, send_hour=hour, frequency=Frequency(frequency), send_weekday=weekday
    )


def _status(text: str, *, confirmed: bool, problems: list[str]) -> Status | None:
    text = text.strip().lower()
    if not text:
        return None
    if text not in set(Status):
        problems.append(f"status: one of {', '.join(Status)}, not {text[:20]!r}")
        return None
    if Status(text) in (Status.ACTIVE, Status.PAUSED) and not confirmed:
        problems.append(f"status: {text} needs --confirmed (you vouch the address was confirmed)")
    return Status(text)


# --- import ---


@dataclass
class ImportReport:
    counts: Counter[Outcome] = field(default_factory=Counter)
    rejected: list[tuple[int, list[str], list[str]]] = field(default_factory=list)
    suppressed: list[tuple[int, str]] = field(default_factory=list)  # (line, address)


class NotUtf8(ValueError):
    def __init__(self, line: int) -> None:
        super().__init__(f"line {line} is not UTF-8 text")
        self.line = line


_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its fields); blank lines are skipped."""
    line = 1
    for fields in reader:
        start, line = line, reader.line_num + 1
        if _UNDECODABLE.search("".join(fields)):
            raise NotUtf8(start)
        if any(cell.strip() for cell in fields):
            yield start, fields


def _header(record: tuple[int, list[str]] | None, source: Path) -> list[str]:
    if record is None:
        fail(f"{source} is empty: expected a header line with an email column", code=2)
    names = [name.strip().lower() for name in record[1]]
    if "email" not in names:
        fail(f"{source} has no email column (its columns: {', '.join(names)})", code=2)
    unknown = [repr(n) for n in names if n not in COLUMNS and n != PROBLEMS]
    if unknown:
        fail(f"unknown columns: {', '.join(unknown)} (known: {', '.join(COLUMNS)})", code=2)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        fail(f"columns named twice: {', '.join(twice)}", code=2)
    return names


def _unescaped(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA) else cell


def import_rows(
    session: Session,
    records: Iterable[tuple[int, list[str]]],
    *,
    header: Sequence[str],
    confirmed: bool,
    update: bool,
    now: datetime,
) -> ImportReport:
    """Check each record, then write the good ones `BATCH` at a time in the caller's
    transaction. The first row naming an address owns it: later ones are rejected."""
    report = ImportReport()
    given = frozenset(PROFILE_COLUMNS.get(n, n) for n in header if n not in ("email", PROBLEMS))
    first_line: dict[str, int] = {}
    batch: list[tuple[int, Entry]] = []
    for line, fields in records:
        cells = {n: _unescaped(c) for n, c in zip(header, fields, strict=False) if n != PROBLEMS}
        cells |= {n: "" for n in header[len(fields) :] if n != PROBLEMS}  # short rows: empty
        checked = check_row(cells, given=given, confirmed=confirmed)
        problems = checked.problems
        if len(fields) > len(header):
            problems.append(f"{len(fields)} fields, but the header has {len(header)}")
        if checked.address is not None:
            first = first_line.setdefault(checked.address, line)
            if first != line:
                problems.append(f"email: {checked.address} is also on line {first}")
        if problems or checked.entry is None:
            report.rejected.append((line, fields, problems))
            continue
        batch.append((line, checked.entry))
        if len(batch) >= BATCH:
            _write(session, batch, report, confirmed=confirmed, update=update, now=now)
    _write(session, batch, report, confirmed=confirmed, update=update, now=now)
    return report


def _write(
    session: Session,
    batch: list[tuple[int, Entry]],
    report: ImportReport,
    *,
    confirmed: bool,
    update: bool,
    now: datetime,
) -> None:
    if not batch:
        return
    entries = [entry for _, entry in batch]
    outcomes = db.import_entries(session, entries, update=update, confirmed=confirmed, now=now)
    for (line, entry), outcome in zip(batch, outcomes, strict=True):
        report.counts[outcome] += 1
        if outcome is Outcome.SUPPRESSED:
            report.suppressed.append((line, entry.email))
    batch.clear()


def _print_report(report: ImportReport, *, source: Path, update: bool, dry_run: bool) -> None:
    for line, _, problems in report.rejected:
        out.print(f"line {line}: rejected: {'; '.join(problems)}", markup=False, highlight=False)
    for line, address in report.suppressed:
        out.print(
            f"line {line}: {address} has unsubscribed or bounced: an import never re-activates it",
            markup=False,
            highlight=False,
        )
    counts = report.counts
    existing = counts[Outcome.EXISTS]
    hint = " (left as they are: --update changes them)" if existing and not update else ""
    out.print(
        f"{'dry run, nothing written: ' if dry_run else ''}{source.name}: "
        f"{counts[Outcome.ADDED]} imported, {counts[Outcome.UPDATED]} updated, "
        f"{existing} already there{hint}, {counts[Outcome.SUPPRESSED]} not re-activated, "
        f"{len(report.rejected)} rejected",
        markup=False,
        highlight=False,
    )


def _write_rejected(report: ImportReport, *, source: Path, header: list[str], bom: bool) -> Path:
    target = source.with_name(f"{source.stem}.rejected.csv")
    with target.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
        writer = csv.writer(stream)
        keep = [i for i, name in enumerate(header) if name != PROBLEMS]
        writer.writerow([header[i] for i in keep] + [PROBLEMS])
        for _, fields, problems in report.rejected:
            cells = [fields[i] if i < len(fields) else "" for i in keep]
            writer.writerow([*cells, "; ".join(problems)])
    return target


@subscribers_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file with a header line; email required")],
    confirmed: Annotated[
        bool, typer.Option(help="The addresses are known good: new ones start active")
    ] = False,
    update: Annotated[
        bool, typer.Option(help="Replace the profile and schedule of addresses already here")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Check and report; write nothing")] = False,
) -> None:
    """Import subscribers from CSV. Columns: email, status, interests, keywords, exclude,
    categories, category_mode, authors, seed_papers, disliked_papers (lists separated by
    ';'), frequency, send_weekday, send_hour, timezone, created_at, confirmed_at,
    unsubscribed_at. Addresses already here are left alone unless --update (which changes only
    the columns in the file); unsubscribed and bounced ones are never re-activated. Exit 1 when
    some rows were rejected (they are also written to FILE.rejected.csv)."""
    settings = load_settings()
    try:
        with file.open("rb") as raw:
            bom = raw.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        # Undecodable bytes are kept (surrogateescape) so the error can name their line.
        handle = file.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=2)
    with handle:
        reader = csv.reader(handle)
        records = _records(reader)
        _, sessions = migrated(settings)
        with sessions() as session:  # closing it without a commit rolls everything back
            try:
                header = _header(next(records, None), file)
                report = import_rows(
                    session, records, header=header, confirmed=confirmed, update=update,
                    now=datetime.now(UTC),
                )  # fmt: skip
            except NotUtf8 as exc:
                fail(f"{file}: {exc} (save it as CSV UTF-8); nothing was imported", code=2)
            except csv.Error as exc:
                fail(f"{file} line {reader.line_num}: {exc}; nothing was imported", code=2)
            if not dry_run:
                session.commit()
    _print_report(report, source=file, update=update, dry_run=dry_run)
    stale = file.with_name(f"{file.stem}.rejected.csv")
    if report.rejected and not dry_run:
        written = _write_rejected(report, source=file, header=header, bom=bom)
        out.print(f"rejected rows written to {written}", markup=False, highlight=False)
    elif not dry_run:
        stale.unlink(missing_ok=True)  # from an earlier run: it would mislead now
    if report.rejected:
        raise typer.Exit(1)


# --- export ---


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def export_record(row: SubscriberRow) -> dict[str, Any]:
    """Everything an import needs to recreate the subscriber (lists as lists)."""
    profile = db.to_profile(row.profile)
    record: dict[str, Any] = {"email": row.email, "status": row.status}
    for column, name in PROFILE_COLUMNS.items():
        value = getattr(profile, name)
        record[column] = list(value) if isinstance(value, tuple) else str(value)
    record |= {name: getattr(row, name) for name in SCHEDULE_COLUMNS}
    for name in DATE_COLUMNS:
        moment: datetime | None = getattr(row, name)
        record[name] = moment.isoformat() if moment else None
    return record


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


@contextmanager
def _output(target: Path | None) -> Iterator[IO[str]]:
    """stdout, or `target` written in full or not at all (a failed export leaves no half
    file that looks complete)."""
    if target is None:
        yield sys.stdout
        return
    partial = target.with_name(f".{target.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        yield stream
    partial.replace(target)


def _write_export(records: Iterable[dict[str, Any]], stream: IO[str], fmt: ExportFormat) -> int:
    count = 0
    writer = csv.writer(stream)
    if fmt is ExportFormat.CSV:
        writer.writerow(COLUMNS)
    else:
        stream.write("[")
    for count, record in enumerate(records, start=1):
        if fmt is ExportFormat.CSV:
            writer.writerow([_csv_cell(record[name]) for name in COLUMNS])
        else:
            stream.write(("\n" if count == 1 else ",\n") + json.dumps(record, ensure_ascii=False))
    if fmt is ExportFormat.JSON:
        stream.write("\n]\n")
    return count


def _split_by_separator(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The records, warning about list items a CSV import would split in two."""
    for record in records:
        for name, value in record.items():
            if isinstance(value, list) and any(LIST_SEPARATOR in item for item in value):
                err.print(
                    f"warning: {record['email']}: a {name} item contains {LIST_SEPARATOR!r} "
                    "and will import as two (the JSON export keeps it whole)",
                    markup=False,
                    highlight=False,
                )
        yield record


@subscribers_app.command("export")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.CSV,
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
) -> None:
    """Every subscriber with profile, schedule and status, in the columns `import` reads
    (unsubscribed and bounced ones too, so they stay suppressed wherever this is imported)."""
    _, sessions = migrated(load_settings())
    with sessions() as session, _output(output) as stream:
        records: Iterable[dict[str, Any]] = map(export_record, db.iter_subscribers(session))
        if fmt is ExportFormat.CSV:
            records = _split_by_separator(records)
        count = _write_export(records, stream, fmt)
    if output is not None:
        err.print(f"exported {count} subscribers to {output}", markup=False, highlight=False)


# --- list, add, remove ---


LISTED = ("email", "status", "frequency", "send_time", "timezone", "created", "confirmed",
          "interests")  # fmt: skip


class ListFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _summary(profile: InterestProfile, *, width: int = 80) -> str:
    parts = [profile.description] if profile.description else []
    for label, items in (
        ("keywords", profile.keywords),
        ("categories", profile.categories),
        ("authors", profile.authors),
        ("never", profile.exclude),
    ):
        if items:
            parts.append(f"{label}: {', '.join(items)}")
    if profile.seed_papers:
        parts.append(f"{len(profile.seed_papers)} liked papers")
    text = " | ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def listing(row: SubscriberRow, *, default_zone: str) -> dict[str, str]:
    weekly = row.frequency == Frequency.WEEKLY.value
    day = (
        ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[row.send_weekday] + " " if weekly else ""
    )
    return {
        "email": row.email,
        "status": row.status,
        "frequency": row.frequency,
        "send_time": f"{day}{row.send_hour:02d}:00",
        "timezone": row.timezone or f"{default_zone} (default)",
        "created": f"{row.created_at:%Y-%m-%d}",
        "confirmed": f"{row.confirmed_at:%Y-%m-%d}" if row.confirmed_at else "",
        "interests": _summary(db.to_profile(row.profile)),
    }


@subscribers_app.command("list")
def list_(
    status: Annotated[Status | None, typer.Option(help="Only subscribers with this status")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.TABLE,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 100,
) -> None:
    """Subscribers, oldest first: status, schedule, dates and a summary of their interests."""
    settings = load_settings()
    _, sessions = migrated(settings)
    with sessions() as session:
        rows = [
            listing(row, default_zone=settings.timezone)
            for row in db.iter_subscribers(session, status=status, limit=limit)
        ]
        total = db.count_subscribers(session, status=status)
    if fmt is ListFormat.JSON:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt is ListFormat.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=LISTED)
        writer.writeheader()
        writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
        return
    table = Table(*LISTED)
    for row in rows:  # Text: what people typed on the web is never read as rich markup
        table.add_row(*(Text(row[name]) for name in LISTED))
    out.print(table)
    which = f" with status {status}" if status else ""
    out.print(f"{len(rows)} of {total} subscribers{which}", highlight=False)


@subscribers_app.command("add")
def add(
    email: str,
    interests: Annotated[str, typer.Option(help="Interests in a sentence or two")] = "",
    keyword: Annotated[list[str] | None, typer.Option(help="Keyword, repeatable")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Never show, repeatable")] = None,
    category: Annotated[list[str] | None, typer.Option(help="arXiv category, repeatable")] = None,
    category_mode: Annotated[CategoryMode, typer.Option()] = CategoryMode.BOOST,
    author: Annotated[list[str] | None, typer.Option(help="Author, repeatable")] = None,
    frequency: Annotated[Frequency | None, typer.Option()] = None,
    send_hour: Annotated[int | None, typer.Option(min=0, max=23, help="Local hour")] = None,
    send_weekday: Annotated[
        int | None, typer.Option(min=0, max=6, help="Weekly digests: 0 = Monday")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone (default: settings)")] = None,
    confirmed: Annotated[
        bool, typer.Option(help="The address is known good: skip the confirmation step")
    ] = False,
) -> None:
    """Add a subscriber, or replace the interests (and any schedule option given) of one
    already here. Liked and disliked papers are kept; a paused subscriber stays paused; an
    unsubscribed or bounced address is refused (they can subscribe again on the web)."""
    settings = load_settings()
    address = _address(email)
    if timezone is not None and (problem := _zone_problem(timezone)):
        fail(problem, code=2)
    try:
        profile = build_profile(
            description=interests, keywords=keyword or (), exclude=exclude or (),
            categories=category or (), category_mode=category_mode, authors=author or (),
        )  # fmt: skip
    except ProfileError as exc:
        fail(str(exc), code=2)
    schedule = Schedule(
        timezone=timezone,
        send_hour=_DEFAULT.send_hour if send_hour is None else send_hour,
        frequency=frequency or _DEFAULT.frequency,
        send_weekday=_DEFAULT.send_weekday if send_weekday is None else send_weekday,
    )
    stated = {"timezone": timezone, "send_hour": send_hour, "frequency": frequency,
              "send_weekday": send_weekday}  # fmt: skip
    given = {n for n in PROFILE_COLUMNS.values() if n not in ("seed_papers", "disliked_papers")}
    given |= {name for name, value in stated.items() if value is not None}
    entry = Entry(email=address, profile=profile, schedule=schedule, given=frozenset(given))
    _, sessions = migrated(settings)
    with sessions.begin() as session:
        row = db.find(session, address)
        if row is not None and Status(row.status) in db.SUPPRESSED:
            fail(f"{address} is {row.status}: not re-activated (they can subscribe again)")
        (outcome,) = db.import_entries(
            session, [entry], update=True, confirmed=confirmed, now=datetime.now(UTC)
        )
        after = db.find(session, address)
        status = Status(after.status) if after else Status.PENDING
    state = f"{status}: no digest until confirmed" if status is Status.PENDING else status
    out.print(f"{outcome} {address} ({state})", markup=False, highlight=False)


@subscribers_app.command("remove")
def remove(
    email: str,
    delete: Annotated[
        bool, typer.Option(help="Delete every row about them (erasure), not just unsubscribe")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking")] = False,
) -> None:
    """Unsubscribe an address (kept, so it is never mailed again by mistake), or with
    --delete erase everything stored about it."""
    settings = load_settings()
    address = _address(email)
    _, sessions = migrated(settings)
    with sessions.begin() as session:
        row = db.find(session, address)
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
