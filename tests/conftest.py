"""Shared fixtures: recorded responses, settings built per test, the embedding model.

Fixtures that live in tests/support/ are registered here as plugins, so a test module only
names the fixture it wants: the databases (SQLite and PostgreSQL, migrated once per session:
see tests/support/databases.py), the scripted SMTP server (tests/support/smtp_server.py) and
the web tests' `database`, run on each (tests/support/web_support.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from newsletter.config import Settings
from newsletter.matching.semantic import Embedder, MemoryEmbeddingCache, Vectors

pytest_plugins = [
    "tests.support.databases",
    "tests.support.smtp_server",
    "tests.support.web_support",
]

# The packaged model is on disk; tests never reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

DATA = Path(__file__).parent / "data"

# The command line's rich consoles are built when newsletter.cli.common is first imported, and
# rich fixes their width then if COLUMNS is set. One `newsletter` process is one command, but
# here many commands share a process, each with its own COLUMNS: built without one, the
# consoles read COLUMNS at every print, whichever test imports them first (xdist order too).
with pytest.MonkeyPatch.context() as _patch:
    _patch.delenv("COLUMNS", raising=False)
    import newsletter.cli.common  # noqa: F401


@pytest.fixture
def data_dir() -> Path:
    return DATA


def read_data(name: str) -> bytes:
    return (DATA / name).read_bytes()


class SessionEmbedder:
    """The real model, asked once per session for any one text.

    Several tests (the `rank` command's among them) embed the same recorded listing, which
    costs seconds of CPU each time; the model is deterministic, so its vectors are kept by
    text, as the service's own caches keep them. A test that counts what gets embedded wraps
    this embedder and counts the texts it is given."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self._vectors: dict[str, Vectors] = {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.model.embed(missing), strict=True))
        if not texts:
            return self.model.embed(texts)
        return np.stack([self._vectors[text] for text in texts])


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once per session (see SessionEmbedder)."""
    pytest.importorskip("sentence_transformers", reason="the 'semantic' extra is not installed")
    from newsletter.matching.embedding import SentenceTransformerEmbedder

    return SessionEmbedder(SentenceTransformerEmbedder("all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def embedding_cache() -> MemoryEmbeddingCache:
    return MemoryEmbeddingCache()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`pytest.mark.anyio`) run on asyncio, as the service does."""
    return "asyncio"
