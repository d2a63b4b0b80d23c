"""Training the linear network with GD, SGD or Adam, and tracking its low-rank trajectory.

:func:`train` runs the optimizer and records, every ``record_every`` steps (step 0 and
the last step always included):

* the loss and the end-to-end map ``W3 W2 W1``;
* the singular values of each layer's cumulative update ``W_l(t) − W_l(0)`` and of the
  end-to-end cumulative update ``W3W2W1(t) − W3W2W1(0)``;
* the effective rank of the end-to-end update by both explained-ratio definitions
  (:mod:`refimpl.inrank.rank`);
* the mode strengths ``u_i(t) = u_iᵀ W3W2W1(t) v_i`` along the target's singular pairs,
  from which :meth:`TrainResult.learned_steps` reads the step each mode is learned.

Conventions: ``X`` is ``(n_in, n_samples)`` (columns are samples), the loss is
``½‖W3W2W1 X − Y‖²_F / n_samples``; with whitened inputs gradient descent with learning
rate ``η`` has time scale ``τ = 1/η``: step ``k`` is time ``t = k`` in
:mod:`refimpl.inrank.dynamics` with ``tau = 1/lr``.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank import aligned_init, train
>>> T = np.diag([3.0, 1.0])
>>> res = train(aligned_init(T, 0.5, rng=0), np.eye(2) * np.sqrt(2), T * np.sqrt(2),
...             lr=0.05, steps=400, record_every=100)
>>> res.steps
array([  0, 100, 200, 300, 400])
>>> bool(res.loss[-1] < 1e-8)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.inrank import network
from refimpl.inrank.init import aligned_init  # noqa: F401 - used by the examples
from refimpl.inrank.layers import DenseLayer
from refimpl.inrank.loop import run_training
from refimpl.inrank.rank import effective_rank
from refimpl.validation import as_float_array, check_in_interval

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    r"""What :func:`train` recorded. ``R`` is the number of records.

    Attributes
    ----------
    steps : ndarray of int, shape (R,)
        Recorded step indices (0 is the initialization).
    loss : ndarray, shape (R,)
        Full-data loss ``½‖f(X) − Y‖²_F / n_samples`` at each recorded step.
    weights : list of ndarray
        Final weights.
    initial_weights : list of ndarray
    end_to_end : ndarray, shape (R, n_out, n_in)
        ``W_L ⋯ W_1`` at each recorded step.
    layer_update_singular_values : list of ndarray
        Entry ``l`` has shape ``(R, min(W_l.shape))``: singular values (descending) of
        ``W_l(t) − W_l(0)``.
    update_singular_values : ndarray, shape (R, min(n_out, n_in))
        Singular values of the end-to-end cumulative update.
    effective_rank_energy, effective_rank_variance : ndarray of int, shape (R,)
        Effective rank of the end-to-end update at ``rank_threshold``.
    target_singular_values : ndarray, shape (k,)
        Singular values ``s_i`` of the target used for the mode strengths.
    mode_strengths : ndarray, shape (R, k)
        ``u_iᵀ W_L⋯W_1 v_i`` for the target's singular pairs ``(u_i, s_i, v_i)``.
    rank_threshold : float
    layer_updates : list of ndarray or None
        With ``train(..., record_updates=True)``: entry ``l`` has shape
        ``(R, *W_l.shape)``, the cumulative updates ``W_l(t) − W_l(0)``.

    Notes
    -----
    The mode strengths are the target's singular directions read off the product:

    .. math:: u_i(t) = u_i^\top W_L(t)\cdots W_1(t)\, v_i .

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 3.

    Examples
    --------
    >>> import numpy as np
    >>> res = train([np.full((1, 1), 0.5)] * 2, np.ones((1, 2)), np.ones((1, 2)), 0.5, 2)
    >>> res.steps.tolist(), res.mode_strengths.shape
    ([0, 1, 2], (3, 1))
    """

    steps: object
    loss: object
    weights: list
    initial_weights: list
    end_to_end: object
    layer_update_singular_values: list
    update_singular_values: object
    effective_rank_energy: object
    effective_rank_variance: object
    target_singular_values: object
    mode_strengths: object
    rank_threshold: float = 0.9
    layer_updates: list | None = None

    @property
    def end_to_end_update(self):
        """Cumulative end-to-end update ``W_L⋯W_1(t) − W_L⋯W_1(0)``, shape (R, n_out, n_in)."""
        return self.end_to_end - self.end_to_end[:1]

    def learned_steps(self, fraction=0.5):
        """First recorded step at which each mode's strength reaches ``fraction · s_i``.

        Parameters
        ----------
        fraction : float
            In ``(0, 1]``.

        Returns
        -------
        steps : ndarray of int, shape (k,)
            ``-1`` for a mode that never got there within the run and for null modes
            (``s_i = 0``), which have nothing to learn.
        """
        fraction = check_in_interval("fraction", fraction, 0.0, 1.0, closed="right")
        u = backend.to_numpy(self.mode_strengths)
        s = backend.to_numpy(self.target_singular_values)
        steps = backend.to_numpy(self.steps)
        crossed = u >= fraction * s[None, :]
        first = np.argmax(crossed, axis=0)
        ok = crossed.any(axis=0) & (s > 0)
        return np.where(ok, steps[first], -1)


def train(
    weights,
    X,
    Y,
    lr,
    steps,
    optimizer="gd",
    record_every=1,
    rng=None,
    *,
    batch_size=None,
    target=None,
    rank_threshold=0.9,
    adam_options=None,
    record_updates=False,
):
    r"""Train a deep linear network and track its cumulative updates.

    Parameters
    ----------
    weights : list of ndarray
        Initial ``[W1, W2, W3]`` (any depth works); not modified.
    X : ndarray, shape (n_in, n_samples)
        Inputs, columns are samples.
    Y : ndarray, shape (n_out, n_samples)
    lr : float
        Learning rate ``η > 0``.
    steps : int
        Number of optimizer steps ``≥ 0``.
    optimizer : {"gd", "sgd", "adam"}
        "gd" uses the full batch (a ``batch_size`` other than ``n_samples`` raises
        ValueError); "sgd" draws mini-batches of ``batch_size`` samples (reshuffled every
        epoch); "adam" uses mini-batches when ``batch_size`` is given.
    record_every : int
        Record every this many steps (step 0 and the last step are always recorded).
    rng : numpy.random.Generator or int, optional
        Mini-batch order.
    batch_size : int, optional
        Mini-batch size for "sgd"/"adam"; default ``max(1, n_samples // 8)`` for "sgd",
        full batch otherwise.
    target : ndarray, shape (n_out, n_in), optional
        Target for the mode strengths; default: the least-squares map ``Y X⁺``
        (``Σyx`` for whitened inputs).
    rank_threshold : float
        Threshold of the effective ranks, in ``(0, 1]``.
    adam_options : dict, optional
        ``beta1``, ``beta2``, ``eps`` for Adam; ValueError with "gd" or "sgd".
    record_updates : bool
        Also keep every layer's cumulative update matrix at each record
        (``TrainResult.layer_updates``); off by default to save memory.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        Bad shapes, non-finite data, ``lr ≤ 0``, unknown optimizer.
    refimpl.validation.DivergenceError
        If the loss becomes non-finite; names the step and suggests a smaller ``lr``.

    Notes
    -----
    Gradient descent on :math:`\mathcal L = \frac{1}{2n}\|W_3W_2W_1X - Y\|_F^2`:

    .. math:: W_l \leftarrow W_l - \eta \nabla_{W_l}\mathcal L

    and with :math:`XX^\top/n = I` its continuous limit is the mode ODE
    :math:`\tau\dot u = L u^{2-2/L}(s - u)` with :math:`\tau = 1/\eta`.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 3;
    Saxe, McClelland & Ganguli (2014).

    Examples
    --------
    >>> import numpy as np
    >>> T = np.diag([3.0, 1.0])
    >>> res = train(aligned_init(T, 0.5, rng=0), np.eye(2) * np.sqrt(2), T * np.sqrt(2),
    ...             lr=0.05, steps=400, record_every=100)
    >>> res.steps.tolist(), bool(res.loss[-1] < 1e-8)
    ([0, 100, 200, 300, 400], True)
    """
    weights, X, Y = network.check_network(weights, X, Y, need="XY")
    rank_threshold = check_in_interval("rank_threshold", rank_threshold, 0.0, 1.0, "right")
    if not isinstance(record_updates, bool | np.bool_):
        raise ValueError(f"record_updates: expected True or False, received {record_updates!r}")
    xp = backend.array_namespace(X)
    if target is None:
        target = xp.linalg.lstsq(X.T, Y.T, rcond=None)[0].T  # Y X⁺, (n_out, n_in)
    else:
        target = as_float_array("target", target, ndim=2, like=X)
        if target.shape != (Y.shape[0], X.shape[0]):
            raise ValueError(
                f"target: expected shape {(Y.shape[0], X.shape[0])}, received {target.shape}"
            )
    tu, ts, tvt = xp.linalg.svd(target, full_matrices=False)
    # Singular values at rounding level are null modes (s = 0), not tiny targets.
    ts = xp.where(ts > 1e-10 * max(float(ts[0]), 1e-300), ts, 0.0)

    initial = [w.copy() for w in weights]
    layers = [DenseLayer(w.copy()) for w in weights]
    rec = {"e2e": [], "layer_sv": [[] for _ in layers], "updates": [[] for _ in layers]}

    def record(step, layers):
        current = [layer.W for layer in layers]
        rec["e2e"].append(network.end_to_end(current))
        for l, (w, w0) in enumerate(zip(current, initial, strict=True)):
            rec["layer_sv"][l].append(xp.linalg.svd(w - w0, compute_uv=False))
            if record_updates:
                rec["updates"][l].append(w - w0)

    log = run_training(
        layers, X, Y, lr, steps, optimizer=optimizer, batch_size=batch_size, rng=rng,
        adam_options=adam_options, record_every=record_every, on_record=record,
    )  # fmt: skip
    current = [layer.W for layer in layers]
    e2e0 = network.end_to_end(initial)
    e2e = xp.stack(rec["e2e"])  # (R, n_out, n_in)
    update_sv = xp.linalg.svd(e2e - e2e0[None], compute_uv=False)  # (R, min)
    modes = xp.einsum("ia,rij,aj->ra", tu, e2e, tvt)  # (R, k)
    return TrainResult(
        steps=np.asarray(log.steps, dtype=int),
        loss=np.asarray(log.loss, dtype=float),
        weights=current,
        initial_weights=initial,
        end_to_end=e2e,
        layer_update_singular_values=[xp.stack(v) for v in rec["layer_sv"]],
        update_singular_values=update_sv,
        effective_rank_energy=effective_rank(update_sv, rank_threshold, "energy"),
        effective_rank_variance=effective_rank(update_sv, rank_threshold, "variance"),
        target_singular_values=ts,
        mode_strengths=modes,
        rank_threshold=rank_threshold,
        layer_updates=[xp.stack(v) for v in rec["updates"]] if record_updates else None,
    )
