"""A reader's own model: what their examples teach, on top of the global ranker's prior.

    logit P(relevant | reader, paper) = a * prior + w . (x - centre) + c

`prior` is the global ranker's calibrated logit for (reader's profile, paper), `x` the paper's
L2-normalised sentence embedding (all-MiniLM-L6-v2: 384 numbers, already cached per paper).
The rules, and why:
- **Never worse to start with.** With no examples `w = 0, c = 0, a = 1`: the reader gets
  exactly the global ranking. L2 penalties pull `w` and `c` towards 0 and `a` towards 1
  ("no change"), so a few votes bend the ranking a little, many votes more, and one odd vote
  cannot take it over. The penalties are global settings, chosen by simulated readers
  (benchmarks/learning.py), never per reader.
- **Learn what the prior misses.** The prior enters as each example's offset, so a liked paper
  the prior already rates highly teaches little and a liked paper it under-rates teaches much.
  An example's offset must be the prior's logit *without that example's own influence* (a
  library paper must not count as similar to itself), or the model learns nothing from it;
  with nothing else left to judge by, the base rate's logit, not the empty profile's score.
- **Centred vectors.** Weights act on `x - centre`, the centre being the mean vector of
  recent papers: all sentence vectors share a large common direction, and a liked paper
  should raise what resembles it, not every paper.
- **Weak negatives.** Recent papers the reader saw or could have seen without voting (from
  their past digests, or a sample of the day's pool) enter as negatives of small weight
  (`LearningSettings.unlabelled_weight`); with them the bias and the prior's scale can be
  learned too. Pass at most ~100: each adds a row to the system solved, and refit time grows
  with the cube of the rows (benchmarks/learning.py times it).
- **Small and exact.** The fitted model is a few hundred float32 numbers (see `to_bytes`);
  each example's share of `w` (its `pull`) is kept, so "why am I getting this?" can name the
  examples that pushed a paper up (`explain.pushed_up_by`) exactly, not by a guess; with the
  examples' notes (`notes`: cache keys and liked titles) the model explains itself.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from newsletter.matching.learning.notes import (
    ExampleNote,
    NotesFormatError,
    decode_notes,
    encode_notes,
)
from newsletter.matching.learning.solver import solve

Vectors = NDArray[np.float32]
FORMAT_VERSION = 2  # 2: example notes after the numbers; 1 (none) is still read
_MAGIC = b"NLRM"
_HEADER = struct.Struct("<4sHHIff")  # magic, version, dimensions, examples, bias, prior scale


class ModelFormatError(ValueError):
    """Bytes that are not a reader model this code can read."""


@dataclass(frozen=True)
class LearningSettings:
    """Global constants of every reader's model, chosen by benchmarks/learning.py's sweep
    (leave-one-interest-out over simulated readers on two labelled sets; benchmarks/LEARNING.md):
    with the calibrated global ranker as the prior, keeping its scale and the bias fixed
    (a = 1, c = 0) and learning from the labelled examples alone measured best."""

    weight_penalty: float = 0.03  # on |w|^2; larger: examples move the ranking less
    bias_penalty: float = math.inf  # on c^2; inf keeps c at 0
    prior_scale_penalty: float = math.inf  # on (a - 1)^2; inf keeps a at 1
    unlabelled_weight: float = 0.0  # of each unlabelled paper as a negative; 0: not used
    max_iterations: int = 50

    def __post_init__(self) -> None:
        penalties = (self.weight_penalty, self.bias_penalty, self.prior_scale_penalty)
        if not all(p > 0 for p in penalties) or math.isinf(self.weight_penalty):
            raise ValueError("penalties must be positive (the weights' finite)")
        if not 0 <= self.unlabelled_weight < math.inf:
            raise ValueError("the unlabelled papers' weight must be finite and not negative")


@dataclass(frozen=True)
class Examples:
    """A reader's labelled papers: liked (votes "more", ratings "relevant", library entries)
    or not (votes "less", ratings "not relevant"), each with its prior logit and a weight."""

    vectors: Vectors
    liked: NDArray[np.bool_]
    prior_logits: NDArray[np.float64]
    weights: NDArray[np.float64] | None = None  # None: 1 each

    def __post_init__(self) -> None:
        n = len(self.vectors)
        if self.vectors.ndim != 2:
            raise ValueError("example vectors must be a matrix, one row per example")
        if self.weights is None:
            object.__setattr__(self, "weights", np.ones(n))
        assert self.weights is not None
        if not len(self.liked) == len(self.prior_logits) == len(self.weights) == n:
            raise ValueError("one label, one prior logit and one weight per example vector")
        if n and (not np.all(np.isfinite(self.prior_logits)) or np.any(self.weights < 0)):
            raise ValueError("prior logits must be finite and weights not negative")

    @classmethod
    def none(cls, dimensions: int) -> Examples:
        return cls(np.zeros((0, dimensions), np.float32), np.zeros(0, bool), np.zeros(0))


@dataclass(frozen=True, eq=False)
class ReaderModel:
    """A fitted model; `neutral(d)` is the model of a reader without examples."""

    weights: Vectors  # w, one per embedding dimension
    centre: Vectors
    bias: float  # c
    prior_scale: float  # a
    pulls: Vectors  # per labelled example (in the order fitted): its coefficient in w
    examples: tuple[ExampleNote, ...] = ()  # none, or one per pull: what explaining needs

    def __post_init__(self) -> None:
        if self.examples and len(self.examples) != len(self.pulls):
            raise ValueError("one example note per labelled example, or none")

    @classmethod
    def neutral(cls, dimensions: int) -> ReaderModel:
        zeros = np.zeros(dimensions, np.float32)
        return cls(zeros, zeros, 0.0, 1.0, np.zeros(0, np.float32))

    @property
    def dimensions(self) -> int:
        return len(self.weights)

    @property
    def offset(self) -> float:
        """The constant term for uncentred vectors: `c - w . centre`."""
        return float(np.float32(self.bias) - self.weights @ self.centre)

    def logits(self, vectors: Vectors, prior_logits: NDArray[np.floating]) -> NDArray[np.float32]:
        """The reader's logit for each paper (rows of `vectors`, with their prior logits)."""
        learned = vectors @ self.weights + np.float32(self.offset)
        return np.asarray(self.prior_scale * prior_logits + learned, np.float32)

    def to_bytes(self) -> bytes:
        """Little-endian: header, float32 weights, centre and pulls (~3 KB at 384-d), then
        the example notes (`notes.encode_notes`, some 100 bytes per liked example)."""
        header = _HEADER.pack(
            _MAGIC, FORMAT_VERSION, self.dimensions, len(self.pulls), self.bias, self.prior_scale
        )
        body = [np.asarray(a, "<f4").tobytes() for a in (self.weights, self.centre, self.pulls)]
        return header + b"".join(body) + encode_notes(self.examples)

    @classmethod
    def from_bytes(cls, blob: bytes, *, notes: bool = True) -> ReaderModel:
        """The model written by `to_bytes` (format 1 or 2); `notes=False` skips decoding the
        example notes (scoring needs none of them)."""
        if len(blob) < _HEADER.size:
            raise ModelFormatError("too short to be a reader model")
        magic, version, dims, count, bias, scale = _HEADER.unpack_from(blob)
        if magic != _MAGIC:
            raise ModelFormatError("not a reader model")
        if version not in (1, FORMAT_VERSION):
            raise ModelFormatError(f"reader model format {version}; this code reads 1 and 2")
        end = _HEADER.size + 4 * (2 * dims + count)
        if len(blob) < end or (version == 1 and len(blob) != end):
            raise ModelFormatError("reader model truncated or padded")
        values = np.frombuffer(blob, "<f4", count=2 * dims + count, offset=_HEADER.size)
        values = values.astype(np.float32)
        weights, centre, pulls = values[:dims], values[dims : 2 * dims], values[2 * dims :]
        if not notes or version == 1:
            return cls(weights, centre, bias, scale, pulls)
        try:
            return cls(weights, centre, bias, scale, pulls, decode_notes(blob, end))
        except (NotesFormatError, ValueError) as error:
            raise ModelFormatError(str(error)) from error


def fit_reader(
    examples: Examples,
    *,
    centre: Vectors,
    unlabelled: Vectors | None = None,
    unlabelled_prior_logits: NDArray[np.floating] | None = None,
    settings: LearningSettings | None = None,
) -> ReaderModel:
    """The reader's model from their examples (and unlabelled papers as weak negatives when
    `settings.unlabelled_weight` > 0). Same inputs in the same order: the same model."""
    settings = settings or LearningSettings()
    dims = len(centre)
    vectors, liked, priors, weights = _training_rows(
        examples, unlabelled, unlabelled_prior_logits, settings.unlabelled_weight, dims
    )
    if len(vectors) == 0:
        return ReaderModel.neutral(dims)
    centred = vectors.astype(np.float64) - centre.astype(np.float64)
    # A penalty's inverse is the prior variance of its parameter (0: the parameter is fixed).
    spread = 1 / settings.weight_penalty
    bias_spread = 1 / settings.bias_penalty
    scale_spread = 1 / settings.prior_scale_penalty
    kernel = spread * (centred @ centred.T) + bias_spread + scale_spread * np.outer(priors, priors)
    alpha = solve(
        kernel, priors, liked.astype(np.float64), weights, max_iterations=settings.max_iterations
    )
    return ReaderModel(
        weights=np.asarray(spread * (centred.T @ alpha), np.float32),
        centre=np.asarray(centre, np.float32),
        bias=float(np.float32(bias_spread * alpha.sum())),
        prior_scale=float(np.float32(1 + scale_spread * (priors @ alpha))),
        pulls=np.asarray(spread * alpha[: len(examples.vectors)], np.float32),
    )


def _training_rows(
    examples: Examples,
    unlabelled: Vectors | None,
    unlabelled_priors: NDArray[np.floating] | None,
    unlabelled_weight: float,
    dims: int,
) -> tuple[Vectors, NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Labelled examples first (their order is the order of `pulls`), then weak negatives."""
    if len(examples.vectors) and examples.vectors.shape[1] != dims:
        raise ValueError(f"example vectors have {examples.vectors.shape[1]} dimensions, not {dims}")
    assert examples.weights is not None
    parts = [(examples.vectors, examples.liked, examples.prior_logits, examples.weights)]
    if unlabelled is not None and len(unlabelled) and unlabelled_weight > 0:
        if unlabelled_priors is None or len(unlabelled_priors) != len(unlabelled):
            raise ValueError("one prior logit per unlabelled paper")
        count = len(unlabelled)
        parts.append(
            (
                unlabelled,
                np.zeros(count, bool),
                np.asarray(unlabelled_priors, np.float64),
                np.full(count, unlabelled_weight),
            )
        )
    vectors = np.vstack([p[0] for p in parts]).astype(np.float32)
    liked = np.concatenate([p[1] for p in parts]).astype(bool)
    priors = np.concatenate([p[2] for p in parts]).astype(np.float64)
    weights = np.concatenate([p[3] for p in parts]).astype(np.float64)
    return vectors, liked, priors, weights
