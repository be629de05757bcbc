"""Adapters that bring the day's papers in: arXiv, Hugging Face, local files."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from pydantic import ValidationError

from newsletter.domain import ParseResult


class SourceError(Exception):
    """A whole response or source is unusable; nothing from it may be stored."""


def validation_reason(error: ValidationError) -> str:
    """The first problem pydantic found, as ``field.path: message``, for a skip reason."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "item"
    return f"{location}: {first['msg']}"


class PaperSource(Protocol):
    """Something that reports papers; malformed items are skipped, not fatal."""

    name: str

    def fetch(self, *, day: date | None) -> ParseResult:
        """The papers of `day` (the source's latest when None); raises SourceError."""
        ...
