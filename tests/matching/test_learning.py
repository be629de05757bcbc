"""Per-reader models: the fit against independent solvers, the prior kept without examples,
examples moving what resembles them, bytes round trips, batches, explanations, onboarding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import log_expit
from sklearn.linear_model import LogisticRegression

from newsletter.matching.learning.batch import ReaderBatch, included
from newsletter.matching.learning.explain import contributions, pushed_up_by
from newsletter.matching.learning.model import (
    Examples,
    LearningSettings,
    ModelFormatError,
    ReaderModel,
    fit_reader,
)
from newsletter.matching.learning.onboarding import informative_papers
from newsletter.matching.learning.prior import probability_logits

DIMS = 32


def unit(rows: NDArray[np.float64]) -> NDArray[np.float32]:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), np.float32)


def topics(seed: int = 0, per_topic: int = 20, count: int = 4) -> NDArray[np.float32]:
    """`count` clusters of unit vectors (rows topic-major): papers on a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((count, DIMS)) * 2.0
    return unit(np.vstack([c + rng.standard_normal((per_topic, DIMS)) for c in centres]))


def examples(vectors: NDArray[np.float32], liked: list[bool], priors: list[float]) -> Examples:
    return Examples(vectors, np.array(liked), np.array(priors, np.float64))


@pytest.fixture
def papers() -> NDArray[np.float32]:
    return topics()


def test_no_examples_keeps_the_prior_exactly(papers: NDArray[np.float32]) -> None:
    prior = np.linspace(-3, 2, len(papers))
    model = fit_reader(Examples.none(DIMS), centre=papers.mean(axis=0))
    assert np.array_equal(model.logits(papers, prior), prior.astype(np.float32))
    assert fit_reader(Examples.none(DIMS), centre=papers.mean(axis=0)).to_bytes() == (
        ReaderModel.neutral(DIMS).to_bytes()
    )


def test_a_liked_example_lifts_papers_like_it_and_not_others(papers: NDArray[np.float32]) -> None:
    prior = np.zeros(len(papers))
    model = fit_reader(examples(papers[:1], [True], [-2.0]), centre=papers.mean(axis=0))
    change = model.logits(papers, prior)
    same_topic, other_topics = change[1:20], change[20:]
    assert same_topic.min() > 0
    assert same_topic.min() > other_topics.max()


def test_a_disliked_example_lowers_papers_like_it(papers: NDArray[np.float32]) -> None:
    model = fit_reader(examples(papers[20:21], [False], [1.0]), centre=papers.mean(axis=0))
    change = model.logits(papers, np.zeros(len(papers)))
    assert change[21:40].max() < 0
    assert change[21:40].max() < np.delete(change, np.s_[20:40]).min()


def test_a_stronger_penalty_moves_the_ranking_less(papers: NDArray[np.float32]) -> None:
    moves = []
    for penalty in (0.3, 1.0, 3.0, 10.0):
        settings = LearningSettings(weight_penalty=penalty)
        model = fit_reader(
            examples(papers[:3], [True, True, False], [0.0, -1.0, 0.5]),
            centre=papers.mean(axis=0),
            settings=settings,
        )
        moves.append(float(np.abs(model.logits(papers, np.zeros(len(papers)))).max()))
    assert moves == sorted(moves, reverse=True)


def test_weights_match_scikit_learn_without_offsets(papers: NDArray[np.float32]) -> None:
    """No prior, no centre, no bias: plain L2 logistic regression, whose C is 1 / penalty."""
    rng = np.random.default_rng(3)
    rows = rng.choice(len(papers), size=30, replace=False)
    liked = rows < 20
    weights = rng.uniform(0.5, 2.0, size=30)
    ours = fit_reader(
        Examples(papers[rows], liked, np.zeros(30), weights),
        centre=np.zeros(DIMS, np.float32),
        settings=LearningSettings(
            weight_penalty=2.0, bias_penalty=math.inf, prior_scale_penalty=math.inf
        ),
    )
    reference = LogisticRegression(C=0.5, fit_intercept=False, tol=1e-12, max_iter=10_000)
    reference.fit(papers[rows].astype(np.float64), liked, sample_weight=weights)
    assert np.allclose(ours.weights, reference.coef_[0], atol=1e-5)


def test_offsets_bias_and_prior_scale_match_a_direct_minimisation(
    papers: NDArray[np.float32],
) -> None:
    rng = np.random.default_rng(4)
    rows = rng.choice(len(papers), size=25, replace=False)
    liked, priors = rows % 3 == 0, rng.normal(0, 1.5, size=25)
    centre = papers.mean(axis=0)
    settings = LearningSettings(weight_penalty=0.5, bias_penalty=2.0, prior_scale_penalty=4.0)
    model = fit_reader(Examples(papers[rows], liked, priors), centre=centre, settings=settings)

    x = papers[rows].astype(np.float64) - centre

    def loss(theta: NDArray[np.float64]) -> float:
        w, c, s = theta[:DIMS], theta[DIMS], theta[DIMS + 1]
        z = (1 + s) * priors + x @ w + c
        fit = -(liked * log_expit(z) + (~liked) * log_expit(-z)).sum()
        return float(fit + 0.5 * (0.5 * w @ w + 2.0 * c * c + 4.0 * s * s))

    best = minimize(loss, np.zeros(DIMS + 2), method="BFGS", options={"gtol": 1e-10}).x
    assert np.allclose(model.weights, best[:DIMS], atol=1e-4)
    assert model.bias == pytest.approx(best[DIMS], abs=1e-4)
    assert model.prior_scale == pytest.approx(1 + best[DIMS + 1], abs=1e-4)


def test_bytes_round_trip_scores_identically(papers: NDArray[np.float32]) -> None:
    model = fit_reader(
        examples(papers[[0, 25, 50]], [True, False, True], [-1.0, 0.0, 2.0]),
        centre=papers.mean(axis=0),
        settings=LearningSettings(bias_penalty=1.0),
    )
    blob = model.to_bytes()
    assert len(blob) == 20 + 4 * (2 * DIMS + 3) + 4  # and no example notes
    again = ReaderModel.from_bytes(blob)
    prior = np.linspace(-2, 2, len(papers))
    assert np.array_equal(again.logits(papers, prior), model.logits(papers, prior))
    assert again.to_bytes() == blob


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "too short"),
        (b"XXXX" + bytes(16), "not a reader model"),
        (ReaderModel.neutral(4).to_bytes()[:-1], "truncated"),
        (b"NLRM\x03\x00" + bytes(14), "format 3"),
    ],
)
def test_unreadable_bytes_are_refused_with_a_reason(blob: bytes, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        ReaderModel.from_bytes(blob)


def test_refitting_the_same_examples_gives_the_same_bytes(papers: NDArray[np.float32]) -> None:
    rng = np.random.default_rng(5)
    rows = rng.choice(len(papers), size=40, replace=False)
    chosen = Examples(papers[rows], rows < 40, rng.normal(size=40))
    settings = LearningSettings(unlabelled_weight=0.1, bias_penalty=1.0)
    first, second = (
        fit_reader(
            chosen,
            centre=papers.mean(axis=0),
            unlabelled=papers[::7],
            unlabelled_prior_logits=np.zeros(len(papers[::7])),
            settings=settings,
        ).to_bytes()
        for _ in range(2)
    )
    assert first == second


def test_batch_of_readers_matches_each_reader_alone(papers: NDArray[np.float32]) -> None:
    centre = papers.mean(axis=0)
    models: list[ReaderModel | bytes | None] = [
        fit_reader(examples(papers[[i]], [True], [0.0]), centre=centre) for i in (0, 30, 70)
    ]
    models[1] = models[1].to_bytes()  # type: ignore[union-attr]
    models.insert(2, None)
    prior = np.random.default_rng(6).normal(size=(4, len(papers))).astype(np.float32)
    batch = ReaderBatch.stack(models, DIMS).logits(papers, prior)
    alone = [
        ReaderModel.from_bytes(m) if isinstance(m, bytes) else m or ReaderModel.neutral(DIMS)
        for m in models
    ]
    for row, model in enumerate(alone):
        assert np.allclose(batch[row], model.logits(papers, prior[row]), atol=1e-5)
    assert np.array_equal(batch[2], prior[2])
    with pytest.raises(ValueError, match="dimensions"):
        ReaderBatch.stack([ReaderModel.neutral(DIMS + 1)], DIMS)


def test_included_takes_the_best_over_the_threshold_in_a_stable_order() -> None:
    logits = np.array([[0.5, 2.0, -1.0, 2.0, 1.0], [-5.0, -4.0, -3.0, -2.0, -1.0]], np.float32)
    best, none = included(logits, threshold_logit=0.0, limit=3)
    assert best.tolist() == [1, 3, 4]
    assert none.tolist() == []


def test_explanations_name_the_liked_examples_that_raised_the_paper(
    papers: NDArray[np.float32],
) -> None:
    chosen = papers[[0, 20, 40, 41]]  # liked from topics 0 and 1, disliked from topic 2
    model = fit_reader(
        examples(chosen, [True, True, False, False], [-1.0, -1.0, 1.0, 1.0]),
        centre=papers.mean(axis=0),
    )
    shares = contributions(model, chosen, papers[5])
    learned = model.logits(papers[5:6], np.zeros(1))[0]
    assert shares.sum() == pytest.approx(learned - model.bias, abs=1e-4)
    assert pushed_up_by(model, chosen, papers[5])[0][0] == 0
    assert pushed_up_by(model, chosen, papers[25])[0][0] == 1
    assert all(index < 2 for index, _ in pushed_up_by(model, chosen, papers[45]))
    with pytest.raises(ValueError, match="order they were fitted"):
        pushed_up_by(model, chosen[:2], papers[5])


def test_papers_to_rate_are_near_the_threshold_and_unlike_each_other() -> None:
    base = topics(seed=7, per_topic=10, count=6)
    near_copies = unit(base[:1].astype(np.float64) + 0.01 * np.eye(DIMS)[:5])
    vectors = np.vstack([near_copies, base]).astype(np.float32)
    logits = np.concatenate([np.zeros(5), np.random.default_rng(8).uniform(-3, 3, len(base))])
    picks = informative_papers(logits, vectors, threshold_logit=0.0, count=6)
    assert len(set(picks)) == 6
    assert sum(p < 5 for p in picks) == 1  # one of the five near-identical papers, not all
    similarities = vectors[picks] @ vectors[picks].T
    assert similarities[~np.eye(6, dtype=bool)].max() < 0.9
    plain = informative_papers(logits, vectors, threshold_logit=0.0, count=6, diversity=0.0)
    assert sorted(plain)[:5] == [0, 1, 2, 3, 4]  # without the penalty, the copies win


def test_probabilities_become_finite_logits() -> None:
    logits = probability_logits(np.array([0.0, 0.5, 1.0]))
    assert np.all(np.isfinite(logits))
    assert logits[1] == 0.0
    assert logits[0] == pytest.approx(-logits[2])


@pytest.mark.parametrize(
    "settings",
    [
        {"weight_penalty": 0.0},
        {"weight_penalty": math.inf},
        {"bias_penalty": -1.0},
        {"unlabelled_weight": -0.1},
    ],
)
def test_settings_out_of_range_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LearningSettings(**settings)  # type: ignore[arg-type]


def test_examples_must_line_up() -> None:
    with pytest.raises(ValueError, match="one label"):
        Examples(np.zeros((2, DIMS), np.float32), np.array([True]), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        Examples(np.zeros((1, DIMS), np.float32), np.array([True]), np.array([np.inf]))
