"""HEAD on every GET route: answered as the GET, without the body (RFC 9110, 9.3.2).

Uptime checkers and link checkers ask with HEAD; FastAPI's routes answer only the methods
they list, so `HEAD /healthz` was a 405. Running the GET is safe because GET never changes
state here; the headers (Content-Length included) are the GET's, the body is dropped.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed body: only its end is passed on, empty
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
