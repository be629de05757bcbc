"""The web app's routes, one module-level router per area; `create_app` includes them.

Routes stay thin: they declare what they need (see `deps`), call the function in a `web`
service module that does the work, and choose the page or JSON answer. Every route that
touches the database is a plain `def`, so FastAPI runs it in the thread pool and the event
loop keeps serving meanwhile.
"""

from fastapi import APIRouter

from newsletter.web.routes import (
    api,
    api_topics,
    dev_mail,
    feedback,
    feeds,
    health,
    manage,
    rating,
    subscribe,
    topics,
    unsubscribe,
)

# Every app's routers, in the order the OpenAPI schema lists them. `dev_mail.router` only
# where mail goes to the development sink.
ROUTERS: tuple[APIRouter, ...] = tuple(
    area.router
    for area in (
        subscribe,
        manage,
        topics,
        rating,
        unsubscribe,
        feedback,
        feeds,
        api,
        api_topics,
        health,
    )
)
__all__ = ["ROUTERS", "dev_mail"]
