"""Advisory locks: one process at a time for work that must not run twice at once.

On PostgreSQL a session-level advisory lock (held by the connection of the session that
took it); on SQLite nothing to take, since one process does this work by design.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

DISPATCH_LOCK = 0x6E6C_6469  # queueing digests ("nldi")


@contextmanager
def exclusive(sessions: sessionmaker[Session], key: int) -> Iterator[bool]:
    """True when this process may go on: always on SQLite, on PostgreSQL while it holds the
    advisory lock `key` (False at once when another process holds it)."""
    with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            yield True
            return
        held = bool(session.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        try:
            yield held
        finally:
            if held:
                session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
