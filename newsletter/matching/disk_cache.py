"""Paper vectors kept on disk between runs of `newsletter rank` (the service keeps them in its
database: db.embeddings).

An `EmbeddingCache` in one SQLite file (the standard library's sqlite3: no server, safe for
two processes at once), keyed by model name and the key `semantic.cache_key` gives (paper id
and a hash of the embedded text, so a changed abstract is embedded again). A cache is an
optimisation, never a reason to fail: a file that cannot be opened, read or written is
reported once and the ranking goes on without it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from newsletter.matching.semantic import Vectors

log = logging.getLogger(__name__)
_CHUNK = 500  # keys per query, under SQLite's parameter limit
_SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, key))"""


class DiskEmbeddingCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=10)
                self._db.execute(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                self._give_up(exc)
        return self._db

    def _give_up(self, error: Exception) -> None:
        log.warning("embedding cache %s not used: %s", self.path, error)
        self._broken = True
        if self._db is not None:
            self._db.close()
            self._db = None

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        db = self._connection()
        if db is None:
            return found
        try:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",  # noqa: S608 - only placeholders
                    [model, *chunk],
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        return found

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None:
        db = self._connection()
        if db is None:
            return
        rows = [
            (model, key, np.asarray(vector, dtype=np.float32).tobytes())
            for key, vector in vectors.items()
        ]
        try:
            with db:  # one transaction
                db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?)", rows)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
