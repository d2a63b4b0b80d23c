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
* :func:`mode_time` — the time to go from ``u0`` to ``u1``.
* :func:`null_mode_strength`, :func:`learning_time`, :func:`learning_order`,
  :func:`learning_time_asymptotic`.

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
>>> t = dynamics.mode_time(2.0, 1e-3, float(u), depth=3)
>>> round(float(t), 6)
5.0
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import check_integer, check_positive

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

# Bisection in log a: the bracket [log a0, log c] is at most ~1500 wide (float64 range),
# and 64 halvings shrink it to ≤ 1500·2**-64 ≈ 8e-17 in log a, i.e. relative resolution
# in a at the float64 rounding level.
_BISECTION_STEPS = 64


def _as_nonnegative(name, x, xp):
    arr = xp.asarray(x, dtype=xp.float64)
    if not bool(xp.all(xp.isfinite(arr))):
        raise ValueError(f"{name}: expected finite values, received {backend.to_numpy(arr)!r}")
    if bool(xp.any(arr < 0)):
        raise ValueError(f"{name}: expected values >= 0, received {backend.to_numpy(arr)!r}")
    return arr


def mode_ode_rhs(u, s, depth, tau=1.0):
    r"""Right-hand side ``du/dt`` of the mode ODE.

    Parameters
    ----------
    u : array_like
        End-to-end mode strength(s), ``u ≥ 0``.
    s : array_like
        Target singular value(s), ``s ≥ 0``; broadcasts with ``u``.
    depth : int
        Number of weight matrices ``L ≥ 1``.
    tau : float
        Time scale ``τ = 1/η``.

    Returns
    -------
    dudt : ndarray
        ``L u^{2 − 2/L} (s − u) / τ``.

    Notes
    -----
    .. math:: \tau \dot u = L\, u^{2 - 2/L} (s - u)

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Section 3.

    Examples
    --------
    >>> float(mode_ode_rhs(1.0, 2.0, depth=3))
    3.0
    """
    xp = backend.array_namespace(u, s)
    depth = check_integer("depth", depth, minimum=1)
    tau = check_positive("tau", tau)
    u = _as_nonnegative("u", u, xp)
    s = _as_nonnegative("s", s, xp)
    return depth * u ** (2.0 - 2.0 / depth) * (s - u) / tau


def time_function_depth3(a, s):
    r"""The closed-form time ``F(a)`` of a depth-3 mode, with ``t = τ [F(a) − F(a₀)]``.

    Parameters
    ----------
    a : array_like
        Per-layer mode scalar ``a > 0`` (so ``u = a³``), finite, ``a ≠ s^{1/3}``.
    s : array_like
        Target singular value ``s > 0``, finite; broadcasts with ``a``.

    Returns
    -------
    F : ndarray
        Values of the antiderivative of ``1 / (a² (s − a³))``.

    Raises
    ------
    ValueError
        If ``a`` or ``s`` is not finite and positive, or ``a = s^{1/3}`` (where
        ``F = +∞``: the fixed point is reached only asymptotically).

    Notes
    -----
    Per layer the ODE is :math:`\tau \dot a = a^2 (s - a^3)`; with :math:`c = s^{1/3}`
    partial fractions give

    .. math::

        F(a) = -\frac{1}{s a} + \frac{\ln(a^2 + a c + c^2) - 2 \ln|c - a|
               - 2\sqrt{3}\,\arctan\!\big(\tfrac{2a + c}{\sqrt{3}\,c}\big)}{6 s^{4/3}}.

    This formula is derived (papers.md, section 1), not printed in the papers; the test
    suite checks it against quadrature and ODE integration.

    References
    ----------
    Zhao et al. (2024), built on Saxe, McClelland & Ganguli (2014).

    Examples
    --------
    >>> import numpy as np
    >>> a, s, h = 0.5, 2.0, 1e-6
    >>> dF = (time_function_depth3(a + h, s) - time_function_depth3(a - h, s)) / (2 * h)
    >>> bool(np.isclose(dF, 1 / (a**2 * (s - a**3))))
    True
    """
    xp = backend.array_namespace(a, s)
    a = _as_nonnegative("a", a, xp)
    s = _as_nonnegative("s", s, xp)
    if bool(xp.any(a <= 0)) or bool(xp.any(s <= 0)):
        raise ValueError(
            f"a, s: expected values > 0, received a={backend.to_numpy(a)!r}, "
            f"s={backend.to_numpy(s)!r}"
        )
    c = xp.cbrt(s)
    if bool(xp.any(a == c)):
        raise ValueError(f"a: expected a != s**(1/3) (F is infinite there), received {a!r}")
    return _time_function_depth3(a, s, c, xp)


def _time_function_depth3(a, s, c, xp):
    """:func:`time_function_depth3` without validation (``a = c`` gives ``+inf``)."""
    sqrt3 = float(np.sqrt(3.0))
    bracket = (
        xp.log(a * a + a * c + c * c)
        - 2.0 * xp.log(xp.abs(c - a))
        - 2.0 * sqrt3 * xp.arctan((2.0 * a + c) / (sqrt3 * c))
    )
    return -1.0 / (s * a) + bracket / (6.0 * s ** (4.0 / 3.0))


def null_mode_strength(u0, t, depth, tau=1.0):
    r"""Strength of a null mode (``s = 0``) at time ``t``.

    Parameters
    ----------
    u0 : array_like
        Initial strength ``u₀ ≥ 0``.
    t : array_like
        Time ``t ≥ 0`` (in steps when ``tau = 1/η``).
    depth : int
        Number of weight matrices ``L ≥ 1``.
    tau : float
        Time scale.

    Returns
    -------
    u : ndarray
        ``u(t)``; the per-layer scalar is ``a = u^{1/L}``.

    Notes
    -----
    With ``s = 0`` the per-layer ODE is :math:`\tau \dot a = -a^{2L-1}`, so for
    :math:`L \ge 2`

    .. math:: a(t) = \big(a_0^{-(2L-2)} + (2L-2)\, t/\tau\big)^{-1/(2L-2)},

    which at depth 3 is :math:`a(t) = (a_0^{-4} + 4t/\tau)^{-1/4}`. Depth 1 decays
    exponentially, :math:`u = u_0 e^{-t/\tau}`.

    References
    ----------
    Saxe, McClelland & Ganguli (2014); papers.md, section 1.

    Examples
    --------
    >>> a = float(null_mode_strength(0.5**3, 2.0, depth=3)) ** (1 / 3)
    >>> round(a, 10) == round((0.5**-4 + 8.0) ** -0.25, 10)
    True
    """
    xp = backend.array_namespace(u0, t)
    depth = check_integer("depth", depth, minimum=1)
    tau = check_positive("tau", tau)
    u0 = _as_nonnegative("u0", u0, xp)
    t = _as_nonnegative("t", t, xp)
    if depth == 1:
        return u0 * xp.exp(-t / tau)
    p = 2.0 * depth - 2.0
    a0 = u0 ** (1.0 / depth)
    # For a0 ≤ 1 write a = a0 (1 + p t a0^p / τ)^{-1/p}, which cannot overflow (a0^{-p}
    # would for tiny a0); for a0 > 1 the original form is safe.
    small = a0 <= 1.0
    a_lo = xp.where(small, a0, 1.0)
    a_hi = xp.where(small, 1.0, a0)
    a = xp.where(
        small,
        a_lo * (1.0 + p * t * a_lo**p / tau) ** (-1.0 / p),
        (a_hi**-p + p * t / tau) ** (-1.0 / p),
    )
    return xp.where(t > 0, a**depth, u0)  # exactly u0 at t = 0 (no cube-root round trip)


def _depth3_strength(s, u0, t, tau, xp):
    """Invert ``t/τ = F(a) − F(a0)`` by vectorized bisection in ``log a`` between a0 and c."""
    a0 = xp.cbrt(u0)
    c = xp.cbrt(s)
    moving = (s > 0) & (u0 > 0) & (a0 != c) & (t > 0)
    # Placeholder values keep F finite where the mode does not move.
    s_m = xp.where(moving, s, 1.0)
    a0_m = xp.where(moving, a0, 0.5)
    c_m = xp.where(moving, c, 1.0)
    target = _time_function_depth3(a0_m, s_m, c_m, xp) + xp.where(moving, t, 0.0) / tau
    lo = xp.log(xp.minimum(a0_m, c_m))
    hi = xp.log(xp.maximum(a0_m, c_m))
    increasing = a0_m < c_m  # F increases on (0, c) and decreases on (c, ∞)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore"):  # mid == c gives F = +inf, which compares fine
            value = _time_function_depth3(xp.exp(mid), s_m, c_m, xp)
        # Reaching mid takes longer than t: the answer lies on the a0 side of mid.
        past = value >= target
        go_low = past == increasing
        hi = xp.where(go_low, mid, hi)
        lo = xp.where(go_low, lo, mid)
    u = xp.exp(1.5 * (lo + hi))  # a³ at the bracket's midpoint
    return xp.where(moving, u, u0)


def _integrate(s, u0, t, depth, tau):
    """Integrate the mode ODE for each element to its own end time (SciPy, CPU)."""
    from scipy.integrate import solve_ivp

    s_n, u0_n, t_n = (np.ravel(backend.to_numpy(v)) for v in (s, u0, t))
    if s_n.size == 0:
        return u0_n
    exponent = 2.0 - 2.0 / depth

    # Each element runs on its own clock: θ ∈ [0, 1] maps to real time θ·t_i.
    def rhs(_theta, u):
        u = np.maximum(u, 0.0)
        return t_n * depth * u**exponent * (s_n - u) / tau

    sol = solve_ivp(rhs, (0.0, 1.0), u0_n, method="LSODA", rtol=1e-11, atol=1e-14)
    if not sol.success:  # pragma: no cover - LSODA handles these smooth scalar ODEs
        raise np.linalg.LinAlgError(f"mode ODE integration failed: {sol.message}")
    return sol.y[:, -1]


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
    u : ndarray
        Broadcast shape of ``s``, ``u0`` and ``t``.

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
    Saxe, McClelland & Ganguli (2014), Eq. (6) and Section 3; papers.md, section 1.

    Examples
    --------
    >>> import numpy as np
    >>> u = mode_strength(np.array([4.0, 2.0, 1.0]), 1e-3, 2.0, depth=2)
    >>> np.round(u, 3)  # the largest mode is learned first
    array([3.998, 1.197, 0.052])
    """
    xp = backend.array_namespace(s, u0, t)
    depth = check_integer("depth", depth, minimum=1)
    tau = check_positive("tau", tau)
    s = _as_nonnegative("s", s, xp)
    u0 = _as_nonnegative("u0", u0, xp)
    t = _as_nonnegative("t", t, xp)
    s, u0, t = xp.broadcast_arrays(s, u0, t)
    if depth == 1:
        return s + (u0 - s) * xp.exp(-t / tau)
    null = null_mode_strength(u0, t, depth, tau)
    if depth == 2:
        safe_u0 = xp.where(u0 > 0, u0, 1.0)
        safe_s = xp.where(s > 0, s, 1.0)
        u = safe_s / (1.0 + (safe_s / safe_u0 - 1.0) * xp.exp(-2.0 * safe_s * t / tau))
        u = xp.where(u0 > 0, u, 0.0)
    elif depth == 3:
        u = _depth3_strength(s, u0, t, tau, xp)
    else:
        u = backend.asarray(_integrate(s, u0, t, depth, tau), like=s).reshape(s.shape)
    return xp.where(s > 0, u, null)


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
    t : ndarray
        Broadcast shape of the inputs.

    Raises
    ------
    ValueError
        If ``u1`` is not reachable from ``u0`` in finite time.

    Notes
    -----
    .. math:: t = \tau \int_{u_0}^{u_1} \frac{du}{L\, u^{2-2/L} (s - u)}

    Depth 2: :math:`t = \frac{\tau}{2s}\ln\frac{u_1 (s - u_0)}{u_0 (s - u_1)}`; depth 3:
    :math:`t = \tau [F(a_1) - F(a_0)]`; other depths by adaptive quadrature (SciPy, CPU).

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eq. (6); papers.md, section 1.

    Examples
    --------
    >>> round(float(mode_time(2.0, 0.01, 1.0, depth=2)), 6)
    1.323326
    """
    xp = backend.array_namespace(s, u0, u1)
    depth = check_integer("depth", depth, minimum=1)
    tau = check_positive("tau", tau)
    s = _as_nonnegative("s", s, xp)
    u0 = _as_nonnegative("u0", u0, xp)
    u1 = _as_nonnegative("u1", u1, xp)
    s, u0, u1 = xp.broadcast_arrays(s, u0, u1)
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
    moving = ~at_target
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
        f1 = _time_function_depth3(xp.cbrt(uu1), ss, c, xp)
        t = tau * (f1 - _time_function_depth3(xp.cbrt(uu0), ss, c, xp))
    else:
        t = backend.asarray(_quadrature_time(ss, uu0, uu1, depth, tau), like=ss).reshape(ss.shape)
    t = xp.where(s > 0, t, t_null)
    return xp.where(moving, t, 0.0)


def _quadrature_time(s, u0, u1, depth, tau):
    from scipy.integrate import quad

    exponent = 2.0 - 2.0 / depth
    s_n, u0_n, u1_n = (np.ravel(backend.to_numpy(v)) for v in (s, u0, u1))
    out = np.empty_like(s_n)
    for i in range(s_n.size):  # scalar quadratures; one per mode
        # Integrate in log u so that tiny starting strengths stay well resolved.
        value, _ = quad(
            lambda x, si=s_n[i]: np.exp(x) / (depth * np.exp(x) ** exponent * (si - np.exp(x))),
            np.log(u0_n[i]),
            np.log(u1_n[i]),
            limit=200,
            epsabs=0.0,
            epsrel=1e-11,
        )
        out[i] = tau * value
    return out


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
    t : ndarray

    Notes
    -----
    .. math:: t_{\text{learn}} = \text{mode\_time}(s, u_0, f s)

    At depth 3 with :math:`u_0 = a_0^3` small this is
    :math:`\tau/(s a_0) + O(\tau s^{-4/3})`: learning times scale like :math:`1/s`
    and like the inverse init scale (:func:`learning_time_asymptotic`).

    References
    ----------
    Saxe, McClelland & Ganguli (2014); papers.md, section 1.

    Examples
    --------
    >>> import numpy as np
    >>> t = learning_time(np.array([4.0, 2.0, 1.0]), 1e-6, depth=3)
    >>> np.round(t[1:] / t[:-1], 2)
    array([2., 2.])
    """
    from refimpl.validation import check_in_interval

    fraction = check_in_interval("fraction", fraction, 0.0, 1.0, closed="neither")
    xp = backend.array_namespace(s, u0)
    s = _as_nonnegative("s", s, xp)
    u0 = _as_nonnegative("u0", u0, xp)
    if bool(xp.any(s <= 0)):
        raise ValueError(f"s: expected values > 0 for a learning time, received {s!r}")
    if bool(xp.any(u0 <= 0)) or bool(xp.any(u0 >= fraction * s)):
        raise ValueError(
            f"u0, fraction: expected 0 < u0 < fraction·s (the mode must start below "
            f"fraction={fraction} of its target), received u0={backend.to_numpy(u0)!r}, "
            f"s={backend.to_numpy(s)!r}"
        )
    return mode_time(s, u0, fraction * s, depth, tau)


def learning_order(s):
    """Order in which modes are learned: indices by decreasing target singular value.

    Parameters
    ----------
    s : array_like, shape (k,)
        Target singular values (ties keep their input order).

    Returns
    -------
    order : ndarray of int, shape (k,)

    Notes
    -----
    Every learning time in :func:`learning_time` decreases in ``s`` at fixed ``u0``,
    so the predicted order is by decreasing ``s``.

    References
    ----------
    Saxe, McClelland & Ganguli (2014).

    Examples
    --------
    >>> learning_order([1.0, 3.0, 2.0])
    array([1, 2, 0])
    """
    xp = backend.array_namespace(s)
    s = xp.asarray(s, dtype=xp.float64)
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
    t : ndarray

    Notes
    -----
    For :math:`L \ge 3` the growth phase :math:`\tau \dot a \approx s a^{L-1}` blows up
    at

    .. math:: t \approx \frac{\tau}{(L-2)\, s\, a_0^{L-2}},

    i.e. :math:`\tau/(s a_0)` at depth 3: it depends on the init scale itself, not on
    its logarithm. Depth 2 gives :math:`\frac{\tau}{2s}\ln(s/a_0^2)`.

    References
    ----------
    Saxe, McClelland & Ganguli (2014); papers.md, section 1.

    Examples
    --------
    >>> float(learning_time_asymptotic(2.0, 0.01, depth=3))
    50.0
    """
    xp = backend.array_namespace(s, a0)
    depth = check_integer("depth", depth, minimum=2)
    tau = check_positive("tau", tau)
    s = _as_nonnegative("s", s, xp)
    a0 = _as_nonnegative("a0", a0, xp)
    if bool(xp.any(s <= 0)) or bool(xp.any(a0 <= 0)):
        raise ValueError("s, a0: expected values > 0 for a learning time")
    if depth == 2:
        return tau / (2.0 * s) * xp.log(s / a0**2)
    return tau / ((depth - 2) * s * a0 ** (depth - 2))


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
    >>> np.round(sv[1], 4).tolist()  # mode learned; the null mode decayed from 1e-3 to ~0
    [1.999, 0.001]
    """
    xp = backend.array_namespace(s, t)
    s = _as_nonnegative("s", s, xp)
    if s.ndim != 1:
        raise ValueError(f"s: expected a 1-d array, received shape {s.shape}")
    scale = check_positive("scale", scale)
    depth = check_integer("depth", depth, minimum=1)
    n_modes = s.shape[0] if n_modes is None else check_integer("n_modes", n_modes, s.shape[0])
    s_all = xp.concatenate([s, xp.zeros(n_modes - s.shape[0], dtype=s.dtype)])
    t = _as_nonnegative("t", t, xp)
    u0 = scale**depth
    u = mode_strength(s_all[None, :], u0, t[:, None], depth, tau)  # (R, n_modes)
    sv = xp.abs(u - u0)
    return -xp.sort(-sv, axis=1)
