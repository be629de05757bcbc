"""The development mail sink's inbox, shown in the web UI when no SMTP relay is configured
(`create_app` includes this router only then)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.delivery.sink import list_mail, read_mail
from newsletter.web.deps import SettingsDep, TemplatesDep

_SANDBOXED = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"

router = APIRouter(prefix="/dev/mail", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def inbox(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    mails = list_mail(settings.mail_sink_dir, limit=200)
    return templates.TemplateResponse(request, "dev_mail.html", {"mails": mails})


@router.get("/{key}", response_class=HTMLResponse)
def message(
    request: Request, key: str, templates: TemplatesDep, settings: SettingsDep
) -> HTMLResponse:
    found = read_mail(settings.mail_sink_dir, key)
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
def message_html(key: str, settings: SettingsDep) -> Response:
    found = read_mail(settings.mail_sink_dir, key)
    html = found.get_body(preferencelist=("html",)) if found else None
    if html is None:
        raise HTTPException(404, "no HTML part")
    # The mail is shown as the recipient would see it, sandboxed: no scripts, no forms.
    return HTMLResponse(html.get_content(), headers={"Content-Security-Policy": _SANDBOXED})
