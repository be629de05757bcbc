"""A database lock held past SQLite's busy timeout (issue 14, finding 4): other requests go on,
a change answers 503 with Retry-After (never 500), and a one-click unsubscribe waits and is
stored, never lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.domain import Status
from tests.support.web_support import (
    RecordingMailer,
    csrf_of,
    link_path,
    links,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio
HOLD_SECONDS = 7.0  # longer than the busy timeout (5 s)


class LockHolder(threading.Thread):
    """Another connection that takes the write lock and keeps it for `seconds`."""

    def __init__(self, path: Path, seconds: float) -> None:
        super().__init__(daemon=True)
        self.path, self.seconds = path, seconds
        self.held, self.released = threading.Event(), threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")  # the write lock, now
            self.held.set()
            time.sleep(self.seconds)
            connection.execute("ROLLBACK")
            self.released.set()
        finally:
            connection.close()


async def test_a_held_lock_gives_503_delays_one_click_and_never_stalls_healthz(
    settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    who = subscriber(sessions)
    made = links(settings)
    one_click = link_path(made.unsubscribe(who))
    preferences = link_path(made.preferences(who))
    holder = LockHolder(tmp_path / "newsletter.db", HOLD_SECONDS)
    async with web_client(settings, sessions, mailer=RecordingMailer()) as web:
        page = await web.get(preferences)
        home = await web.get("/")
        holder.start()
        assert await asyncio.to_thread(holder.held.wait, 5)
        change = web.post(preferences, data={"keywords": "graphs", "csrf_token": csrf_of(page)})
        unsubscribe = web.post(one_click, data={"List-Unsubscribe": "One-Click"})
        signup = web.post(
            "/", data={"email": "late@example.org", "keywords": "x", "csrf_token": csrf_of(home)}
        )
        tasks = [asyncio.ensure_future(c) for c in (change, unsubscribe, signup)]
        await asyncio.sleep(0.5)  # the others are waiting on the lock by now
        health = await web.get("/healthz")
        health_during_lock = not holder.released.is_set()
        changed, unsubscribed, signed_up = await asyncio.gather(*tasks)
    holder.join()
    assert (health.status_code, health_during_lock) == (200, True)
    assert health.json() == {"status": "ok", "database": "ok"}
    assert changed.status_code == 503
    assert changed.headers["retry-after"] == "5"
    assert "try again" in changed.text
    assert unsubscribed.status_code == 200  # answered once stored, after the lock went
    assert "You are unsubscribed" in unsubscribed.text
    assert subscriber_row(sessions, "ada@example.org").status == Status.UNSUBSCRIBED.value
    assert signed_up.status_code == 200  # answered at once, stored once the lock went
    assert subscriber_row(sessions, "late@example.org").status == Status.PENDING.value


async def test_an_unreachable_database_gives_503_not_500(settings: Settings) -> None:
    from sqlalchemy import create_engine

    from newsletter.db.engine import session_factory

    broken = session_factory(create_engine("sqlite:////nonexistent/dir/db.sqlite"))
    async with web_client(settings, broken) as web:
        page = await web.get("/")
        api = await web.get("/api/papers")
    assert (page.status_code, api.status_code) == (503, 503)
    assert page.headers["retry-after"] == api.headers["retry-after"] == "5"
    assert set(api.json()) == {"detail", "problems"}
    assert "nonexistent" not in page.text + api.text
