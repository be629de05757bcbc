"""The output formats of `subscribers export` and `list`: plain enums, so the command line can
name them in its options without importing the database layer (see cli/common.py)."""

from __future__ import annotations

from enum import StrEnum


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class ListFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
