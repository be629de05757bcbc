"""The development mail sink's inbox, shown in the web UI when no SMTP relay is configured
(`create_app` includes this router only then)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.delivery.sink import list_mail, read_mail
from newsletter.web.deps import SettingsDep, TemplatesDep
from newsletter.web.errors import PageError

# The mail is shown as the recipient would see it, sandboxed: no scripts, no forms. A click
# on one of its links opens a new tab (the frame itself cannot show our pages, which refuse
# to be framed): popups are allowed, and leave the sandbox so the page opened works.
_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
_SANDBOXED = f"sandbox {_SANDBOX}; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_NEW_TAB = '<base target="_blank">'

INBOX = [("Back to the development inbox", "/dev/mail")]

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
        raise PageError(404, "No such message", "It was deleted, or the link is wrong.", INBOX)
    text = found.get_body(preferencelist=("plain",))
    headers = [(name, str(value)) for name, value in found.items()]
    return templates.TemplateResponse(
        request,
        "dev_mail_message.html",
        {
            "key": key,
            "sandbox": _SANDBOX,
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
        raise PageError(404, "No HTML part", "This message has only a text part.", INBOX)
    return HTMLResponse(
        in_new_tabs(str(html.get_content())), headers={"Content-Security-Policy": _SANDBOXED}
    )


def in_new_tabs(html: str) -> str:
    """The mail's HTML with every link opening in a new tab (a <base> at the top of its
    head, or of the document when it has none)."""
    head = _HEAD.search(html)
    at = head.end() if head else 0
    return html[:at] + _NEW_TAB + html[at:]
