"""The web app's routes, one module-level router per area; `create_app` includes them.

Routes stay thin: they declare what they need (see `deps`), call the function in a `web`
service module that does the work, and choose the page or JSON answer. Every route that
touches the database is a plain `def`, so FastAPI runs it in the thread pool and the event
loop keeps serving meanwhile.
"""

from fastapi import APIRouter

from newsletter.web.routes import (
    api,
    dev_mail,
    feedback,
    feeds,
    health,
    manage,
    subscribe,
    unsubscribe,
)

# Every app's routers, in the order the OpenAPI schema lists them. `dev_mail.router` only
# where mail goes to the development sink.
ROUTERS: tuple[APIRouter, ...] = tuple(
    area.router for area in (subscribe, manage, unsubscribe, feedback, feeds, api, health)
)
__all__ = ["ROUTERS", "dev_mail"]
