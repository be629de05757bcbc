"""Subscribers out: the records `subscribers export` writes (in the columns `import` reads,
so an export imports back unchanged) and the rows `subscribers list` shows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from newsletter.db import subscriber_rows
from newsletter.db.models import SubscriberRow
from newsletter.domain import Frequency, InterestProfile
from newsletter.subscribers.csv_rows import (
    COLUMNS,
    DATE_COLUMNS,
    FORMULA_START,
    LIST_SEPARATOR,
    PROFILE_COLUMNS,
    SCHEDULE_COLUMNS,
)
from newsletter.subscribers.formats import ExportFormat


def export_record(row: SubscriberRow) -> dict[str, Any]:
    """Everything an import needs to recreate the subscriber (lists as lists)."""
    profile = subscriber_rows.to_profile(row.profile)
    record: dict[str, Any] = {"email": row.email, "status": row.status}
    for column, name in PROFILE_COLUMNS.items():
        value = getattr(profile, name)
        record[column] = list(value) if isinstance(value, tuple) else str(value)
    record |= {name: getattr(row, name) for name in SCHEDULE_COLUMNS}
    for name in DATE_COLUMNS:
        moment: datetime | None = getattr(row, name)
        record[name] = moment.isoformat() if moment else None
    return record


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: lists joined, formulas escaped so a spreadsheet shows text."""
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_export(records: Iterable[dict[str, Any]], stream: IO[str], fmt: ExportFormat) -> int:
    """Write the records as CSV in COLUMNS or as a JSON array; returns how many."""
    count = 0
    writer = csv.writer(stream)
    if fmt is ExportFormat.CSV:
        writer.writerow(COLUMNS)
    else:
        stream.write("[")
    for count, record in enumerate(records, start=1):
        if fmt is ExportFormat.CSV:
            writer.writerow([csv_cell(record[name]) for name in COLUMNS])
        else:
            stream.write(("\n" if count == 1 else ",\n") + json.dumps(record, ensure_ascii=False))
    if fmt is ExportFormat.JSON:
        stream.write("\n]\n")
    return count


# --- list ---


LISTED = ("email", "status", "frequency", "send_time", "timezone", "created", "confirmed",
          "interests")  # fmt: skip


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
        "interests": _summary(subscriber_rows.to_profile(row.profile)),
    }
