"""The site's HTML pages: every one gets the list's name and the CSRF token for its forms.

`Site` is built once per app; `Pages` binds it to one request, whose CSRF nonce (set by
`SecurityMiddleware`) signs the tokens of the forms on the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from newsletter.matching import taxonomy
from newsletter.web import forms
from newsletter.web.security import CSRF_FIELD, NONCE_KEY, Csrf


@dataclass(frozen=True)
class Site:
    templates: Jinja2Templates
    csrf: Csrf
    list_name: str
    mail_sink: bool  # the header links the development inbox
    api_docs: bool = True  # the footer links the API docs (off in production by default)


@dataclass(frozen=True)
class Pages:
    site: Site
    request: Request

    def render(self, name: str, context: Mapping[str, Any], *, status: int = 200) -> HTMLResponse:
        state = self.request.state
        nonce = str(state.csrf_nonce if hasattr(state, NONCE_KEY) else "")
        full = {
            "csrf_field": CSRF_FIELD,
            "csrf": lambda path: self.site.csrf.token(nonce, path),
            "list_name": self.site.list_name,
            "mail_sink": self.site.mail_sink,
            "api_docs": self.site.api_docs,
            **context,
        }
        return self.site.templates.TemplateResponse(self.request, name, full, status_code=status)

    def notice(
        self,
        title: str,
        message: str,
        *,
        status: int = 200,
        links: Sequence[tuple[str, str]] = (),
        details: Sequence[str] = (),
    ) -> HTMLResponse:
        """`details`: lines listed under the message (a library file's report)."""
        # An error looks like one (and is announced as one); a success like a success.
        context = {
            "title": title,
            "message": message,
            "links": links,
            "error": status >= 400,
            "details": details,
        }
        return self.render("notice.html", context, status=status)


def site_of(request: Request) -> Site:
    return cast(Site, request.app.state.site)


def pages_for(request: Request) -> Pages:
    return Pages(site_of(request), request)


def form_context(default_zone: str, **context: Any) -> dict[str, Any]:
    """What the profile form (subscribe and preferences pages) shows; `context` overrides."""
    return {
        "values": forms.FormValues(timezone=default_zone),
        "problems": {},
        "labels": forms.LABELS,
        "zones": forms.time_zones(),
        "category_groups": taxonomy.groups(),
        "weekdays": forms.WEEKDAYS,
        "default_zone": default_zone,
        "manage": False,
        "preview": None,
        **context,
    }
