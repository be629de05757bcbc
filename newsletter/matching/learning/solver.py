"""Regularised logistic regression with per-example offsets, solved in the examples' space.

The model is `logit_i = offset_i + f_i` with `f = K @ alpha`, where `K = Phi Lambda^-1 Phi^T`
is the kernel of the features under the L2 penalty `Lambda` (representer theorem: at the
optimum the parameters are `Lambda^-1 Phi^T alpha`). Newton's method in this form (Rasmussen &
Williams, *Gaussian Processes for Machine Learning*, algorithm 3.1) factors one n x n matrix
per step, with n the number of examples: a reader has tens to a few hundred examples and
the embedding has 384 dimensions, so this is the cheaper side. Steps that lower the
objective are halved, so the iteration cannot diverge; the result depends only on the inputs
(no random start), so refitting the same examples gives the same model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import cho_solve, cholesky
from scipy.special import expit, log_expit

Floats = NDArray[np.float64]
MAX_HALVINGS = 20


def _objective(alpha: Floats, f: Floats, offsets: Floats, labels: Floats, weights: Floats) -> float:
    """Weighted log-likelihood minus the penalty (`alpha . f / 2` is `theta Lambda theta / 2`)."""
    z = offsets + f
    likelihood = weights * (labels * log_expit(z) + (1 - labels) * log_expit(-z))
    return float(likelihood.sum() - 0.5 * alpha @ f)


def solve(
    kernel: Floats,
    offsets: Floats,
    labels: Floats,
    weights: Floats,
    *,
    max_iterations: int = 50,
    tolerance: float = 1e-9,
) -> Floats:
    """The dual coefficients `alpha` (one per example) maximising the penalised likelihood.

    At the optimum `alpha_i = weights_i * (labels_i - p_i)`: positive for a liked example
    the model still under-rates, negative for a disliked one it still over-rates.
    """
    n = len(offsets)
    alpha = np.zeros(n)
    f = np.zeros(n)
    best = _objective(alpha, f, offsets, labels, weights)
    for _ in range(max_iterations):
        p = expit(offsets + f)
        curvature = weights * p * (1 - p)
        root = np.sqrt(curvature)
        scaled = kernel * np.outer(root, root)
        scaled.flat[:: n + 1] += 1.0  # I + S^1/2 K S^1/2: eigenvalues >= 1, always factorable
        factor = cholesky(scaled, lower=True, overwrite_a=True, check_finite=False)
        b = curvature * f + weights * (labels - p)
        solved = cho_solve((factor, True), root * (kernel @ b), check_finite=False)
        step = b - root * solved
        new_f = kernel @ step
        value = _objective(step, new_f, offsets, labels, weights)
        for _ in range(MAX_HALVINGS):
            if value >= best - 1e-12:
                break
            step = 0.5 * (alpha + step)
            new_f = kernel @ step
            value = _objective(step, new_f, offsets, labels, weights)
        gain = value - best
        alpha, f, best = step, new_f, max(value, best)
        if gain <= tolerance * (1 + abs(best)):
            break
    return alpha
