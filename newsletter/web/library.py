"""Library files uploaded from the subscribe page, the preferences pages and the JSON API.

The file is read whole when the form arrives (its size is capped by the middleware, see
`security.UPLOAD_PATHS`, and by `WebLimits.max_upload_bytes`); a file that cannot be read at
all is a problem shown with the form, and nothing is stored. The subscribe page stores the
entries with the pending subscription (after the answer, like the rest of the request), so
its report can only say what was read; the preferences pages store at once and report what
was imported, every problem with its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from starlette.datastructures import FormData, UploadFile

from newsletter.library import LibraryError, LibraryImport, LibraryProblem
from newsletter.subscribers.library_import import ImportReport, read_upload

FIELD = "library"  # the file input's name
MAX_SHOWN_PROBLEMS = 50  # problems listed on a page; the rest counted


@dataclass(frozen=True)
class Upload:
    filename: str  # the name the browser gave, without any folder
    data: bytes


async def upload_in(form: FormData, field: str = FIELD) -> Upload | None:
    """The uploaded file, or None when the form came without one (no file chosen)."""
    item = form.get(field)
    if not isinstance(item, UploadFile):
        return None
    data = await item.read()
    name = PurePath((item.filename or "").replace("\\", "/")).name[:200]
    if not data and not name:
        return None
    return Upload(name or "library", data)


def read_uploaded(upload: Upload, *, max_bytes: int) -> LibraryImport:
    """The upload read; LibraryError (its message for the reader) when it cannot be."""
    if not upload.data:
        raise LibraryError(f"the file {upload.filename!r} is empty")
    return read_upload(upload.data, filename=upload.filename, max_bytes=max_bytes)


def read_lines(library: LibraryImport, filename: str) -> list[str]:
    """What the subscribe page can say of a file before it is stored: what was read."""
    count = len(library.entries)
    lines = [
        f"{filename} ({library.format.label}): {count} paper{'' if count == 1 else 's'} read"
        + (f", {library.duplicates} duplicates merged" if library.duplicates else "")
        + (f", {len(library.problems)} not readable:" if library.problems else "."),
        *problem_lines(library.problems),
    ]
    if count:
        lines.append(
            "Once you confirm your address, they are the examples your digest learns from "
            "(you can see and change them from your preferences)."
        )
    return lines


def report_lines(report: ImportReport) -> list[str]:
    """A stored import: the summary, every problem with its line, notes on bare ids."""
    return [report.summary(), *problem_lines(report.problems), *report.notes()]


def problem_lines(problems: Sequence[LibraryProblem]) -> list[str]:
    shown = [str(p) for p in problems[:MAX_SHOWN_PROBLEMS]]
    if len(problems) > MAX_SHOWN_PROBLEMS:
        shown.append(f"… and {len(problems) - MAX_SHOWN_PROBLEMS} more problems")
    return shown
