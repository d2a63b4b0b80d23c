r"""The depth-3 closed form: the time function ``F(a)`` of a mode and its inversion.

At depth 3 the per-layer mode ODE :math:`\tau \dot a = a^2 (s - a^3)` separates, and
partial fractions give an explicit antiderivative ``F`` of ``1 / (a² (s − a³))``, so
the time from ``a0`` to ``a`` is ``τ [F(a) − F(a0)]``. The strength at a given time is
found by inverting ``F`` with a bisection in ``log a``. The derivation of ``F`` is in
``docs/derivations/inrank.md``, section 2 (it is not printed in the papers; the test
suite checks it against quadrature and ODE integration).

Examples
--------
>>> from refimpl.inrank.depth3 import time_function_depth3
>>> a, s, h = 0.5, 2.0, 1e-6
>>> dF = (time_function_depth3(a + h, s) - time_function_depth3(a - h, s)) / (2 * h)
>>> bool(abs(dF * a**2 * (s - a**3) - 1) < 1e-8)
True
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.ode import as_mode_values, finite_or_overflow, python_scalar
from refimpl.validation import check_array_type

__all__ = ["time_function_depth3", "time_function_depth3_unchecked", "depth3_strength"]

# Bisection in log a: the bracket [log a0, log c] is at most ~1500 wide (float64 range),
# and 64 halvings shrink it to ≤ 1500·2**-64 ≈ 8e-17 in log a, i.e. relative resolution
# in a at the float64 rounding level.
BISECTION_STEPS = 64


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
               - 2\sqrt{3}\,\arctan\!\big(\tfrac{2a + c}{\sqrt{3}\,c}\big)}{6 s^{4/3}}.

    Derived in ``docs/derivations/inrank.md``, section 2.

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
    for name, x in (("a", a), ("s", s)):
        check_array_type(name, x)
    xp = backend.array_namespace(a, s)
    a = as_mode_values("a", a, xp)
    s = as_mode_values("s", s, xp)
    if bool(xp.any(a <= 0)) or bool(xp.any(s <= 0)):
        raise ValueError(
            f"a, s: expected values > 0, received a={backend.to_numpy(a)!r}, "
            f"s={backend.to_numpy(s)!r}"
        )
    c = xp.cbrt(s)
    if bool(xp.any(a == c)):
        raise ValueError(f"a: expected a != s**(1/3) (F is infinite there), received {a!r}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        value = time_function_depth3_unchecked(a, s, c, xp)
    return python_scalar(finite_or_overflow(value, "a, s"))


def time_function_depth3_unchecked(a, s, c, xp):
    """:func:`time_function_depth3` without validation (``a = c`` gives ``+inf``)."""
    sqrt3 = float(np.sqrt(3.0))
    bracket = (
        xp.log(a * a + a * c + c * c)
        - 2.0 * xp.log(xp.abs(c - a))
        - 2.0 * sqrt3 * xp.arctan((2.0 * a + c) / (sqrt3 * c))
    )
    return -1.0 / (s * a) + bracket / (6.0 * s ** (4.0 / 3.0))


def depth3_strength(s, u0, t, tau, xp):
    r"""Invert ``t/τ = F(a) − F(a0)`` by vectorized bisection in ``log a``.

    Parameters
    ----------
    s, u0, t : ndarray
        Broadcast, checked arrays (``s ≥ 0``, ``u0 ≥ 0``, ``t ≥ 0``).
    tau : float
    xp : module
        The array namespace.

    Returns
    -------
    u : ndarray
        ``a³`` at the bracket's midpoint; ``u0`` where the mode does not move.

    Notes
    -----
    ``F`` increases on ``(0, c)`` and decreases on ``(c, ∞)`` with :math:`c = s^{1/3}`,
    so the bracket between ``a0`` and ``c`` always holds the answer:

    .. math:: F(a(t)) = F(a_0) + t/\tau .

    References
    ----------
    Saxe, McClelland & Ganguli (2014); ``docs/derivations/inrank.md``, section 2.

    Examples
    --------
    >>> import numpy as np
    >>> float(depth3_strength(np.array(1.0), np.array(1.0), np.array(5.0), 1.0, np))
    1.0
    """
    a0 = xp.cbrt(u0)
    c = xp.cbrt(s)
    moving = (s > 0) & (u0 > 0) & (a0 != c) & (t > 0)
    # Placeholder values keep F finite where the mode does not move.
    s_m = xp.where(moving, s, 1.0)
    a0_m = xp.where(moving, a0, 0.5)
    c_m = xp.where(moving, c, 1.0)
    target = time_function_depth3_unchecked(a0_m, s_m, c_m, xp) + xp.where(moving, t, 0.0) / tau
    lo = xp.log(xp.minimum(a0_m, c_m))
    hi = xp.log(xp.maximum(a0_m, c_m))
    increasing = a0_m < c_m  # F increases on (0, c) and decreases on (c, ∞)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        value = time_function_depth3_unchecked(xp.exp(mid), s_m, c_m, xp)
        # Reaching mid takes longer than t: the answer lies on the a0 side of mid.
        past = value >= target
        go_low = past == increasing
        hi = xp.where(go_low, mid, hi)
        lo = xp.where(go_low, lo, mid)
    u = xp.exp(1.5 * (lo + hi))  # a³ at the bracket's midpoint
    return xp.where(moving, u, u0)
