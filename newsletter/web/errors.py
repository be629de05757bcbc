"""How a request that cannot be served ends: the one place errors become pages or JSON.

Routes, dependencies and services raise `PageError` (a status, a title and a message a
person can act on) or, in the JSON API, `InvalidInput` (every problem by field). `install`
registers the handlers: a notice page for browsers, JSON under /api/ where scripts read
the answer. Nothing here touches the database, so an error page always renders.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from newsletter.web.pages import pages_for

API_PREFIX = "/api/"


class PageError(Exception):
    """Ends a request with an explanation page (or JSON under /api/)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class InvalidInput(Exception):
    """Answered 422 with every problem by field (see `invalid_input`)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems


def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if request.url.path.startswith(API_PREFIX):
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    return pages_for(request).notice(exc.title, exc.message, status=exc.status)


def invalid_input(_: Request, exc: Exception) -> JSONResponse:
    problems = exc.problems if isinstance(exc, InvalidInput) else {}
    return JSONResponse({"detail": "invalid input", "problems": problems}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(InvalidInput, invalid_input)
