"""Paper embeddings stored in the database (the `EmbeddingCache` the service uses)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.models import PaperEmbeddingRow
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
