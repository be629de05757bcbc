"""JSON bodies as the API accepts them: standard JSON (RFC 8259) holding text every database,
page and mail can carry.

Python's json module takes `NaN`, `Infinity` and `-Infinity`, turns `1e999` into infinity and
decodes `"\\ud800"` into a lone surrogate; a `"\\u0000"` decodes to NUL, which PostgreSQL
cannot store. None of these is input a client means to send, and each used to end in a 500.
`loads` refuses them as a JSON error, so FastAPI answers 422 before any route runs, and the
routes of a router built with `route_class=StrictJsonRoute` read their bodies with it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

MAX_INTEGER_DIGITS = 30  # far beyond any count or hour here; Python's own limit is 4,300
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # a key we may repeat in an answer
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnacceptableJson(json.JSONDecodeError):
    """A body refused as JSON; `field` says where (a path of the body's keys, or "body")."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message, "", 0)  # no copy of the body: answers never echo it
        self.field = field


class _Refused(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Refused("NaN and Infinity are not JSON numbers")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is too large")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused("a number is too large")
    return int(text)


def loads(body: bytes) -> Any:
    """The parsed body, or UnacceptableJson (a json.JSONDecodeError, which FastAPI turns
    into a 422 validation error)."""
    try:
        value = json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _Refused as exc:
        raise UnacceptableJson(str(exc)) from None
    except UnicodeDecodeError:
        raise UnacceptableJson("the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UnacceptableJson(exc.msg) from None
    where = unstorable_text_at(value)
    if where is not None:
        raise UnacceptableJson("text may not contain NUL or lone surrogate characters", where)
    return value


def unstorable_text_at(value: Any) -> str | None:
    """Where the first string with NUL or a lone surrogate is (keys count too), or None.
    Walked with a stack, not recursion: json.loads accepts deeper nesting than Python's
    recursion limit allows a recursive walk."""
    stack: list[tuple[str, Any]] = [("body", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return path
        elif isinstance(item, list):
            stack.extend((f"{path}[{n}]", element) for n, element in enumerate(item))
        elif isinstance(item, dict):
            for key, element in item.items():
                if _UNSTORABLE.search(key):
                    return path
                named = _NAME.fullmatch(key) is not None
                child = (key if path == "body" else f"{path}.{key}") if named else path
                stack.append((child, element))
    return None


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read with `loads` (FastAPI's documented way to change how
    a route reads its request: a custom Request class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
