r"""Mode dynamics of deep linear networks (Saxe, McClelland & Ganguli): one module, one idea.

With whitened inputs (``X Xᵀ / n_samples = I``), loss ``½‖W_L⋯W_1 − T‖²_F`` and an
"aligned" initialization (every layer diagonal in a chain of orthogonal frames),
gradient flow decouples into independent *modes*, one per singular value ``s`` of the
target ``T = U diag(s) Vᵀ``. Each layer carries the same scalar ``a`` for a mode, and the
end-to-end *mode strength* is ``u = a**L`` with ``L = depth`` the number of weight
matrices (the three-layer network ``W3 W2 W1`` has depth 3). In continuous time,

    τ u̇ = L u^{2 − 2/L} (s − u),        equivalently        τ ȧ = a^{L−1} (s − a^L),

where ``τ = 1/η`` for gradient descent with learning rate ``η`` and time ``t`` counted
in steps (or ``τ = 1`` and ``t = η · step``). A mode starts at ``u ≥ 0`` and moves
monotonically toward ``s ≥ 0``, reaching it only asymptotically.

Read it in this order:

* the ODE :func:`mode_ode_rhs`, and the closed form of a null mode (``s = 0``),
  :func:`null_mode_strength`;
* the strength :func:`mode_strength` and the time between two strengths
  :func:`mode_time`: for a learning mode at depths 1–3 these are the closed forms of the
  readable core :mod:`refimpl.inrank.core` (depth 3 through the time function
  :func:`time_function_depth3`), at other depths the numerical references below;
* what follows from them: :func:`learning_time`, :func:`learning_order`,
  :func:`learning_time_asymptotic`, and the spectrum of ``W(t) − W(0)``,
  :func:`aligned_update_singular_values`;
* the numerical references, on the CPU: LSODA integration (:func:`integrate_mode_ode`)
  and adaptive quadrature (:func:`quadrature_mode_time`); the tests hold the closed
  forms to them.

Every public function checks its arguments with the one prologue ``_arguments`` (finite
real values ``≥ 0`` that broadcast, ``depth`` and ``tau``), computes, and checks the
result once at the end (ValueError naming the inputs if it overflows). It returns a
Python float for scalar inputs and an array of the broadcast shape otherwise. The
derivations are in ``docs/derivations/inrank.md``, sections 1–4.

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

import numbers

import numpy as np

from refimpl import backend
from refimpl.inrank import core
from refimpl.validation import (
    as_float_array,
    check_array_size,
    check_array_type,
    check_in_interval,
    check_integer,
    check_positive,
    finite_or_overflow,
)

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

#: Deepest network the mode dynamics accept: the integrators take time linear in the
#: depth, and deeper linear networks are outside what the theory is used for.
MAX_DEPTH = 10_000

_OVERFLOW_HINT = "rescale time or strengths (the closed forms hold for any consistent units)"

# Every closed form and reference below evaluates where a masked-out entry may divide by
# zero or overflow; those entries are replaced, and the result is checked once at the end.
_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}


# ---------------------------------------------------------------- the contract


_UNUSED = object()  # marks a depth or tau that the function does not take


def _arguments(values, depth=_UNUSED, tau=_UNUSED, positive=(), min_depth=1, broadcast=True):
    """The one input prologue of the mode-dynamics functions.

    ``values`` maps argument names to values (strengths, singular values, times): each
    must be real numbers, finite and ``≥ 0`` (``> 0`` for the names in ``positive``), given
    as numbers, lists or NumPy or CuPy arrays of one backend; bools, strings, complex
    numbers, NaN and inf raise ValueError naming the argument. ``depth`` (an integer in
    ``[min_depth, MAX_DEPTH]``) and ``tau`` (``> 0``) are checked unless left out. Returns
    ``xp, arrays, depth, tau`` with the arrays as float64 and, if ``broadcast``, broadcast
    together (a ValueError naming them all otherwise).
    """
    for name, x in values.items():
        check_array_type(name, x)
    xp = backend.array_namespace(*values.values())
    if depth is not _UNUSED:
        depth = check_integer("depth", depth, minimum=min_depth, maximum=MAX_DEPTH)
    if tau is not _UNUSED:
        tau = check_positive("tau", tau)
    arrays = []
    for name, x in values.items():
        kind = getattr(getattr(x, "dtype", None), "kind", "")
        if isinstance(x, list | tuple):
            try:
                kind = np.asarray(x).dtype.kind
            except (TypeError, ValueError):
                kind = "O"  # ragged or mixed: as_float_array names the argument
        if (
            isinstance(x, bool | np.bool_ | str)
            or kind == "b"
            or (isinstance(x, numbers.Number) and not isinstance(x, numbers.Real))
        ):
            raise ValueError(f"{name}: expected real numbers, received {x!r}")
        arr = as_float_array(name, x, like=xp.zeros(0))  # finite, or ValueError
        if arr.dtype != xp.float64:
            arr = arr.astype(xp.float64)
        below = arr <= 0 if name in positive else arr < 0
        if bool(xp.any(below)):
            bound = "> 0" if name in positive else ">= 0"
            raise ValueError(f"{name}: expected values {bound}, received {backend.to_numpy(arr)!r}")
        arrays.append(arr)
    if broadcast:
        try:
            arrays = xp.broadcast_arrays(*arrays)
        except ValueError as exc:
            shapes = [a.shape for a in arrays]
            names = ", ".join(values)
            raise ValueError(f"{names}: expected shapes that broadcast, received {shapes}") from exc
    return xp, list(arrays), depth, tau


def _result(value, names):
    """``value`` checked once (ValueError naming ``names`` if not finite); a float if 0-d."""
    value = finite_or_overflow(value, names, hint=_OVERFLOW_HINT)
    return float(value) if getattr(value, "ndim", 0) == 0 else value


# ---------------------------------------------------------------- the ODE and null modes


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
    dudt : float or ndarray
        ``L u^{2 − 2/L} (s − u) / τ``: a float for scalar inputs, else an array of the
        broadcast shape.

    Notes
    -----
    .. math:: \tau \dot u = L\, u^{2 - 2/L} (s - u)

    References
    ----------
    A. M. Saxe, J. L. McClelland, S. Ganguli, "Exact solutions to the nonlinear dynamics
    of learning in deep linear neural networks", ICLR 2014, Section 3.

    Examples
    --------
    >>> float(mode_ode_rhs(1.0, 2.0, depth=3))
    3.0
    """
    _, (u, s), depth, tau = _arguments({"u": u, "s": s}, depth, tau)
    with np.errstate(**_QUIET):
        rate = depth * u ** (2.0 - 2.0 / depth) * (s - u) / tau
    return _result(rate, "u, s, tau")


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
    u : float or ndarray
        ``u(t)`` (a float for scalar inputs); the per-layer scalar is ``a = u^{1/L}``.

    Notes
    -----
    With ``s = 0`` the per-layer ODE is :math:`\tau \dot a = -a^{2L-1}`, so for
    :math:`L \ge 2`

    .. math:: a(t) = \big(a_0^{-(2L-2)} + (2L-2)\, t/\tau\big)^{-1/(2L-2)},

    which at depth 3 is :math:`a(t) = (a_0^{-4} + 4t/\tau)^{-1/4}`. Depth 1 decays
    exponentially, :math:`u = u_0 e^{-t/\tau}`. Derivation:
    ``docs/derivations/inrank.md``, section 4.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Section 3.

    Examples
    --------
    >>> a = float(null_mode_strength(0.5**3, 2.0, depth=3)) ** (1 / 3)
    >>> round(a, 10) == round((0.5**-4 + 8.0) ** -0.25, 10)
    True
    """
    xp, (u0, t), depth, tau = _arguments({"u0": u0, "t": t}, depth, tau)
    with np.errstate(**_QUIET):
        u = _null_strength(u0, t, depth, tau, xp)
    return _result(u, "u0, t, tau")


def _null_strength(u0, t, depth, tau, xp):
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
        a_lo * (1.0 + p * (t / tau) * a_lo**p) ** (-1.0 / p),
        (a_hi**-p + p * (t / tau)) ** (-1.0 / p),
    )
    return xp.where(t > 0, a**depth, u0)  # exactly u0 at t = 0 (no root round trip)


# ---------------------------------------------------------------- strength and time


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
    (:func:`time_function_depth3`); these are :func:`refimpl.inrank.core.mode_strength`.
    Other depths integrate the ODE with SciPy's LSODA (on the CPU; results are returned
    on the input's backend), null modes follow :func:`null_mode_strength`.

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
    xp, (s, u0, t), depth, tau = _arguments({"s": s, "u0": u0, "t": t}, depth, tau)
    with np.errstate(**_QUIET):
        u = _strength(s, u0, t, depth, tau, xp)
    return _result(u, "s, u0, t, tau")


def _strength(s, u0, t, depth, tau, xp):
    # The closed forms are for a learning mode (s > 0) that moves: at depth ≥ 2 a mode at
    # u0 = 0 stays there, and depth 3 also keeps a mode at t = 0 or at its target as the
    # root a = u^{1/3} sees it (F(a0) would be infinite). The others get harmless values
    # here and are replaced at the end; null modes decay in closed form.
    moving = (s > 0) & ((u0 > 0) | (depth == 1))
    if depth == 3:
        moving = moving & (t > 0) & (xp.cbrt(u0) != xp.cbrt(s))
    s_m, u0_m, t_m = xp.where(moving, s, 1.0), xp.where(moving, u0, 0.125), xp.where(moving, t, 0.0)
    if depth <= 3:
        u = core.mode_strength(s_m, u0_m, t_m, depth, tau)
    else:
        u = backend.asarray(integrate_mode_ode(s_m, u0_m, t_m, depth, tau), like=s)
        u = u.reshape(s.shape)
    return xp.where(moving, u, xp.where(s > 0, u0, _null_strength(u0, t, depth, tau, xp)))


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
    F : float or ndarray
        The antiderivative of ``1 / (a² (s − a³))``: a float for scalar inputs, else an
        array of the broadcast shape.

    Raises
    ------
    ValueError
        If ``a`` or ``s`` is not finite and positive, ``a = s^{1/3}`` (where
        ``F = +∞``: the fixed point is reached only asymptotically), or ``F``
        overflows float64.

    Notes
    -----
    Per layer the ODE is :math:`\tau \dot a = a^2 (s - a^3)`; with :math:`c = s^{1/3}`
    partial fractions give

    .. math::

        F(a) = -\frac{1}{s a} + \frac{\ln(a^2 + a c + c^2) - 2 \ln|c - a|
               - 2\sqrt{3}\,\arctan\!\big(\tfrac{2a + c}{\sqrt{3}\,c}\big)}{6 s^{4/3}},

    :func:`refimpl.inrank.core.time_function_depth3`. Derived in
    ``docs/derivations/inrank.md``, section 2 (it is not printed in the papers).

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014 (the mode ODE); Zhao et al., "InRank:
    Incremental Low-Rank Learning", TMLR 2024, Section 3.

    Examples
    --------
    >>> import numpy as np
    >>> a, s, h = 0.5, 2.0, 1e-6
    >>> dF = (time_function_depth3(a + h, s) - time_function_depth3(a - h, s)) / (2 * h)
    >>> bool(np.isclose(dF, 1 / (a**2 * (s - a**3))))
    True
    """
    xp, (a, s), _, _ = _arguments({"a": a, "s": s}, positive=("a", "s"))
    if bool(xp.any(a == xp.cbrt(s))):
        raise ValueError(f"a: expected a != s**(1/3) (F is infinite there), received {a!r}")
    with np.errstate(**_QUIET):
        value = core.time_function_depth3(a, s)
    return _result(value, "a, s")


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
    :math:`t = \tau [F(a_1) - F(a_0)]` (:func:`refimpl.inrank.core.mode_time`); other
    depths by adaptive quadrature (SciPy, CPU); null modes by inverting
    :func:`null_mode_strength`.

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Eq. (6); ``docs/derivations/inrank.md``,
    section 3.

    Examples
    --------
    >>> round(mode_time(2.0, 0.01, 1.0, depth=2), 6)
    1.323326
    """
    names = {"s": s, "u0": u0, "u1": u1}
    xp, (s, u0, u1), depth, tau = _arguments(names, depth, tau, positive=("u0",))
    lo, hi = xp.minimum(u0, s), xp.maximum(u0, s)
    ok = xp.where(u0 == s, u1 == s, (u1 >= lo) & (u1 <= hi) & (u1 != s))
    if not bool(xp.all(ok & ((s > 0) | (u1 > 0)))):
        raise ValueError(
            "u1: expected a strength between u0 and s, excluding s (a mode approaches s "
            f"only asymptotically), received u1={backend.to_numpy(u1)!r} for "
            f"u0={backend.to_numpy(u0)!r}, s={backend.to_numpy(s)!r}"
        )
    with np.errstate(**_QUIET):
        t = _time(s, u0, u1, depth, tau, xp)
    return _result(t, "s, u0, u1, tau")


def _time(s, u0, u1, depth, tau, xp):
    # Learning modes (s > 0, not at the target) by the core's closed forms or quadrature,
    # the others given harmless values here and replaced below.
    learning = (s > 0) & (u0 != s)
    s_m, u0_m = xp.where(learning, s, 1.0), xp.where(learning, u0, 0.25)
    u1_m = xp.where(learning, u1, 0.5)
    if depth <= 3:
        t = core.mode_time(s_m, u0_m, u1_m, depth, tau)
    else:
        t = backend.asarray(quadrature_mode_time(s_m, u0_m, u1_m, depth, tau), like=s)
        t = t.reshape(s.shape)
    # Null modes: null_mode_strength solved for t.
    u1_null = xp.where(u1 > 0, u1, 1.0)  # u1 > 0 for every null mode (checked)
    if depth == 1:
        t_null = tau * xp.log(u0 / u1_null)
    else:
        p = 2.0 * depth - 2.0
        a0, a1 = u0 ** (1.0 / depth), u1_null ** (1.0 / depth)
        t_null = tau * (a1**-p - a0**-p) / p
    return xp.where(learning, t, xp.where(s > 0, 0.0, t_null))


# ---------------------------------------------------------------- learning times


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
    xp, (s, u0), depth, tau = _arguments({"s": s, "u0": u0}, depth, tau, positive=("s",))
    if bool(xp.any(u0 <= 0)) or bool(xp.any(u0 >= fraction * s)):
        raise ValueError(
            f"u0, fraction: expected 0 < u0 < fraction·s (the mode must start below "
            f"fraction={fraction} of its target), received u0={backend.to_numpy(u0)!r}, "
            f"s={backend.to_numpy(s)!r}"
        )
    with np.errstate(**_QUIET):
        t = _time(s, u0, fraction * s, depth, tau, xp)
    return _result(t, "s, u0, tau")


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
    xp, (s,), _, _ = _arguments({"s": s})
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
    values = {"s": s, "a0": a0}
    xp, (s, a0), depth, tau = _arguments(values, depth, tau, positive=("s", "a0"), min_depth=2)
    with np.errstate(**_QUIET):
        if depth == 2:
            t = tau / (2.0 * s) * xp.log(s / a0**2)
        else:
            t = tau / ((depth - 2) * s * a0 ** (depth - 2))
    return _result(t, "s, a0, tau")


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
    xp, (s, t), depth, tau = _arguments({"s": s, "t": t}, depth, tau, broadcast=False)
    if s.ndim != 1 or s.shape[0] == 0:
        raise ValueError(f"s: expected a non-empty 1-d array, received shape {s.shape}")
    if t.ndim != 1:
        raise ValueError(f"t: expected a 1-d array of times, received shape {t.shape}")
    scale = check_positive("scale", scale)
    n_modes = s.shape[0] if n_modes is None else check_integer("n_modes", n_modes, s.shape[0])
    check_array_size("n_modes", (t.shape[0], n_modes))
    with np.errstate(over="ignore", under="ignore"):
        u0 = float(np.float64(scale) ** depth)
    if not np.isfinite(u0):
        raise ValueError(f"scale: scale**depth overflows float64, received scale={scale}")
    s_all = xp.concatenate([s, xp.zeros(n_modes - s.shape[0], dtype=s.dtype)])
    modes = xp.broadcast_arrays(s_all[None, :], xp.asarray(u0), t[:, None])  # (R, n_modes)
    with np.errstate(**_QUIET):
        u = _strength(*modes, depth, tau, xp)
    return _result(-xp.sort(-xp.abs(u - u0), axis=1), "s, scale, t, tau")


# ---------------------------------------------------------------- numerical references


def integrate_mode_ode(s, u0, t, depth, tau=1.0):
    r"""Integrate the mode ODE for each element to its own end time (SciPy LSODA, CPU).

    Parameters
    ----------
    s, u0, t : ndarray, shape (k,)
        Target values, initial strengths and end times (checked by the caller).
    depth : int
    tau : float

    Returns
    -------
    u : ndarray, shape (k,)
        On the host, at relative tolerance 1e-11.

    Notes
    -----
    Each mode is rescaled by :math:`c = s` (or :math:`c = u_0` for a null mode) and
    integrated in :math:`w = \ln(u/c)`, which keeps tiny and huge strengths within
    float64 and the equation well scaled, in its own time :math:`T = t\,c^{2-2/L}/\tau`:

    .. math:: \frac{dw}{dT} = L\, e^{w(1 - 2/L)}\big(s/c - e^{w}\big).

    Each element runs on its own clock (:math:`\theta \in [0, 1]` maps to
    :math:`\theta T_i`). At depth :math:`L \ge 3` a learning mode is within
    :math:`10^{-17}` of its target after at most
    :math:`T_\text{done} = \frac{2 v_0^{-(1-2/L)}}{L(1-2/L)} + \frac{2^{2-2/L}}{L}\ln(5\cdot
    10^{16})` (splitting the time integral at :math:`v = 1/2`), so longer times are cut
    there: the answer is the same to rounding and the solver's work stays bounded.

    References
    ----------
    L. Petzold, "Automatic selection of methods for solving stiff and nonstiff systems
    of ordinary differential equations", SIAM J. Sci. Stat. Comput. 4 (1983) (LSODA).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(integrate_mode_ode(np.array([2.0]), np.array([2.0]), np.array([1.0]), 3)[0]), 9)
    2.0
    """
    from scipy.integrate import solve_ivp

    s_n, u0_n, t_n = (np.ravel(backend.to_numpy(v)).astype(float) for v in (s, u0, t))
    out = u0_n.copy()
    moving = (u0_n > 0) & (t_n > 0) & (u0_n != s_n)
    if not np.any(moving):
        return out
    s_m, u0_m, t_m = s_n[moving], u0_n[moving], t_n[moving]
    c = np.where(s_m > 0, s_m, u0_m)  # the scale of each mode
    target = s_m / c  # 1, or 0 for a null mode
    power = 1.0 - 2.0 / depth
    q = 2.0 - 2.0 / depth
    v0 = u0_m / c
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        clock = np.minimum(t_m / tau * c**q, 1e300)  # T_i
        if depth >= 3:
            # Past T_done a learning mode is within 1e-17 of s, i.e. converged to
            # rounding, so longer times change nothing; capping them bounds the work.
            rise = np.where(v0 < 0.5, 2.0 * v0 ** (-power) / (depth * power), 0.0)
            settle = 2.0**q / depth * np.log(0.5 / 1e-17)
            fall = np.log(np.maximum(v0 - 1.0, 1e-300) / 1e-17) / depth
            done = np.where(v0 < 1.0, rise + settle, np.maximum(fall, 0.0))
            clock = np.where(target > 0, np.minimum(clock, done + 1.0), clock)
        # Far above its target (v ≥ 1e12) a mode falls as v̇ = −L v^{3−2/L} up to a
        # relative 1e-12: that part in closed form keeps exp(w) finite and the solver fast.
        high = (v0 > 1e12) & (depth >= 2)  # (depth 1 is linear: nothing overflows)
        q_safe = max(q, 1.0)
        drop = (1e12**-q_safe - v0**-q_safe) / (depth * q_safe)  # time from v0 to 1e12
        early = high & (clock <= drop)
        v_early = (v0**-q_safe + depth * q_safe * clock) ** (-1.0 / q_safe)
    w0 = np.log(np.where(high, 1e12, v0))
    clock = np.where(high, np.maximum(clock - drop, 0.0), clock)

    def rhs(_theta, w):
        return clock * depth * np.exp(w * power) * (target - np.exp(w))

    sol = solve_ivp(rhs, (0.0, 1.0), w0, method="LSODA", rtol=1e-11, atol=1e-13)
    if not sol.success:  # pragma: no cover - LSODA handles these smooth scalar ODEs
        raise np.linalg.LinAlgError(f"mode ODE integration failed: {sol.message}")
    out[moving] = c * np.where(early, v_early, np.exp(sol.y[:, -1]))
    return out


def quadrature_mode_time(s, u0, u1, depth, tau=1.0):
    r"""Reference time from ``u0`` to ``u1`` by adaptive quadrature (SciPy, CPU).

    Parameters
    ----------
    s, u0, u1 : ndarray
        Checked target values and strengths (``u1`` between ``u0`` and ``s``).
    depth : int
    tau : float

    Returns
    -------
    t : ndarray
        Flattened, on the host; relative tolerance 1e-11.

    Notes
    -----
    Integrated in :math:`x = \ln u` so that tiny starting strengths stay resolved:

    .. math:: t = \tau\int_{\ln u_0}^{\ln u_1} \frac{e^x\,dx}{L e^{x(2-2/L)}(s - e^x)}

    References
    ----------
    R. Piessens et al., *QUADPACK*, Springer 1983 (``scipy.integrate.quad``).

    Examples
    --------
    >>> import numpy as np
    >>> t = quadrature_mode_time(np.array([2.0]), np.array([0.01]), np.array([1.0]), 2)
    >>> round(float(t[0]), 6)
    1.323326
    """
    from scipy.integrate import quad

    exponent = 2.0 - 2.0 / depth
    s_n, u0_n, u1_n = (np.ravel(backend.to_numpy(v)) for v in (s, u0, u1))
    out = np.empty_like(s_n)
    for i in range(s_n.size):  # scalar quadratures; one per mode
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
