r"""How long a mode takes to learn: exact times, learning order and the small-init limit.

The time from strength ``u0`` to ``u1`` under the mode ODE
:math:`\tau\dot u = L u^{2-2/L}(s - u)` is an integral of ``1/u̇``: explicit at depths
1 and 2, the closed form ``F`` of :mod:`refimpl.inrank.depth3` at depth 3, adaptive
quadrature otherwise. :func:`learning_time` is the time to reach a fraction of the
target; for small initializations it behaves like ``τ/((L − 2) s a0^{L−2})``
(:func:`learning_time_asymptotic`), so larger singular values are learned first
(:func:`learning_order`). Derivations: ``docs/derivations/inrank.md``, section 3.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.learning_times import learning_time
>>> t = learning_time(np.array([4.0, 2.0, 1.0]), 1e-6, depth=3)
>>> np.round(t[1:] / t[:-1], 2)  # halving s doubles the time
array([2., 2.])
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.depth3 import time_function_depth3_unchecked
from refimpl.inrank.ode import (
    MAX_DEPTH,
    as_mode_values,
    broadcast,
    finite_or_overflow,
    python_scalar,
)
from refimpl.inrank.reference import quadrature_mode_time
from refimpl.validation import check_array_type, check_in_interval, check_integer, check_positive

__all__ = [
    "mode_time",
    "learning_time",
    "learning_order",
    "learning_time_asymptotic",
]


def _namespace(**arrays):
    for name, x in arrays.items():
        check_array_type(name, x)
    return backend.array_namespace(*arrays.values())


def mode_time(s, u0, u1, depth, tau=1.0):
    r"""Time for a mode to go from strength ``u0`` to ``u1``.

    Parameters
    ----------
    s : array_like
        Target singular value(s) ``s ≥ 0``.
    u0, u1 : array_like
        Start and end strengths. A mode moves monotonically toward ``s`` (toward 0 for
        a null mode) and never reaches it, so ``u1`` must lie in the half-open interval
        from ``u0`` toward ``s``, excluding ``s``; and ``u0 > 0``.
    depth : int
        Number of weight matrices ``L ≥ 1``.
    tau : float
        Time scale ``τ > 0``.

    Returns
    -------
    t : float or ndarray
        A float for scalar inputs, else an array of the broadcast shape.

    Raises
    ------
    ValueError
        If ``u1`` is not reachable from ``u0`` in finite time, or the time overflows.

    Notes
    -----
    .. math:: t = \tau \int_{u_0}^{u_1} \frac{du}{L\, u^{2-2/L} (s - u)}

    Depth 2: :math:`t = \frac{\tau}{2s}\ln\frac{u_1 (s - u_0)}{u_0 (s - u_1)}`; depth 3:
    :math:`t = \tau [F(a_1) - F(a_0)]`; other depths by adaptive quadrature (SciPy, CPU).

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Eq. (6); ``docs/derivations/inrank.md``,
    section 3.

    Examples
    --------
    >>> round(mode_time(2.0, 0.01, 1.0, depth=2), 6)
    1.323326
    """
    xp = _namespace(s=s, u0=u0, u1=u1)
    depth = check_integer("depth", depth, minimum=1, maximum=MAX_DEPTH)
    tau = check_positive("tau", tau)
    s = as_mode_values("s", s, xp)
    u0 = as_mode_values("u0", u0, xp)
    u1 = as_mode_values("u1", u1, xp)
    s, u0, u1 = broadcast("s, u0, u1", s, u0, u1, xp=xp)
    if bool(xp.any(u0 <= 0)):
        raise ValueError(
            "u0: expected strengths > 0 (a mode at 0 never moves), "
            f"received {backend.to_numpy(u0)!r}"
        )
    lo = xp.minimum(u0, s)
    hi = xp.maximum(u0, s)
    at_target = u0 == s
    ok = xp.where(at_target, u1 == s, (u1 >= lo) & (u1 <= hi) & (u1 != s))
    ok = ok & ((s > 0) | (u1 > 0))
    if not bool(xp.all(ok)):
        raise ValueError(
            "u1: expected a strength between u0 and s, excluding s (a mode approaches s "
            f"only asymptotically), received u1={backend.to_numpy(u1)!r} for "
            f"u0={backend.to_numpy(u0)!r}, s={backend.to_numpy(s)!r}"
        )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        t = _mode_time(s, u0, u1, depth, tau, ~at_target, xp)
    return python_scalar(finite_or_overflow(t, "s, u0, u1, tau"))


def _mode_time(s, u0, u1, depth, tau, moving, xp):
    if depth == 1:
        safe = xp.where(moving, s - u1, 1.0)
        t = tau * xp.log(xp.where(moving, (s - u0) / safe, 1.0))
        return xp.where(moving, t, 0.0)
    # Null modes: invert null_mode_strength in closed form (depth ≥ 2 from here on).
    p = 2.0 * depth - 2.0
    a0 = u0 ** (1.0 / depth)
    a1 = xp.where(u1 > 0, u1, 1.0) ** (1.0 / depth)
    t_null = tau * (a1**-p - a0**-p) / p
    ss = xp.where((s > 0) & moving, s, 1.0)
    uu0 = xp.where((s > 0) & moving, u0, 0.25)
    uu1 = xp.where((s > 0) & moving, u1, 0.5)
    if depth == 2:
        t = tau / (2.0 * ss) * xp.log(uu1 * (ss - uu0) / (uu0 * (ss - uu1)))
    elif depth == 3:
        c = xp.cbrt(ss)
        f1 = time_function_depth3_unchecked(xp.cbrt(uu1), ss, c, xp)
        t = tau * (f1 - time_function_depth3_unchecked(xp.cbrt(uu0), ss, c, xp))
    else:
        t = quadrature_mode_time(ss, uu0, uu1, depth, tau)
        t = backend.asarray(t, like=ss).reshape(ss.shape)
    t = xp.where(s > 0, t, t_null)
    return xp.where(moving, t, 0.0)


def learning_time(s, u0, depth, fraction=0.5, tau=1.0):
    r"""Time for a mode to reach ``fraction · s`` from ``u0``.

    Parameters
    ----------
    s : array_like
        Target singular values ``s > 0``.
    u0 : array_like
        Initial *end-to-end* strengths ``u0 = a0^L`` (``σ^L`` for the aligned init of
        scale ``σ``), ``0 < u0 < fraction · s``. Note that
        :func:`learning_time_asymptotic` takes the per-layer ``a0`` instead.
    depth : int
        Number of weight matrices.
    fraction : float
        In ``(0, 1)``.
    tau : float
        Time scale.

    Returns
    -------
    t : float or ndarray
        A float for scalar inputs, else an array of the broadcast shape.

    Notes
    -----
    .. math:: t_{\text{learn}} = \text{mode\_time}(s, u_0, f s)

    At depth 3 with :math:`u_0 = a_0^3` small this is
    :math:`\tau/(s a_0) + O(\tau s^{-4/3})`: learning times scale like :math:`1/s`
    and like the inverse init scale (:func:`learning_time_asymptotic`).

    References
    ----------
    Saxe, McClelland & Ganguli (2014); ``docs/derivations/inrank.md``, section 3.

    Examples
    --------
    >>> learning_time(2.0, 1e-6, depth=3) > learning_time(4.0, 1e-6, depth=3)
    True
    """
    fraction = check_in_interval("fraction", fraction, 0.0, 1.0, closed="neither")
    xp = _namespace(s=s, u0=u0)
    s = as_mode_values("s", s, xp, positive=True)
    u0 = as_mode_values("u0", u0, xp)
    if bool(xp.any(u0 <= 0)) or bool(xp.any(u0 >= fraction * s)):
        raise ValueError(
            f"u0, fraction: expected 0 < u0 < fraction·s (the mode must start below "
            f"fraction={fraction} of its target), received u0={backend.to_numpy(u0)!r}, "
            f"s={backend.to_numpy(s)!r}"
        )
    return mode_time(s, u0, fraction * s, depth, tau)


def learning_order(s):
    r"""Order in which modes are learned: indices by decreasing target singular value.

    Parameters
    ----------
    s : array_like, shape (k,)
        Target singular values ``≥ 0`` (ties keep their input order).

    Returns
    -------
    order : ndarray of int, shape (k,)

    Notes
    -----
    Every learning time decreases in ``s`` at fixed ``u0`` (:func:`learning_time`), so
    the predicted order is by decreasing ``s``:

    .. math:: s_i > s_j \Rightarrow t_{\text{learn}}(s_i) < t_{\text{learn}}(s_j).

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Section 3.

    Examples
    --------
    >>> learning_order([1.0, 3.0, 2.0])
    array([1, 2, 0])
    """
    xp = _namespace(s=s)
    s = as_mode_values("s", s, xp)
    if s.ndim != 1:
        raise ValueError(f"s: expected a 1-d array, received shape {s.shape}")
    return xp.argsort(-s, kind="stable")


def learning_time_asymptotic(s, a0, depth, tau=1.0):
    r"""Leading-order learning time for small initial per-layer scale ``a0``.

    Parameters
    ----------
    s : array_like
        Target singular values ``s > 0``.
    a0 : array_like
        Initial *per-layer* scalar ``a₀ > 0`` (the init scale ``σ`` of the aligned init),
        not the end-to-end ``u0 = a₀^L`` that :func:`learning_time` takes.
    depth : int
        Number of weight matrices ``L ≥ 2``.
    tau : float
        Time scale.

    Returns
    -------
    t : float or ndarray
        A float for scalar inputs, else an array of the broadcast shape.

    Notes
    -----
    For :math:`L \ge 3` the growth phase :math:`\tau \dot a \approx s a^{L-1}` blows up
    at

    .. math:: t \approx \frac{\tau}{(L-2)\, s\, a_0^{L-2}},

    i.e. :math:`\tau/(s a_0)` at depth 3: it depends on the init scale itself, not on
    its logarithm. Depth 2 gives :math:`\frac{\tau}{2s}\ln(s/a_0^2)`.

    References
    ----------
    Saxe, McClelland & Ganguli (2014); ``docs/derivations/inrank.md``, section 3.

    Examples
    --------
    >>> learning_time_asymptotic(2.0, 0.01, depth=3)
    50.0
    """
    xp = _namespace(s=s, a0=a0)
    depth = check_integer("depth", depth, minimum=2, maximum=MAX_DEPTH)
    tau = check_positive("tau", tau)
    s = as_mode_values("s", s, xp, positive=True)
    a0 = as_mode_values("a0", a0, xp, positive=True)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if depth == 2:
            t = tau / (2.0 * s) * xp.log(s / a0**2)
        else:
            t = tau / ((depth - 2) * s * a0 ** (depth - 2))
    return python_scalar(finite_or_overflow(t, "s, a0, tau"))
