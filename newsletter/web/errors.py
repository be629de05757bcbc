"""How a request that cannot be served ends: the one place errors become pages or JSON.

Routes, dependencies and services raise `PageError` (a status, a title and a message a
person can act on) or, in the JSON API, `InvalidInput` (every problem by field). `install`
registers the handlers: a notice page for browsers, JSON under /api/ where scripts read
the answer; the same for what the framework refuses itself (an unknown URL, a wrong
method), so a person never lands on raw JSON. An error page looks like one and says what
to do next. Nothing here touches the database, so an error page always renders.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsletter.web.pages import pages_for

API_PREFIX = "/api/"
HOME = ("Go to the home page", "/")


class PageError(Exception):
    """Ends a request with an explanation page (or JSON under /api/); `links` are the
    next steps offered (default: the home page)."""

    def __init__(
        self, status: int, title: str, message: str, links: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message
        self.links = tuple(links) or (HOME,)


class InvalidInput(Exception):
    """Answered 422 with every problem by field (see `invalid_input`)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems


def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if request.url.path.startswith(API_PREFIX):
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    return pages_for(request).notice(exc.title, exc.message, status=exc.status, links=exc.links)


async def http_error(request: Request, exc: Exception) -> Response:
    """What routing refuses (404 unknown URL, 405 wrong method): FastAPI's JSON under
    /api/, a page with a way back for everyone else."""
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(API_PREFIX):
        return await http_exception_handler(request, exc)
    title, message = _HTTP_PAGES.get(exc.status_code, ("This request was refused", str(exc.detail)))
    page = pages_for(request).notice(title, message, status=exc.status_code, links=[HOME])
    page.headers.update(exc.headers or {})  # e.g. Allow on a 405
    return page


_HTTP_PAGES = {
    404: ("Page not found", "There is no page at this address. Links in our mails work as sent."),
    405: ("Not available this way", "This address does not answer that kind of request."),
}


def invalid_input(_: Request, exc: Exception) -> JSONResponse:
    problems = exc.problems if isinstance(exc, InvalidInput) else {}
    return JSONResponse({"detail": "invalid input", "problems": problems}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(StarletteHTTPException, http_error)
