"""The development mail sink's inbox, shown in the web UI when no SMTP relay is configured."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from newsletter.delivery.sink import list_mail, read_mail

_SANDBOXED = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def dev_mail_router(directory: Path, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(prefix="/dev/mail", include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    def inbox(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request, "dev_mail.html", {"mails": list_mail(directory, limit=200)}
        )

    @router.get("/{key}", response_class=HTMLResponse)
    def message(request: Request, key: str) -> HTMLResponse:
        found = read_mail(directory, key)
        if found is None:
            raise HTTPException(404, "no such message")
        text = found.get_body(preferencelist=("plain",))
        headers = [(name, str(value)) for name, value in found.items()]
        return templates.TemplateResponse(
            request,
            "dev_mail_message.html",
            {
                "key": key,
                "headers": headers,
                "subject": str(found["Subject"] or ""),
                "text": text.get_content() if text else "",
            },
        )

    @router.get("/{key}/html")
    def message_html(key: str) -> Response:
        found = read_mail(directory, key)
        html = found.get_body(preferencelist=("html",)) if found else None
        if html is None:
            raise HTTPException(404, "no HTML part")
        # The mail is shown as the recipient would see it, sandboxed: no scripts, no forms.
        return HTMLResponse(
            html.get_content(),
            headers={"Content-Security-Policy": _SANDBOXED},
        )

    return router
