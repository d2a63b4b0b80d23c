r"""The mode ODE of deep linear networks, its null-mode solution and its integration.

With whitened inputs and an aligned initialization, gradient flow on a depth-``L``
linear network decouples into scalar modes (Saxe, McClelland & Ganguli), one per
singular value ``s`` of the target, each with the same per-layer scalar ``a`` and
end-to-end strength ``u = a^L``:

.. math:: \tau \dot u = L\, u^{2 - 2/L} (s - u),\qquad \tau \dot a = a^{L-1}(s - a^L).

This module holds the right-hand side, the closed form of a null mode (``s = 0``) and
the input checks shared by
:mod:`refimpl.inrank.depth3`, :mod:`refimpl.inrank.learning_times` and
:mod:`refimpl.inrank.dynamics`. The derivation is in ``docs/derivations/inrank.md``,
sections 1 and 4.

Examples
--------
>>> from refimpl.inrank.ode import mode_ode_rhs
>>> float(mode_ode_rhs(1.0, 2.0, depth=3))
3.0
"""

from __future__ import annotations

import numbers

import numpy as np

from refimpl import backend, validation
from refimpl.validation import as_float_array, check_array_type, check_integer, check_positive

#: Deepest network the mode dynamics accept: the integrators take time linear in the
#: depth, and deeper linear networks are outside what the theory is used for.
MAX_DEPTH = 10_000

__all__ = [
    "as_mode_values",
    "broadcast",
    "finite_or_overflow",
    "python_scalar",
    "mode_ode_rhs",
    "null_mode_strength",
]


def as_mode_values(name, x, xp, positive=False):
    """``x`` as a finite float64 array of values ``≥ 0`` (``> 0`` if ``positive``).

    Bools, strings, complex numbers, NaN and inf raise ValueError naming ``name``;
    numbers, lists and NumPy or CuPy arrays pass.
    """
    check_array_type(name, x)
    kind = getattr(getattr(x, "dtype", None), "kind", "")
    if isinstance(x, list | tuple):
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = "O"  # ragged or mixed: as_float_array names the argument
    if isinstance(x, bool | np.bool_ | str) or kind == "b":
        raise ValueError(f"{name}: expected real numbers, received {x!r}")
    if isinstance(x, numbers.Number) and not isinstance(x, numbers.Real):
        raise ValueError(f"{name}: expected real numbers, received {x!r}")
    arr = as_float_array(name, x, like=xp.zeros(0))
    if arr.dtype != xp.float64:
        arr = arr.astype(xp.float64)
    bound = "> 0" if positive else ">= 0"
    if bool(xp.any(arr <= 0)) if positive else bool(xp.any(arr < 0)):
        raise ValueError(f"{name}: expected values {bound}, received {backend.to_numpy(arr)!r}")
    return arr


def broadcast(names, *arrays, xp):
    """``xp.broadcast_arrays`` with a ValueError naming the arguments on a shape mismatch."""
    try:
        return xp.broadcast_arrays(*arrays)
    except ValueError as exc:
        shapes = [a.shape for a in arrays]
        raise ValueError(f"{names}: expected shapes that broadcast, received {shapes}") from exc


def finite_or_overflow(value, names):
    """:func:`refimpl.validation.finite_or_overflow` with the remedy for mode dynamics."""
    return validation.finite_or_overflow(
        value,
        names,
        hint="rescale time or strengths (the closed forms hold for any consistent units)",
    )


def python_scalar(value):
    """A Python float for a 0-d result, the array itself otherwise."""
    return float(value) if getattr(value, "ndim", 0) == 0 else value


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
    for name, x in (("u", u), ("s", s)):
        check_array_type(name, x)
    xp = backend.array_namespace(u, s)
    depth = check_integer("depth", depth, minimum=1, maximum=MAX_DEPTH)
    tau = check_positive("tau", tau)
    u = as_mode_values("u", u, xp)
    s = as_mode_values("s", s, xp)
    with np.errstate(over="ignore", invalid="ignore"):
        rate = depth * u ** (2.0 - 2.0 / depth) * (s - u) / tau
    return python_scalar(finite_or_overflow(rate, "u, s, tau"))


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
    for name, x in (("u0", u0), ("t", t)):
        check_array_type(name, x)
    xp = backend.array_namespace(u0, t)
    depth = check_integer("depth", depth, minimum=1, maximum=MAX_DEPTH)
    tau = check_positive("tau", tau)
    u0 = as_mode_values("u0", u0, xp)
    t = as_mode_values("t", t, xp)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if depth == 1:
            return python_scalar(finite_or_overflow(u0 * xp.exp(-t / tau), "u0, t, tau"))
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
        u = xp.where(t > 0, a**depth, u0)  # exactly u0 at t = 0 (no cube-root round trip)
    return python_scalar(finite_or_overflow(u, "u0, t, tau"))
