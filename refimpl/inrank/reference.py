r"""Reference solvers for the mode ODE: SciPy's LSODA integration and quadrature.

The closed forms of :mod:`refimpl.inrank.dynamics` cover depths 1–3; other depths,
and the tests of the closed forms, use these numerical references: an integration of

.. math:: \tau \dot u = L\, u^{2 - 2/L} (s - u)

(:func:`integrate_mode_ode`) and a quadrature of its inverse rate
(:func:`quadrature_mode_time`). Both run on the CPU.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.reference import quadrature_mode_time
>>> round(float(quadrature_mode_time(np.array([2.0]), np.array([0.01]), np.array([1.0]), 2)[0]), 6)
1.323326
"""

from __future__ import annotations

import numpy as np

from refimpl import backend

__all__ = ["integrate_mode_ode", "quadrature_mode_time"]


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
