"""The on-disk paper-vector cache of `newsletter rank`: kept across processes, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from newsletter.matching.disk_cache import DiskEmbeddingCache
from newsletter.matching.embedding import LazyEmbedder, load_embedder

VECTOR = np.arange(4, dtype=np.float32) / 10


def test_vectors_survive_a_new_cache_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "vectors.sqlite3"
    first = DiskEmbeddingCache(path)
    first.put_many("model-a", {"2508.1:abc": VECTOR, "2508.2:def": VECTOR * 2})
    first.put_many("model-a", {"2508.1:abc": VECTOR * 9})  # kept: same text, same vector
    first.close()
    again = DiskEmbeddingCache(path)
    found = again.get_many("model-a", ["2508.1:abc", "2508.2:def", "2508.3:new"])
    assert set(found) == {"2508.1:abc", "2508.2:def"}
    assert np.array_equal(found["2508.1:abc"], VECTOR)
    assert again.get_many("model-b", ["2508.1:abc"]) == {}  # vectors belong to their model


@pytest.mark.parametrize("kind", ["not a database", "a directory"])
def test_an_unusable_file_is_reported_and_ranking_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    path = tmp_path / "vectors.sqlite3"
    if kind == "a directory":
        path.mkdir()
    else:
        path.write_bytes(b"these are not the bytes of a SQLite database" * 100)
    cache = DiskEmbeddingCache(path)
    with caplog.at_level(logging.WARNING, logger="newsletter.matching.disk_cache"):
        assert cache.get_many("m", ["k"]) == {}
        cache.put_many("m", {"k": VECTOR})
        assert cache.get_many("m", ["k"]) == {}
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"embedding cache {path} not used"
    ]


def test_the_model_is_loaded_only_when_something_is_embedded() -> None:
    embedder = load_embedder("all-MiniLM-L6-v2")
    if embedder is None:
        pytest.skip("the 'semantic' extra is not installed")
    assert isinstance(embedder, LazyEmbedder)
    assert embedder.name == "all-MiniLM-L6-v2"
    assert not embedder.loaded
    assert embedder.embed(["agents"]).shape == (1, 384)
    assert embedder.loaded
