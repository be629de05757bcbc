"""How a request that cannot be served ends: the one place errors become pages or JSON.

Routes, dependencies and services raise `PageError` (a status, a title and a message a
person can act on) or, in the JSON API, `InvalidInput` (every problem by field). `install`
registers the handlers: a notice page for browsers, JSON under /api/ where scripts read
the answer; the same for what the framework refuses itself (an unknown URL, a wrong
method), so a person never lands on raw JSON. An error page looks like one and says what
to do next. Nothing here touches the database, so an error page always renders.

Rules every handler keeps:
- Under /api/ every error has one shape, `{"detail": text, "problems": {field: message}}`
  (problems may be empty), whoever raised it: a route, FastAPI's validation, the router.
- An answer never repeats what was sent: FastAPI's default 422 echoed the whole input (a
  10,000-character description came back; NaN or a lone surrogate could not be encoded at
  all, which made it a 500). Field names are ours, messages are ours or pydantic's
  description of the rule, never the value.
- A database that is busy (SQLite's lock held past its busy timeout) or unreachable answers
  503 with `Retry-After`, never 500: the request may simply be sent again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from newsletter.web.pages import pages_for
from newsletter.web.strict_json import UnacceptableJson

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 5  # SQLite's busy timeout: a held lock is usually gone by then
DATABASE_ERRORS = (OperationalError, PoolTimeout)  # busy, locked or unreachable: retry later
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_MESSAGE = 200
_HTTP_PAGES = {
    404: ("Page not found", "There is no page at this address. Links in our mails work as sent."),
    405: ("Not available this way", "This address does not answer that kind of request."),
}
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


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX)


def api_error(
    status: int,
    detail: str,
    problems: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The API's one error shape."""
    body = {"detail": detail, "problems": dict(problems or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _answer(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    problems: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (HOME,),
) -> Response:
    if is_api(request.url.path):
        return api_error(status, message, problems, headers)
    page = pages_for(request).notice(title, message, status=status, links=links)
    page.headers.update(headers or {})
    return page


def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return _answer(request, exc.status, exc.title, exc.message, links=exc.links)


def invalid_input(request: Request, exc: Exception) -> Response:
    problems = exc.problems if isinstance(exc, InvalidInput) else {}
    return _answer(request, 422, "This request is not valid", "invalid input", problems=problems)


def request_invalid(request: Request, exc: Exception) -> Response:
    """FastAPI's validation of a body, query or path: every problem by field, no values."""
    assert isinstance(exc, RequestValidationError)
    if isinstance(exc.__cause__, UnacceptableJson):  # our parser said where
        problems = {exc.__cause__.field: f"not accepted: {exc.__cause__.msg}"}
    else:
        problems = problems_of(exc.errors())
    return _answer(
        request,
        422,
        "This request is not valid",
        "invalid input",
        problems=problems,
    )


def problems_of(errors: Sequence[Any]) -> dict[str, str]:
    """pydantic's errors as {field: message}: the first message per field, the field named
    by the parts of its location that are ours (declared names, list positions)."""
    problems: dict[str, str] = {}
    for error in errors:
        kind = error.get("type", "")
        location = list(error.get("loc", ()))
        if location and location[0] in ("body", "query", "path", "header", "cookie"):
            location = location[1:]
        if kind == "extra_forbidden":
            location, message = location[:-1], "unknown field"
        elif kind == "json_invalid":
            location, message = [], "not valid JSON"
        else:
            message = str(error.get("msg", "not valid"))[:_MAX_MESSAGE]
        problems.setdefault(_field_name(location), message)
    return problems


def _field_name(location: Sequence[Any]) -> str:
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        elif isinstance(part, str) and _FIELD.fullmatch(part):
            name += f".{part}" if name else part
        else:
            break  # a key the client made up: not repeated
    return name or "body"


def http_error(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405 (and any HTTPException): a page, or the API's shape."""
    assert isinstance(exc, HTTPException)
    title, message = _HTTP_PAGES.get(exc.status_code, ("Request refused", ""))
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if is_api(request.url.path) or not message:
        message = detail[:_MAX_MESSAGE] or message or "request refused"
    return _answer(request, exc.status_code, title, message, headers=exc.headers)


def database_unavailable(request: Request, exc: Exception) -> Response:
    """503 + Retry-After: the database was busy (a lock held past the busy timeout) or
    could not be reached. Nothing was stored; sending the request again is safe."""
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    return _answer(
        request,
        503,
        "Busy for a moment",
        "The service is busy: nothing was changed. Please try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(HTTPException, http_error)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, database_unavailable)
