"""The experiments behind the figures and the tutorial, as reusable functions.

* :func:`staircase` — a three-layer linear network from random orthogonal inits of
  several scales on a whitened teacher: singular values and effective ranks of the
  cumulative end-to-end update, next to the aligned-init closed form.
* :func:`mlp_comparison` — InRank, efficient InRank and full-rank training of a
  two-layer ReLU MLP on the synthetic nonlinear teacher.

Examples
--------
>>> from refimpl.inrank.experiments import staircase
>>> out = staircase(sigmas=(0.1,), steps=50, n=4, singular_values=(2.0, 1.0), rng=0)
>>> out["runs"][0]["update_sv"].shape[1], out["runs"][0]["closed_form_sv"].shape[1]
(4, 4)
"""

from __future__ import annotations

import inspect

import numpy as np

from refimpl import backend
from refimpl.inrank import dynamics
from refimpl.inrank.algorithm import full_rank_train, inrank
from refimpl.inrank.data import teacher, teacher_data
from refimpl.inrank.efficient import inrank_efficient
from refimpl.inrank.init import orthogonal_init
from refimpl.inrank.mlp import mlp_init
from refimpl.inrank.mlp_task import relu_teacher
from refimpl.inrank.rank import effective_rank
from refimpl.inrank.train import train
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_integer,
    check_options,
    check_positive,
)

__all__ = ["log_spaced_indices", "staircase", "mlp_comparison"]


def log_spaced_indices(steps, count=150):
    r"""Indices into a sorted step array, roughly log-spaced (for log-time plots).

    Parameters
    ----------
    steps : array_like of int, shape (R,)
        Recorded steps, non-negative and increasing, ``R ≥ 1``; a NumPy or CuPy array.
    count : int
        About how many indices, ``≥ 1``.

    Returns
    -------
    indices : ndarray of int
        Sorted, unique, always including the first and the last record; an array of the
        backend of ``steps`` (to index arrays recorded beside it). The log-spaced targets
        are built on the host from ``max(steps)`` and ``count`` and moved there.

    Notes
    -----
    The indices of the first records at or after the targets

    .. math:: t_j = \mathrm{round}\big(T^{j/(\text{count}-1)}\big),\qquad j = 0, \dots,
              \text{count} - 1,\quad T = \max(\text{steps}).

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Figure 2 (log-time
    axes).

    Examples
    --------
    >>> import numpy as np
    >>> log_spaced_indices(np.arange(1000), 5).tolist()
    [0, 1, 6, 32, 178, 999]
    """
    steps = as_float_array("steps", steps, ndim=1)
    xp = backend.array_namespace(steps)
    if bool(xp.any(steps != xp.round(steps))):
        raise ValueError(f"steps: expected integer step numbers, received {steps!r:.80}")
    if steps.shape[0] == 0 or bool(xp.any(xp.diff(steps) < 0)) or bool(xp.any(steps < 0)):
        raise ValueError(f"steps: expected non-negative increasing steps, received {steps!r}")
    count = check_integer("count", count, minimum=1, maximum=10**6)
    # The targets depend on two scalars only: built on the host (CuPy has no geomspace, and
    # NumPy's keeps the figures' indices bit for bit), then moved to the steps' device.
    top = max(float(steps[-1]), 1.0)
    targets = np.unique(np.round(np.geomspace(1, top, count)).astype(int))
    targets = backend.asarray(targets, like=steps)
    idx = xp.searchsorted(steps, targets).clip(0, steps.shape[0] - 1)
    ends = backend.asarray(np.array([0, steps.shape[0] - 1]), like=steps)
    return xp.unique(xp.concatenate((ends[:1], idx, ends[1:])))


def _closed_forms(s, sigma, step, lr, n):
    """The aligned-init singular values at ``step`` and each mode's half-way time (-1 where
    the mode starts above half its target), on the time scale τ = 1/lr.

    The closed forms name their own arguments (``tau``, ``u0``, ...) when they overflow;
    the caller chose ``lr``, ``sigmas`` and ``singular_values``, so those are named.
    """
    tau = 1.0 / lr
    try:
        closed = backend.to_numpy(
            dynamics.aligned_update_singular_values(s, sigma, step.astype(float), 3, tau, n)
        )
        predicted = np.full(s.size, -1.0)
        startable = sigma**3 < 0.5 * s
        if np.any(startable):
            predicted[startable] = dynamics.learning_time(s[startable], sigma**3, 3, 0.5, tau=tau)
    except ValueError as error:
        raise ValueError(
            f"lr, sigmas, singular_values: the closed forms fail at τ = 1/lr = {tau:.3g}, "
            f"σ = {sigma:.3g} ({error})"
        ) from error
    return closed, predicted


def staircase(
    sigmas=(0.01, 0.1, 1.0),
    singular_values=(4.0, 2.0, 1.0, 0.5),
    n=8,
    lr=0.05,
    steps=10000,
    n_samples=None,
    rank_threshold=0.9,
    input_spectrum=None,
    rng=0,
):
    r"""Train from random orthogonal inits of each scale and track ``W_t − W_0``.

    Parameters
    ----------
    sigmas : sequence of float
        Init scales ``σ``.
    singular_values : sequence of float
        Target singular values (the rest of the ``n`` modes are null); sorted
        descending before use, so that mode ``i`` is the ``i``-th largest everywhere.
    n : int
        Width of every layer (``n → n → n → n``).
    lr : float
        Gradient descent learning rate (time scale ``τ = 1/lr``).
    steps : int
    n_samples : int, optional
        Default ``2 n``.
    rank_threshold : float
    input_spectrum : sequence of float, shape (n,), optional
        Eigenvalues of the input covariance ``X Xᵀ / n_samples``
        (:func:`refimpl.inrank.data.teacher_data`); default exactly whitened inputs.
        The closed forms assume whitened inputs, so with correlated inputs they are
        only a reference curve.
    rng : numpy.random.Generator or int
        One draw of the teacher, the data and a single random orthogonal init ``Q``;
        every ``σ`` starts from ``σ Q``, so the panels differ only by the scale.

    Returns
    -------
    out : dict
        ``singular_values`` (sorted descending), ``lr`` and ``runs``: one dict per ``σ``
        with log-spaced ``steps``, ``loss``, ``update_sv`` (simulated, ``(R, n)``),
        ``closed_form_sv``
        (aligned-init prediction), ``rank_energy``, ``rank_variance`` and their closed-form
        counterparts ``closed_rank_energy``, ``closed_rank_variance``, plus
        ``learned_steps`` (half of each target value) and ``predicted_learning_steps``
        (aligned init; -1 where the mode starts above half its target).

    Notes
    -----
    .. math:: \sigma_i\big(W_t - W_0\big) \approx |u_i(t) - \sigma^3|

    exactly for the aligned init; for a random orthogonal init only approximately, and
    increasingly blurred as ``σ`` grows.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Figure 2.

    Examples
    --------
    >>> out = staircase(sigmas=(0.1,), singular_values=(1.0, 2.0), n=3, steps=20, rng=0)
    >>> out["singular_values"].tolist(), out["runs"][0]["update_sv"].shape[1]
    ([2.0, 1.0], 3)
    """
    rng = as_generator(rng)
    n = check_integer("n", n, minimum=1)
    check_array_size("n", (n, n))
    lr = check_positive("lr", lr)
    if not isinstance(sigmas, list | tuple | np.ndarray) or len(sigmas) == 0:
        raise ValueError(f"sigmas: expected a non-empty sequence of scales, received {sigmas!r}")
    sigmas = [check_positive("sigmas", sigma) for sigma in sigmas]
    s = as_float_array("singular_values", singular_values, ndim=1)
    s = np.sort(backend.to_numpy(s))[::-1]
    t = teacher(s, n, n, rng=rng)
    X, Y = teacher_data(
        t.target, 2 * n if n_samples is None else n_samples, rng=rng, input_spectrum=input_spectrum
    )
    unit = orthogonal_init((n, n, n, n), 1.0, rng=rng)  # one Q for every scale
    runs = []
    for sigma in sigmas:
        try:
            res = train(
                [sigma * w for w in unit],
                X,
                Y,
                lr,
                steps,
                rank_threshold=rank_threshold,
                target=t.target,
            )
        except ValueError as exc:  # train's words name its arguments; say the caller's
            if not str(exc).startswith("weights, X, Y: the initial loss overflows"):
                raise
            raise ValueError(
                "sigmas, singular_values: the initial loss overflows float64 for "
                f"sigma = {sigma:g} and the largest singular value {s[0]:g}; use smaller ones"
            ) from exc
        keep = log_spaced_indices(res.steps)
        step = res.steps[keep]
        closed, predicted = _closed_forms(s, sigma, step, lr, n)
        runs.append(
            {
                "sigma": sigma,
                "steps": step,
                "loss": res.loss[keep],
                "update_sv": backend.to_numpy(res.update_singular_values)[keep],
                "closed_form_sv": closed,
                "rank_energy": backend.to_numpy(res.effective_rank_energy)[keep],
                "rank_variance": backend.to_numpy(res.effective_rank_variance)[keep],
                "closed_rank_energy": backend.to_numpy(
                    effective_rank(closed, rank_threshold, "energy")
                ),
                "closed_rank_variance": backend.to_numpy(
                    effective_rank(closed, rank_threshold, "variance")
                ),
                "learned_steps": res.learned_steps(0.5)[: s.size],
                "predicted_learning_steps": predicted,
            }
        )
    return {"singular_values": s, "lr": lr, "n": n, "runs": runs}


def mlp_comparison(
    n_in=32,
    hidden=64,
    n_out=8,
    teacher_hidden=4,
    n_samples=256,
    lr=3e-3,
    steps=3000,
    adapt_steps=1000,
    optimizer="adam",
    record_every=20,
    rng=0,
    **inrank_options,
):
    r"""Full-rank training, InRank (both ratio definitions) and efficient InRank on the MLP.

    Parameters
    ----------
    n_in, hidden, n_out, teacher_hidden, n_samples : int
        Task and student sizes (:func:`refimpl.inrank.mlp_task.relu_teacher`).
    lr, steps, optimizer, record_every
        Shared by all runs.
    adapt_steps : int
        Length of the rank-adaptive stage of the efficient variant (which truncates the
        update, keeping ``W0``, with the variance ratio).
    rng : numpy.random.Generator or int
        Draws the task, the init ``W0`` and one seed shared by the three InRank runs
        (same initial factor ``U``, so they differ only by the rank rule).
    **inrank_options
        Passed to every InRank run (``threshold``, ``warmup``, ``gap``, ...).

    Returns
    -------
    out : dict
        ``full``, ``inrank_variance``, ``inrank_energy``, ``efficient``:
        :class:`~refimpl.inrank.results.InRankResult`; and ``task``.

    Notes
    -----
    Every run trains :math:`f(X) = W_2\,\mathrm{relu}(W_1 X)` on the same task from the
    same :math:`W_0`; InRank parameterizes :math:`W_l = W_{0,l} + U_l V_l^\top`.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5.

    Examples
    --------
    >>> out = mlp_comparison(n_in=4, hidden=8, n_out=2, teacher_hidden=2, n_samples=16,
    ...                      steps=20, adapt_steps=10, record_every=10, warmup=5, gap=5,
    ...                      initial_rank=1)
    >>> sorted(k for k in out if k != "task"), out["efficient"].stage2_step
    (['efficient', 'full', 'inrank_energy', 'inrank_variance'], 10)
    """
    allowed = list(inspect.signature(inrank).parameters)[5:]
    for key in ("activation", "optimizer", "record_every", "rng", "ratio"):
        allowed.remove(key)  # set by this experiment
    check_options("inrank_options", inrank_options, allowed)
    rng = as_generator(rng)
    task = relu_teacher(n_in, n_out, n_samples, rng=rng, teacher_hidden=teacher_hidden)
    weights = mlp_init(n_in, hidden, n_out, rng=rng)
    factor_seed = int(rng.integers(2**31))
    common = {"activation": "relu", "optimizer": optimizer, "record_every": record_every}
    out = {"task": task, "full": full_rank_train(weights, task.X, task.Y, lr, steps, **common)}
    for ratio in ("variance", "energy"):
        out[f"inrank_{ratio}"] = inrank(
            weights,
            task.X,
            task.Y,
            lr,
            steps,
            ratio=ratio,
            rng=factor_seed,
            **common,
            **inrank_options,
        )
    out["efficient"] = inrank_efficient(
        weights,
        task.X,
        task.Y,
        lr,
        steps,
        adapt_steps,
        truncate="update",
        rng=factor_seed,
        **common,
        **inrank_options,
    )
    return out
