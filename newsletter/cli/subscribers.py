"""`newsletter subscribers`: the admin's list, import and export (add and remove, shared with
the top-level `subscribe` and `unsubscribe`, are in cli/subscribe.py).

The columns and the import row checks live in newsletter.subscribers.csv_rows, the export records
and listed rows in newsletter.subscribers.export; the commands here open the files, hold the
transaction and report to the admin.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from newsletter.cli import readers, subscribe
from newsletter.cli.common import err, fail, load_settings, migrated, out
from newsletter.cli.help import App
from newsletter.domain import Status
from newsletter.subscribers.formats import ExportFormat, ListFormat

if TYPE_CHECKING:
    from newsletter.subscribers.csv_rows import ImportReport

subscribers_app = App(
    no_args_is_help=True,
    help="Subscribers: list, add, remove, import, export; their topics and libraries.",
)


def register(app: typer.Typer) -> None:
    subscribe.register(app, subscribers_app)
    readers.register(subscribers_app)
    app.add_typer(subscribers_app, name="subscribers")


# --- import ---


def _print_report(report: ImportReport, *, source: Path, update: bool, dry_run: bool) -> None:
    from newsletter.db.subscribers import Outcome

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
    from newsletter.subscribers import csv_rows as rows

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
        records = rows.read_records(reader)
        _, sessions = migrated(settings)
        with sessions() as session:  # closing it without a commit rolls everything back
            try:
                header = rows.read_header(next(records, None), file)
                report = rows.import_rows(
                    session, records, header=header, confirmed=confirmed, update=update,
                    now=datetime.now(UTC),
                )  # fmt: skip
            except rows.BadHeader as exc:
                fail(str(exc), code=2)
            except rows.NotUtf8 as exc:
                fail(f"{file}: {exc} (save it as CSV UTF-8); nothing was imported", code=2)
            except csv.Error as exc:
                fail(f"{file} line {reader.line_num}: {exc}; nothing was imported", code=2)
            if not dry_run:
                session.commit()
    _print_report(report, source=file, update=update, dry_run=dry_run)
    stale = file.with_name(f"{file.stem}.rejected.csv")
    if report.rejected and not dry_run:
        written = rows.write_rejected(report, source=file, header=header, bom=bom)
        out.print(f"rejected rows written to {written}", markup=False, highlight=False)
    elif not dry_run:
        stale.unlink(missing_ok=True)  # from an earlier run: it would mislead now
    if report.rejected:
        raise typer.Exit(1)


# --- export ---


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


def _split_by_separator(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The records, warning about list items a CSV import would split in two."""
    from newsletter.subscribers.csv_rows import LIST_SEPARATOR

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
    from newsletter.db import subscribers as db
    from newsletter.subscribers.export import export_record, write_export

    _, sessions = migrated(load_settings())
    with sessions() as session, _output(output) as stream:
        records: Iterable[dict[str, Any]] = map(export_record, db.iter_subscribers(session))
        if fmt is ExportFormat.CSV:
            records = _split_by_separator(records)
        count = write_export(records, stream, fmt)
    if output is not None:
        err.print(f"exported {count} subscribers to {output}", markup=False, highlight=False)


# --- list ---


@subscribers_app.command("list")
def list_(
    status: Annotated[Status | None, typer.Option(help="Only subscribers with this status")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.TABLE,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 100,
) -> None:
    """Subscribers, oldest first: status, schedule, dates and a summary of their interests."""
    from rich.table import Table
    from rich.text import Text

    from newsletter.db import subscribers as db
    from newsletter.subscribers.export import LISTED, csv_cell, listing

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
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        return
    table = Table(*LISTED)
    for row in rows:  # Text: what people typed on the web is never read as rich markup
        table.add_row(*(Text(row[name]) for name in LISTED))
    out.print(table)
    which = f" with status {status}" if status else ""
    out.print(f"{len(rows)} of {total} subscribers{which}", highlight=False)
