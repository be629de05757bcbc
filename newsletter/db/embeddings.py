"""Paper embeddings stored in the database (the `EmbeddingCache` the service uses)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.models import PaperEmbeddingRow, utcnow
from newsletter.matching.semantic import Vectors

_CHUNK = 500


class DbEmbeddingCache:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        with self._sessions() as session:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                rows = session.scalars(
                    select(PaperEmbeddingRow).where(
                        PaperEmbeddingRow.model == model, PaperEmbeddingRow.key.in_(chunk)
                    )
                )
                for row in rows:
                    found[row.key] = np.frombuffer(row.vector, dtype=np.float32).copy()
        return found

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None:
        """Store new vectors; keys already stored (by another worker) are left alone."""
        stored = self.get_many(model, list(vectors))
        with self._sessions.begin() as session:
            for key, vector in vectors.items():
                if key in stored:
                    continue
                data = np.asarray(vector, dtype=np.float32)
                session.add(
                    PaperEmbeddingRow(
                        model=model, key=key, dimensions=int(data.shape[0]), vector=data.tobytes()
                    )
                )


class SessionEmbeddingCache:
    """Vectors read and written inside one session's transaction (a request's refit).

    A second connection writing vectors while the request holds SQLite's write lock would
    wait on the request itself until the busy timeout; in the request's own transaction it
    cannot. `store=False` (a page that only shows, never changes) keeps new vectors in
    memory for the request instead. Concurrent requests storing the same vector insert it
    once (ON CONFLICT DO NOTHING).
    """

    def __init__(self, session: Session, *, store: bool = True) -> None:
        self._session = session
        self._store = store
        self._memory: dict[tuple[str, str], Vectors] = {}

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        found = {k: self._memory[(model, k)] for k in keys if (model, k) in self._memory}
        wanted = [k for k in keys if k not in found]
        for start in range(0, len(wanted), _CHUNK):
            rows = self._session.execute(
                select(PaperEmbeddingRow.key, PaperEmbeddingRow.vector).where(
                    PaperEmbeddingRow.model == model,
                    PaperEmbeddingRow.key.in_(wanted[start : start + _CHUNK]),
                )
            )
            for key, vector in rows:
                found[key] = np.frombuffer(vector, dtype=np.float32).copy()
        return found

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None:
        if not self._store:
            self._memory.update({(model, k): v for k, v in vectors.items()})
            return
        rows = [
            {
                "model": model,
                "key": key,
                "dimensions": int(np.asarray(vector).shape[0]),
                "vector": np.asarray(vector, dtype=np.float32).tobytes(),
                "created_at": utcnow(),
            }
            for key, vector in vectors.items()
        ]
        if rows:
            dialect = self._session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            self._session.execute(insert(PaperEmbeddingRow).on_conflict_do_nothing(), rows)
