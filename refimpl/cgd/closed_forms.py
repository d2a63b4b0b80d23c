r"""Closed-form iteration matrices and spectral radii on the scalar game f = αxy.

On a quadratic game every method except ACGD is a linear map of z = (x, y)
(OGDA of (z_k, z_{k−1})). For f = αxy with one step size η, writing
J = [[0, 1], [−1, 0]] (so ∇ = (αy, −αx) = αJz) and a = ηα:

* gda: M = I − aJ, ρ = √(1 + a²);
* altgda: M = [[1, −a], [a, 1 − a²]], ρ = 1 if |a| ≤ 2, else
  (|t| + √(t² − 4))/2 with t = 2 − a² (det M = 1);
* extragradient and lcgd: M = (1 − a²)I − aJ, ρ = √(1 − a² + a⁴);
* sga and conopt: M = (1 − ηγα²)I − aJ, ρ = √((1 − ηγα²)² + a²);
* cgd: M = (I + aJ)⁻¹, ρ = 1/√(1 + a²);
* ogda: M = [[I − 2aJ, aJ], [I, 0]] acting on (z_k, z_{k−1}),
  ρ = max |(1 − 2ia ± √(1 − 4a²))/2|.

The derivations are in ``docs/derivations/cgd.md``. The radii are evaluated without
overflow where they are representable (√(1 + a²) as hypot(1, a)); where a value
exceeds the float range, a ``ValueError`` names the arguments.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4 and Figure 2.
"""

from __future__ import annotations

import math

import numpy as np

from refimpl import validation
from refimpl.validation import as_float_array, check_choice, check_nonnegative, check_positive

__all__ = ["LINEAR_METHODS", "iteration_matrix", "spectral_radius"]

LINEAR_METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd")


def check_linear_method_arguments(method, alpha, eta, gamma):
    """(alpha, eta, gamma) as floats, checked; gamma None becomes 1.0."""
    check_choice("method", method, LINEAR_METHODS)
    if isinstance(alpha, bool | np.bool_):
        raise ValueError(f"alpha: expected a real number, received {alpha!r}")
    alpha = float(as_float_array("alpha", alpha, ndim=0))
    eta = check_positive("eta", eta)
    gamma = 1.0 if gamma is None else check_nonnegative("gamma", gamma)
    return alpha, eta, gamma


def _representable(value, what):
    return validation.finite_or_overflow(
        value,
        "alpha, eta, gamma",
        hint="use a smaller eta * alpha",
        message=f"{what} exceeds the float range for these values",
    )


def iteration_matrix(method, alpha, eta, gamma=None):
    r"""Iteration matrix of a method on f = αxy, acting on z = (x, y).

    Parameters
    ----------
    method : str
        A name from :data:`LINEAR_METHODS` (ACGD is nonlinear and excluded).
    alpha : float
        The coupling α of f = αxy.
    eta : float
        Step size of both players, > 0.
    gamma : float, optional
        SGA/ConOpt parameter, >= 0 (default 1.0, as in :func:`refimpl.cgd.run`).

    Returns
    -------
    ndarray, shape (2, 2), or (4, 4) for OGDA acting on (x_k, y_k, x_{k−1}, y_{k−1})
        M with z_{k+1} = M z_k.

    Notes
    -----
    With a = ηα and J = [[0, 1], [−1, 0]], CGD's matrix is

    .. math::

        M = (I + aJ)^{-1} = \frac{1}{1 + a^2}\begin{pmatrix} 1 & -a \\ a & 1 \end{pmatrix};

    the other methods' matrices are listed in the module docstring [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> iteration_matrix("cgd", alpha=1.0, eta=1.0)
    array([[ 0.5, -0.5],
           [ 0.5,  0.5]])
    """
    alpha, eta, gamma = check_linear_method_arguments(method, alpha, eta, gamma)
    with np.errstate(over="ignore", invalid="ignore"):
        a = eta * alpha
        J = np.array([[0.0, 1.0], [-1.0, 0.0]])
        I = np.eye(2)
        if method == "gda":
            M = I - a * J
        elif method == "altgda":
            M = np.array([[1.0, -a], [a, 1.0 - a * a]])
        elif method in ("extragradient", "lcgd"):
            M = (1.0 - a * a) * I - a * J
        elif method in ("sga", "conopt"):
            M = (1.0 - eta * gamma * alpha**2) * I - a * J
        elif method == "cgd":  # 1/(1 + a²) and a/(1 + a²) without squaring a huge a
            r = 1.0 / a if abs(a) > 1.0 else a
            diagonal = r * r / (1.0 + r * r) if abs(a) > 1.0 else 1.0 / (1.0 + a * a)
            off = r / (1.0 + r * r)
            M = np.array([[diagonal, -off], [off, diagonal]])
        else:  # ogda
            M = np.block([[I - 2 * a * J, a * J], [I, np.zeros((2, 2))]])
    return _representable(M, f"the {method} iteration matrix")


def spectral_radius(method, alpha, eta, gamma=None):
    r"""Spectral radius of a method's iteration matrix on f = αxy, in closed form.

    Parameters
    ----------
    method : str
        A name from :data:`LINEAR_METHODS`.
    alpha : float
        The coupling α.
    eta : float
        Step size, > 0.
    gamma : float, optional
        SGA/ConOpt parameter, >= 0 (default 1.0).

    Returns
    -------
    float
        ρ, the rate at which ‖z_k‖ grows (> 1) or shrinks (< 1) per step.

    Notes
    -----
    For CGD and GDA, whose matrices are scaled rotations,

    .. math::

        \rho_{\mathrm{cgd}} = \frac{1}{\sqrt{1 + \eta^2\alpha^2}}, \qquad
        \rho_{\mathrm{gda}} = \sqrt{1 + \eta^2\alpha^2};

    the other formulas are in the module docstring and derived in
    ``docs/derivations/cgd.md`` [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> round(spectral_radius("gda", 3.0, 0.2), 6), round(spectral_radius("cgd", 3.0, 0.2), 6)
    (1.16619, 0.857493)
    """
    alpha, eta, gamma = check_linear_method_arguments(method, alpha, eta, gamma)
    with np.errstate(over="ignore", invalid="ignore"):
        a = eta * alpha
        a2 = a * a
        if method == "gda":
            rho = math.hypot(1.0, a)
        elif method == "cgd":
            rho = 1.0 / math.hypot(1.0, a)
        elif method in ("extragradient", "lcgd"):  # √(1 − a² + a⁴) = a²√(1 − u + u²), u = 1/a²
            u = 1.0 / a2 if a2 > 1.0 else 0.0
            rho = a2 * math.sqrt(1.0 - u + u * u) if a2 > 1.0 else math.sqrt(1.0 - a2 + a2 * a2)
        elif method in ("sga", "conopt"):
            rho = math.hypot(1.0 - eta * gamma * alpha * alpha, a)
        elif method == "altgda":
            trace = 2.0 - a2
            rho = 1.0 if abs(trace) <= 2 else abs(trace) / 2 * (1 + math.sqrt(1 - 4 / trace**2))
        else:  # ogda
            root = np.sqrt(complex(1.0 - 4.0 * a2))
            rho = max(abs((1 - 2j * a + root) / 2), abs((1 - 2j * a - root) / 2))
    return float(_representable(rho, f"the {method} spectral radius"))
