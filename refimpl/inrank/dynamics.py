"""Closed-form mode dynamics of deep linear networks (Saxe, McClelland & Ganguli).

With whitened inputs (``X Xᵀ / n_samples = I``), loss ``½‖W_L⋯W_1 − T‖²_F`` and an
"aligned" initialization (every layer diagonal in a chain of orthogonal frames),
gradient flow decouples into independent *modes*, one per singular value ``s`` of the
target ``T = U diag(s) Vᵀ``. Each layer carries the same scalar ``a`` for a mode, and the
end-to-end *mode strength* is ``u = a**L`` with ``L = depth`` the number of weight
matrices (the three-layer network ``W3 W2 W1`` has depth 3). In continuous time,

    τ u̇ = L u^{2 − 2/L} (s − u),        equivalently        τ ȧ = a^{L−1} (s − a^L),

where ``τ = 1/η`` for gradient descent with learning rate ``η`` and time ``t`` counted
in steps (or ``τ = 1`` and ``t = η · step``).

Conventions of this module: ``s ≥ 0`` and ``u ≥ 0`` (a mode starts with a positive
strength and moves monotonically toward ``s``); arrays broadcast together.

* :func:`mode_strength` — ``u(t)``: explicit at depths 1 and 2, the numerically
  inverted closed-form time :func:`time_function_depth3` at depth 3, ODE integration
  otherwise; ``s = 0`` (null modes) always in closed form.
* :func:`aligned_update_singular_values` — the spectrum of ``W(t) − W(0)``.

The pieces live in modules of one idea each and are all importable from here:
:mod:`refimpl.inrank.ode` (the ODE, :func:`mode_ode_rhs`, :func:`null_mode_strength`),
:mod:`refimpl.inrank.depth3` (the closed form :func:`time_function_depth3`) and
:mod:`refimpl.inrank.learning_times` (:func:`mode_time`, :func:`learning_time`,
:func:`learning_order`, :func:`learning_time_asymptotic`). Every function returns a
Python float for scalar inputs and an array of the broadcast shape otherwise. The
derivations are in ``docs/derivations/inrank.md``.

References
----------
.. [1] A. M. Saxe, J. L. McClelland, S. Ganguli, "Exact solutions to the nonlinear
   dynamics of learning in deep linear neural networks", ICLR 2014, arXiv:1312.6120.
.. [2] J. Zhao, Y. Zhang, B. Chen, F. Schäfer, A. Anandkumar, "InRank: Incremental
   Low-Rank Learning", TMLR 2024, arXiv:2306.11250.

Examples
--------
>>> from refimpl.inrank import dynamics
>>> u = dynamics.mode_strength(2.0, 1e-3, 5.0, depth=3)
>>> t = dynamics.mode_time(2.0, 1e-3, u, depth=3)
>>> round(t, 6)
5.0
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.depth3 import depth3_strength, time_function_depth3
from refimpl.inrank.learning_times import (
    learning_order,
    learning_time,
    learning_time_asymptotic,
    mode_time,
)
from refimpl.inrank.ode import (
    MAX_DEPTH,
    as_mode_values,
    broadcast,
    finite_or_overflow,
    mode_ode_rhs,
    null_mode_strength,
    python_scalar,
)
from refimpl.inrank.reference import integrate_mode_ode
from refimpl.validation import check_array_size, check_array_type, check_integer, check_positive

__all__ = [
    "mode_ode_rhs",
    "mode_strength",
    "mode_time",
    "null_mode_strength",
    "time_function_depth3",
    "learning_time",
    "learning_order",
    "learning_time_asymptotic",
    "aligned_update_singular_values",
]


def mode_strength(s, u0, t, depth, tau=1.0):
    r"""End-to-end mode strength ``u(t)`` under gradient flow from ``u(0) = u0``.

    Parameters
    ----------
    s : array_like
        Target singular value(s) ``s ≥ 0``; ``s = 0`` is a null mode.
    u0 : array_like
        Initial strength ``u₀ ≥ 0`` (``σ^L`` for the aligned init of scale ``σ``).
    t : array_like
        Time ``t ≥ 0``; gradient descent step ``k`` with learning rate ``η`` is
        ``t = k`` with ``tau = 1/η`` (or ``t = η k`` with ``tau = 1``).
    depth : int
        Number of weight matrices ``L ≥ 1`` (3 for ``W3 W2 W1``).
    tau : float
        Time scale ``τ > 0``.

    Returns
    -------
    u : float or ndarray
        A float for scalar inputs, else an array of the broadcast shape of ``s``,
        ``u0`` and ``t``.

    Notes
    -----
    .. math:: \tau \dot u = L\, u^{2 - 2/L} (s - u)

    Depth 2 has the explicit logistic solution

    .. math:: u(t) = \frac{s\, e^{2st/\tau}}{e^{2st/\tau} - 1 + s/u_0};

    depth 3 solves :math:`t/\tau = F(a) - F(a_0)` for :math:`a = u^{1/3}` by bisection
    (:func:`time_function_depth3`); other depths integrate the ODE with SciPy's LSODA
    (on the CPU; results are returned on the input's backend).

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Eq. (6) and Section 3;
    ``docs/derivations/inrank.md``, sections 1–2.

    Examples
    --------
    >>> import numpy as np
    >>> u = mode_strength(np.array([4.0, 2.0, 1.0]), 1e-3, 2.0, depth=2)
    >>> np.round(u, 3)  # the largest mode is learned first
    array([3.998, 1.197, 0.052])
    """
    for name, x in (("s", s), ("u0", u0), ("t", t)):
        check_array_type(name, x)
    xp = backend.array_namespace(s, u0, t)
    depth = check_integer("depth", depth, minimum=1, maximum=MAX_DEPTH)
    tau = check_positive("tau", tau)
    s = as_mode_values("s", s, xp)
    u0 = as_mode_values("u0", u0, xp)
    t = as_mode_values("t", t, xp)
    s, u0, t = broadcast("s, u0, t", s, u0, t, xp=xp)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        u = _strength(s, u0, t, depth, tau, xp)
    return python_scalar(finite_or_overflow(u, "s, u0, t, tau"))


def _strength(s, u0, t, depth, tau, xp):
    if depth == 1:
        return s + (u0 - s) * xp.exp(-t / tau)
    null = null_mode_strength(u0, t, depth, tau)
    if depth == 2:
        # u = s u0 / (u0 + (s − u0) e^{−2st/τ}), divided through by the larger of s, u0
        # so that neither huge nor tiny strengths overflow.
        scale = xp.maximum(xp.maximum(s, u0), 1e-300)
        s_, u0_ = s / scale, u0 / scale
        decay = xp.exp(-2.0 * s * (t / tau))
        u = scale * (s_ * u0_) / (u0_ + (s_ - u0_) * decay)
        u = xp.where(u0 > 0, u, 0.0)
    elif depth == 3:
        u = depth3_strength(s, u0, t, tau, xp)
    else:
        learning = xp.where(s > 0, u0, s)  # null modes: closed form below, not integrated
        u = integrate_mode_ode(s, learning, t, depth, tau)
        u = backend.asarray(u, like=s).reshape(s.shape)
    return xp.where(s > 0, u, null)


def aligned_update_singular_values(s, scale, t, depth=3, tau=1.0, n_modes=None):
    r"""Predicted singular values of the end-to-end cumulative update under aligned init.

    Parameters
    ----------
    s : array_like, shape (k,)
        Target singular values (``≥ 0``).
    scale : float
        Init scale ``σ``: every mode starts at ``u₀ = σ^L``.
    t : array_like, shape (R,)
        Times (steps with ``tau = 1/η``).
    depth : int
        Number of weight matrices ``L``.
    tau : float
        Time scale.
    n_modes : int, optional
        Total number of modes ``min(n_out, n_in)``; the ``n_modes − k`` extra ones are null
        modes (``s = 0``). Default ``k``.

    Returns
    -------
    sv : ndarray, shape (R, n_modes)
        Sorted descending: ``|u_i(t) − σ^L|``.

    Notes
    -----
    With the aligned init, :math:`W(t) - W(0) = U\,\mathrm{diag}(u(t) - \sigma^L)\,V^\top`,
    so

    .. math:: \sigma_i\big(W(t) - W(0)\big) = |u_i(t) - \sigma^L| .

    Null modes decay from :math:`\sigma^L` toward 0 and add a bulk of singular values
    that approaches :math:`\sigma^L`, visible once :math:`\sigma` is not small.

    References
    ----------
    Saxe, McClelland & Ganguli (2014); Zhao et al. (2024), Section 3.

    Examples
    --------
    >>> import numpy as np
    >>> sv = aligned_update_singular_values([2.0], 0.1, np.array([0.0, 1e4]), n_modes=2)
    >>> np.round(sv[1], 4).tolist()  # mode learned; the null mode decayed from 1e-3 to 3e-4
    [1.999, 0.0007]
    """
    for name, x in (("s", s), ("t", t)):
        check_array_type(name, x)
    xp = backend.array_namespace(s, t)
    s = as_mode_values("s", s, xp)
    if s.ndim != 1 or s.shape[0] == 0:
        raise ValueError(f"s: expected a non-empty 1-d array, received shape {s.shape}")
    scale = check_positive("scale", scale)
    depth = check_integer("depth", depth, minimum=1, maximum=MAX_DEPTH)
    n_modes = s.shape[0] if n_modes is None else check_integer("n_modes", n_modes, s.shape[0])
    t = as_mode_values("t", t, xp)
    if t.ndim != 1:
        raise ValueError(f"t: expected a 1-d array of times, received shape {t.shape}")
    check_array_size("n_modes", (t.shape[0], n_modes))
    s_all = xp.concatenate([s, xp.zeros(n_modes - s.shape[0], dtype=s.dtype)])
    with np.errstate(over="ignore", under="ignore"):
        u0 = float(np.float64(scale) ** depth)
    if not np.isfinite(u0):
        raise ValueError(f"scale: scale**depth overflows float64, received scale={scale}")
    u = mode_strength(s_all[None, :], u0, t[:, None], depth, tau)  # (R, n_modes)
    sv = xp.abs(u - u0)
    return -xp.sort(-sv, axis=1)
