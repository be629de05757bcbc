"""Subscriber import rows: the CSV columns `subscribers import` reads and
newsletter.subscribers.export writes (one set, so an export imports back unchanged), checking
each row, and writing the good ones.

An import checks every row completely before anything is written, never half-applies a row,
and writes the good rows in one transaction, in batches so 100k rows stream through in little
memory. Nothing here prints or exits: the commands in newsletter.cli.subscribers do.
"""

from __future__ import annotations

import csv
import functools
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from newsletter.db import subscribers as db
from newsletter.db.subscribers import Entry, Outcome
from newsletter.domain import CategoryMode, Frequency, InterestProfile, Schedule, Status
from newsletter.matching.profile import ProfileError, build_profile
from newsletter.subscribers.addresses import AddressError, normalise_address

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
DEFAULT_SCHEDULE = Schedule()
FORMULA_START = tuple("=+-@")  # a cell starting so runs as a formula when a spreadsheet opens it


# --- checking one row ---


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def zone_problem(zone: str) -> str | None:
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
    default = DEFAULT_SCHEDULE
    hour = _whole(cells.get("send_hour", ""), low=0, high=23, default=default.send_hour)
    if hour is None:
        problems.append(f"send_hour: a whole hour from 0 to 23, not {cells['send_hour'][:20]!r}")
    weekday = _whole(cells.get("send_weekday", ""), low=0, high=6, default=default.send_weekday)
    if weekday is None:
        problems.append(f"send_weekday: 0 (Monday) to 6, not {cells['send_weekday'][:20]!r}")
    zone = cells.get("timezone", "").strip() or None  # None: the service's default zone
    bad_zone = zone_problem(zone) if zone else None
    if bad_zone:
        problems.append(f"timezone: {bad_zone}")
    frequency = cells.get("frequency", "").strip().lower() or Frequency.DAILY.value
    if frequency not in set(Frequency):
        problems.append(f"frequency: daily or weekly, not {frequency[:20]!r}")
    if hour is None or weekday is None or bad_zone or frequency not in set(Frequency):
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


# --- reading and writing an import ---


@dataclass
class ImportReport:
    counts: Counter[Outcome] = field(default_factory=Counter)
    rejected: list[tuple[int, list[str], list[str]]] = field(default_factory=list)
    suppressed: list[tuple[int, str]] = field(default_factory=list)  # (line, address)


class NotUtf8(ValueError):
    def __init__(self, line: int) -> None:
        super().__init__(f"line {line} is not UTF-8 text")
        self.line = line


class BadHeader(ValueError):
    """The header line cannot be imported: nothing is."""


_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def read_records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its fields); blank lines are skipped."""
    line = 1
    for fields in reader:
        start, line = line, reader.line_num + 1
        if _UNDECODABLE.search("".join(fields)):
            raise NotUtf8(start)
        if any(cell.strip() for cell in fields):
            yield start, fields


def read_header(record: tuple[int, list[str]] | None, source: Path) -> list[str]:
    """The column names of the first record; raises BadHeader."""
    if record is None:
        raise BadHeader(f"{source} is empty: expected a header line with an email column")
    names = [name.strip().lower() for name in record[1]]
    if "email" not in names:
        raise BadHeader(f"{source} has no email column (its columns: {', '.join(names)})")
    unknown = [repr(n) for n in names if n not in COLUMNS and n != PROBLEMS]
    if unknown:
        raise BadHeader(f"unknown columns: {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BadHeader(f"columns named twice: {', '.join(twice)}")
    return names


def _unescaped(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


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


def write_rejected(report: ImportReport, *, source: Path, header: list[str], bom: bool) -> Path:
    """FILE.rejected.csv: the rejected rows as given, plus why, to fix and import again."""
    target = source.with_name(f"{source.stem}.rejected.csv")
    with target.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
        writer = csv.writer(stream)
        keep = [i for i, name in enumerate(header) if name != PROBLEMS]
        writer.writerow([header[i] for i in keep] + [PROBLEMS])
        for _, fields, problems in report.rejected:
            cells = [fields[i] if i < len(fields) else "" for i in keep]
            writer.writerow([*cells, "; ".join(problems)])
    return target
