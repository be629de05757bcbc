"""The API explorers, /docs (Swagger UI) and /redoc, served with their scripts from here.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: blank offline, and third-party
script on a site that otherwise loads nothing from elsewhere. The assets come from the
`fastapi-standalone-docs` package (MIT; it ships Swagger UI under Apache-2.0 and ReDoc
under MIT with their licence files), served as static files; only its files are used,
not its patching of FastAPI's functions. No Google fonts, no validator badge, no remote
favicon: the pages make no request outside this service.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_standalone_docs
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_standalone_docs.__file__).parent / "static"
DOCS_URL, REDOC_URL = "/docs", "/redoc"


def install(app: FastAPI) -> None:
    """Serve both explorers of `app` (built with docs_url=None, redoc_url=None)."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{DOCS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_URL}/swagger-ui.css",
            swagger_favicon_url="data:,",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},  # its badge calls swagger.io
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{REDOC_URL}/redoc.standalone.js",
            redoc_favicon_url="data:,",
            with_google_fonts=False,
        )

    # After the pages: a mount answers only below its path. The package's ReDoc asks for
    # its logo next to the page (/redoc/logo-mini.svg), so each folder sits under its page.
    app.mount(DOCS_URL, StaticFiles(directory=ASSETS / "swagger"), name="swagger-ui")
    app.mount(REDOC_URL, StaticFiles(directory=ASSETS / "redoc"), name="redoc")
