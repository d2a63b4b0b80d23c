r"""Fitting Matérn hyperparameters by maximizing the Vecchia log-likelihood.

The ordering, the sparsity pattern and the supernodes depend on the points only, so
they are computed once (:class:`VecchiaLikelihood`) and every evaluation of the
likelihood is one supernodal factorization and one sparse product. The noise level
enters as a nugget of every kernel block: the Vecchia approximation of the noisy
covariance ``Θ + σ² I`` (as the R packages GpGp and GPvecchia fit it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.optimize

from refimpl import (
    backend,
    vecchia,  # the public API, looked up at call time
)
from refimpl.validation import (
    as_float_array,
    check_in_interval,
    check_integer,
    check_nonnegative,
    check_options,
    check_positive,
)

from .factor import factor_supernodes
from .gp import log_likelihood_of_checked

__all__ = ["VecchiaLikelihood", "FitResult", "fit_hyperparameters"]

#: The options of L-BFGS-B that fit_hyperparameters passes on, each with its check:
#: iteration and evaluation limits are positive integers, tolerances lie in (0, 1].
_OPTIONS = {
    "maxiter": lambda name, value: check_integer(name, value, minimum=1),
    "maxfun": lambda name, value: check_integer(name, value, minimum=1),
    "ftol": lambda name, value: check_in_interval(name, value, 0.0, 1.0, closed="right"),
    "gtol": lambda name, value: check_in_interval(name, value, 0.0, 1.0, closed="right"),
}
_SPAN = 12.0  # the optimizer searches each log-parameter within ± this of its start


class VecchiaLikelihood:
    r"""The Vecchia log-likelihood of fixed data as a function of Matérn hyperparameters.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points.
    y : ndarray, shape (N,)
        Observations at ``points``, in their order.
    nu : float, optional
        Matérn smoothness ν > 0, held fixed (see :class:`~refimpl.vecchia.Matern`).
    rho, lam, p
        As in :func:`~refimpl.vecchia.kl_cholesky`; ``rho=inf``: the exact likelihood.
        The default p = 3 avoids the nearly empty columns of p = 1 on scattered points.

    Attributes
    ----------
    order : ndarray of int, shape (N,)
        The reverse maximin order, shared by all evaluations.
    groups : Supernodes
        The supernodes of the ρ-ball pattern, shared by all evaluations.

    Notes
    -----
    For hyperparameters :math:`(s^2, \ell, \sigma^2)` the factor L of
    :math:`\Theta_{s^2,\ell} + \sigma^2 I` is recomputed on the fixed pattern, and

    .. math::

        \log \tilde p(y) = -\tfrac12\|L^\top y\|^2 + \sum_i \log L_{ii}
        - \tfrac N2\log 2\pi,

    Vecchia's product of conditional densities; with ρ = ∞ it is the exact Gaussian
    log-likelihood.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021.
    .. [2] Guinness, "Gaussian process learning via Fisher scoring of Vecchia's
       approximation", Stat. Comput. 31, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(size=(50, 2))
    >>> like = VecchiaLikelihood(x, np.zeros(50), nu=1.5, rho=np.inf)
    >>> round(like(1.0, 0.2, 0.1) - like(1.0, 0.2, 0.2), 3) > 0  # zero data: less noise wins
    True
    """

    def __init__(self, points, y, nu=1.5, rho=3.0, lam=1.5, p=3):
        points = vecchia.check_points(points)
        y = backend.to_numpy(as_float_array("y", y, ndim=1))
        if y.shape[0] != points.shape[0]:
            raise ValueError(
                f"y: expected {points.shape[0]} values, one per row of points, received "
                f"{y.shape[0]}"
            )
        vecchia.Matern(nu, 1.0)  # validates nu
        self.nu = float(nu)
        self.order, lengths = vecchia.maximin_ordering(points, p=p)
        self.points = points[self.order]
        self.y = y[self.order]
        pattern = vecchia.ball_pattern(self.points, lengths, rho)
        self.groups = vecchia.supernodes(pattern, lengths, lam)

    def __call__(self, variance, length_scale, noise=0.0):
        r"""Log-likelihood at the given hyperparameters.

        Parameters
        ----------
        variance : float
            Marginal variance :math:`s^2` of the latent field.
        length_scale : float or ndarray, shape (d,)
            One length scale, or one per coordinate.
        noise : float, optional
            Noise variance :math:`\sigma^2` (a nugget on every block).

        Returns
        -------
        float
        """
        if np.ndim(length_scale) == 0 and not isinstance(length_scale, str):
            length_scale = check_positive("length_scale", length_scale)  # NumPy scalars too
        kernel = vecchia.Matern(self.nu, length_scale, variance)
        if kernel.dim is not None and kernel.dim != self.points.shape[1]:
            raise ValueError(
                f"length_scale: expected one length scale or {self.points.shape[1]} (one per "
                f"coordinate of points), received {kernel.dim}"
            )
        return self._evaluate(kernel, check_nonnegative("noise", noise))

    def _evaluate(self, kernel, noise):
        """The log-likelihood for a checked kernel and noise (the optimizer's inner loop)."""
        L = factor_supernodes(self.points, kernel, self.groups, noise)
        value = float(log_likelihood_of_checked(L, self.y))
        if not math.isfinite(value):
            raise np.linalg.LinAlgError("the log-likelihood is not finite; add noise")
        return value


@dataclasses.dataclass(frozen=True)
class FitResult:
    r"""Estimates of :func:`fit_hyperparameters`.

    Attributes
    ----------
    variance : float
    length_scale : float or ndarray, shape (d,)
    noise : float
    log_likelihood : float
        The Vecchia log-likelihood at the estimates.
    optimizer : scipy.optimize.OptimizeResult
        The optimizer's report (on the log-parameters, negative log-likelihood).

    Notes
    -----
    The estimates maximize the Vecchia log-likelihood,

    .. math::

        (\hat s^2, \hat\ell, \hat\sigma^2) = \operatorname{argmax}\,
        \log\tilde p(y \mid s^2, \ell, \sigma^2).

    References
    ----------
    .. [1] Guinness, "Gaussian process learning via Fisher scoring of Vecchia's
       approximation", Stat. Comput. 31, 2021.

    Examples
    --------
    >>> FitResult(1.0, 0.2, 0.1, -3.0, None).noise
    0.1
    """

    variance: float
    length_scale: float | np.ndarray
    noise: float
    log_likelihood: float
    optimizer: object


def _start(points, y, initial, anisotropic, fit_noise):
    d = points.shape[1]
    spread = float(np.var(y)) or 1.0
    if not math.isfinite(spread):
        raise ValueError("y: expected values whose variance is finite, received overflow")
    diameter = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0))) or 1.0
    start = {"variance": spread, "length_scale": 0.1 * diameter, "noise": 0.1 * spread}
    allowed = ("variance", "length_scale", "noise")
    for key, value in check_options("initial", initial, allowed).items():
        name = f"initial[{key!r}]"
        if key == "length_scale" and np.ndim(value) == 1:
            start[key] = backend.to_numpy(as_float_array(name, value, ndim=1))
            if not anisotropic or start[key].shape != (d,) or not np.all(start[key] > 0):
                raise ValueError(
                    f"{name}: expected {d} positive length scales with anisotropic=True (one "
                    f"float otherwise), received {value!r:.80} with anisotropic={anisotropic}"
                )
        else:
            start[key] = check_positive(name, value)
    scales = np.broadcast_to(np.asarray(start["length_scale"], float), (d if anisotropic else 1,))
    x0 = [math.log(start["variance"]), *np.log(scales)]
    return np.array(x0 + ([math.log(start["noise"])] if fit_noise else []))


def fit_hyperparameters(
    points,
    y,
    nu=1.5,
    rho=3.0,
    lam=1.5,
    p=3,
    noise=None,
    anisotropic=False,
    initial=None,
    options=None,
):
    r"""Maximum (Vecchia-)likelihood estimates of Matérn variance, length scale(s) and noise.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points.
    y : ndarray, shape (N,)
        Observations at ``points``, in their order (zero prior mean).
    nu : float, optional
        Matérn smoothness ν > 0, held fixed.
    rho, lam, p
        As in :func:`~refimpl.vecchia.kl_cholesky`; ``rho=inf`` gives the exact
        maximum-likelihood estimates.
    noise : float or None, optional
        None: the noise variance is estimated; a float: it is held at that value.
    anisotropic : bool, optional
        One length scale per coordinate instead of one for all.
    initial : dict, optional
        Starting values ``{"variance", "length_scale", "noise"}``; defaults are
        ``var(y)``, a tenth of the diameter of the points, and ``var(y) / 10``.
    options : dict, optional
        For ``scipy.optimize.minimize(method="L-BFGS-B")``: ``maxiter``, ``ftol``,
        ``gtol``, ``maxfun``.

    Returns
    -------
    FitResult
        The estimates, the log-likelihood there and the optimizer's report.

    Notes
    -----
    The parameters are optimized in logarithms,
    :math:`\vartheta = (\log s^2, \log\ell_1, \dots, \log\sigma^2)`, by L-BFGS-B with
    finite-difference gradients, within :math:`\pm 12` of the start (so each
    evaluation stays finite):

    .. math::

        \hat\vartheta = \operatorname{argmax}_\vartheta\ \log\tilde p(y \mid \vartheta),

    with :math:`\log\tilde p` from :class:`VecchiaLikelihood`; the ordering and the
    pattern are computed once. A factorization that fails during the search (a
    kernel block not positive definite) counts as a very low likelihood.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021.
    .. [2] Guinness, "Gaussian process learning via Fisher scoring of Vecchia's
       approximation", Stat. Comput. 31, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(size=(150, 2))
    >>> theta = Matern(1.5, 0.2)(x, x) + 0.01 * np.eye(150)
    >>> y = np.linalg.cholesky(theta) @ rng.standard_normal(150)
    >>> fit = fit_hyperparameters(x, y, rho=3.0, noise=0.01)
    >>> bool(0.1 < fit.length_scale < 0.4 and fit.optimizer.success)
    True
    """
    likelihood = VecchiaLikelihood(points, y, nu=nu, rho=rho, lam=lam, p=p)
    fit_noise = noise is None
    if not fit_noise:
        noise = check_nonnegative("noise", noise)
    if not isinstance(anisotropic, bool | np.bool_):
        raise ValueError(f"anisotropic: expected True or False, received {anisotropic!r}")
    settings = check_options("options", options, _OPTIONS)
    for key, check in _OPTIONS.items():
        if key in settings:
            settings[key] = check(f"options[{key!r}]", settings[key])
    x0 = _start(likelihood.points, likelihood.y, initial, anisotropic, fit_noise)
    d = likelihood.points.shape[1]
    k = d if anisotropic else 1

    def unpack(x):
        scales = np.exp(x[1 : 1 + k])
        return (
            math.exp(x[0]),
            scales if anisotropic else float(scales[0]),
            math.exp(x[-1]) if fit_noise else noise,
        )

    worst = [0.0]

    def objective(x):
        variance, length_scale, noise_value = unpack(x)
        try:
            kernel = vecchia.Matern(likelihood.nu, length_scale, variance)
            value = -likelihood._evaluate(kernel, noise_value)
        except (np.linalg.LinAlgError, ValueError):
            return worst[0] + 1e6  # a failed factorization: very unlikely, but finite
        worst[0] = max(worst[0], value)
        return value

    bounds = [(v - _SPAN, v + _SPAN) for v in x0]
    report = scipy.optimize.minimize(
        objective, x0, method="L-BFGS-B", bounds=bounds, options=settings
    )
    variance, length_scale, noise_value = unpack(report.x)
    if not all(np.all(np.isfinite(v)) for v in (variance, length_scale, noise_value, report.fun)):
        raise np.linalg.LinAlgError(
            "the fit left the range of finite values; rescale y or give initial values"
        )
    return FitResult(
        variance=variance,
        length_scale=length_scale,
        noise=float(noise_value),
        log_likelihood=float(-report.fun),
        optimizer=report,
    )
