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
    Each element runs on its own clock: :math:`\theta \in [0, 1]` maps to time
    :math:`\theta t_i`, so one call integrates

    .. math:: \frac{du_i}{d\theta} = t_i\, L\, u_i^{2-2/L}(s_i - u_i)/\tau .

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

    s_n, u0_n, t_n = (np.ravel(backend.to_numpy(v)) for v in (s, u0, t))
    if s_n.size == 0:
        return u0_n
    exponent = 2.0 - 2.0 / depth

    def rhs(_theta, u):
        u = np.maximum(u, 0.0)
        return t_n * depth * u**exponent * (s_n - u) / tau

    sol = solve_ivp(rhs, (0.0, 1.0), u0_n, method="LSODA", rtol=1e-11, atol=1e-14)
    if not sol.success:  # pragma: no cover - LSODA handles these smooth scalar ODEs
        raise np.linalg.LinAlgError(f"mode ODE integration failed: {sol.message}")
    return sol.y[:, -1]


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
