r"""A synthetic nonlinear regression task: a narrow two-layer ReLU teacher.

``Y = A2 relu(A1 X) + noise`` with ``k`` hidden units, so the useful weight updates of a
wide student are close to rank ``k``: the setting InRank is built for. The student
network and its training are in :mod:`refimpl.inrank.mlp`.

Examples
--------
>>> from refimpl.inrank.mlp_task import relu_teacher
>>> relu_teacher(n_in=8, n_out=3, n_samples=32, rng=0, teacher_hidden=2).Y.shape
(3, 32)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_generator,
    check_array_size,
    check_integer,
    check_nonnegative,
    finite_or_overflow,
)

__all__ = ["MLPTask", "relu_teacher"]


@dataclass(frozen=True)
class MLPTask:
    r"""Training data and the teacher that made it (see :func:`relu_teacher`).

    Attributes
    ----------
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)
    teacher_weights : list of ndarray
        ``[A1, A2]`` with shapes ``(k, n_in)`` and ``(n_out, k)``.
    noise : float

    Notes
    -----
    .. math:: Y = A_2\,\mathrm{relu}(A_1 X) + \text{noise}\cdot E

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5.

    Examples
    --------
    >>> task = relu_teacher(4, 2, 10, rng=0, teacher_hidden=3)
    >>> [a.shape for a in task.teacher_weights]
    [(3, 4), (2, 3)]
    """

    X: object
    Y: object
    teacher_weights: list
    noise: float


def relu_teacher(n_in, n_out, n_samples, rng, teacher_hidden=4, noise=0.0):
    r"""Synthetic nonlinear regression task from a narrow two-layer ReLU teacher.

    Parameters
    ----------
    n_in, n_out : int
    n_samples : int
    rng : numpy.random.Generator or int
    teacher_hidden : int
        Hidden units ``k`` of the teacher (the rank of its weights).
    noise : float
        Standard deviation of Gaussian label noise, ``≥ 0``.

    Returns
    -------
    MLPTask

    Notes
    -----
    Inputs :math:`x \sim \mathcal N(0, I)`, teacher weights with i.i.d.
    :math:`\mathcal N(0, 1/n_{\text{in}})` and :math:`\mathcal N(0, 2/k)` entries:

    .. math:: y = A_2\,\mathrm{relu}(A_1 x) + \text{noise}\cdot\varepsilon

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024 (a small stand-in
    for its MLP/transformer experiments).

    Examples
    --------
    >>> relu_teacher(4, 2, 10, rng=0).Y.shape
    (2, 10)
    """
    n_in = check_integer("n_in", n_in, minimum=1)
    n_out = check_integer("n_out", n_out, minimum=1)
    n_samples = check_integer("n_samples", n_samples, minimum=1)
    k = check_integer("teacher_hidden", teacher_hidden, minimum=1)
    noise = check_nonnegative("noise", noise)
    check_array_size("teacher_hidden, n_in", (k, n_in))
    check_array_size("n_out, teacher_hidden", (n_out, k))
    check_array_size("n_in, n_samples", (n_in, n_samples))
    check_array_size("teacher_hidden, n_out, n_samples", (max(k, n_out), n_samples))
    rng = as_generator(rng)
    xp = backend.default_namespace()
    A1 = xp.asarray(rng.standard_normal((k, n_in)) / np.sqrt(n_in))
    A2 = xp.asarray(rng.standard_normal((n_out, k)) * np.sqrt(2.0 / k))
    X = xp.asarray(rng.standard_normal((n_in, n_samples)))
    Y = A2 @ xp.maximum(A1 @ X, 0.0)
    if noise > 0:
        with np.errstate(over="ignore"):  # reported by finite_or_overflow, naming noise
            Y = Y + noise * xp.asarray(rng.standard_normal(Y.shape))
        Y = finite_or_overflow(Y, "noise")
    return MLPTask(X=X, Y=Y, teacher_weights=[A1, A2], noise=noise)
