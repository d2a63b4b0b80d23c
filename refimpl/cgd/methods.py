r"""The methods of :func:`refimpl.cgd.run`, each behind one step signature.

Every method is a function

.. math::

    (x_{k+1}, y_{k+1}, \text{memory}_{k+1}, \text{iterations}, \text{converged})
        = \text{step}(\text{game}, x_k, y_k, \eta_x, \eta_y, \text{memory}_k,
                      \text{options}),

where ``memory`` is what the method carries from one step to the next (None at the
start): OGDA's previous gradients, CGD's last inner solution, ACGD's
:class:`~refimpl.cgd.ACGDState`. ``options`` is the dictionary returned by
:func:`check_method_options`, which validates every option in one place and fills
in the defaults. ``iterations`` and ``converged`` describe the inner linear solve
(0 and True for methods without one).

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

from refimpl.cgd.adaptive import acgd_step
from refimpl.cgd.adjusted_gradients import conopt_step, sga_step
from refimpl.cgd.competitive import SOLVERS, cgd_step
from refimpl.cgd.gradient_methods import altgda_step, extragradient_step, gda_step, ogda_step
from refimpl.cgd.neumann import lcgd_step
from refimpl.validation import (
    check_choice,
    check_in_interval,
    check_integer,
    check_nonnegative,
    check_options,
    check_positive,
)

__all__ = ["METHODS", "OPTION_DEFAULTS", "STEPS", "check_method_options", "method_options"]

METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd", "acgd")

#: Every option of :func:`refimpl.cgd.run` besides the step sizes, with its default.
OPTION_DEFAULTS = {
    "gamma": 1.0,
    "solver": "auto",
    "tol": 1e-12,
    "maxiter": None,
    "restart": None,
    "warm_start": True,
    "beta": 0.99,
    "eps": 1e-5,
}

_KRYLOV = ("solver", "tol", "maxiter", "restart", "warm_start")
_ACCEPTED = {
    "gda": (),
    "altgda": (),
    "ogda": (),
    "extragradient": (),
    "lcgd": (),
    "conopt": ("gamma",),
    "sga": ("gamma",),
    "cgd": _KRYLOV,
    "acgd": (*_KRYLOV, "beta", "eps"),
}


def method_options(method):
    r"""The keyword options that :func:`refimpl.cgd.run` accepts for ``method``.

    Parameters
    ----------
    method : str
        A name from :data:`METHODS`.

    Returns
    -------
    frozenset of str
        The option names, besides ``eta_x`` and ``eta_y``.

    Notes
    -----
    CGD's options configure the inner solve of

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w = b.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> sorted(method_options("sga"))
    ['gamma']
    """
    check_choice("method", method, METHODS)
    return frozenset(_ACCEPTED[method])


def check_method_options(method, options):
    """Validate the options of ``method`` and return them with every default filled in.

    Unknown keys raise ``ValueError`` naming the key; every value is checked here.
    """
    check_choice("method", method, METHODS)
    for key in options:
        if key not in _ACCEPTED[method]:
            raise ValueError(
                f"options: method {method!r} does not accept the option {key!r}; it accepts "
                f"{sorted(_ACCEPTED[method])} besides eta_x and eta_y"
            )
    options = check_options("options", options, _ACCEPTED[method])
    full = {key: options.get(key, OPTION_DEFAULTS[key]) for key in _ACCEPTED[method]}
    if "gamma" in full:
        full["gamma"] = check_nonnegative("gamma", full["gamma"])
    if "solver" in full:
        check_choice("solver", full["solver"], SOLVERS)
        full["tol"] = check_positive("tol", full["tol"])
        for key in ("maxiter", "restart"):
            if full[key] is not None:
                full[key] = check_integer(key, full[key], minimum=1)
        if not isinstance(full["warm_start"], bool):
            raise ValueError(
                f"warm_start: expected True or False, received {type(full['warm_start']).__name__}"
            )
    if "beta" in full:
        full["beta"] = check_in_interval("beta", full["beta"], 0.0, 1.0, closed="left")
        full["eps"] = check_positive("eps", full["eps"])  # eps = 0 divides 0 by 0
    return full


def _plain(step_function):
    def step(game, x, y, eta_x, eta_y, memory, options):
        return (*step_function(game, x, y, eta_x, eta_y), None, 0, True)

    step.__doc__ = f"{step_function.__name__} behind the common step signature."
    return step


def _adjusted(step_function):
    def step(game, x, y, eta_x, eta_y, memory, options):
        return (*step_function(game, x, y, eta_x, eta_y, options["gamma"]), None, 0, True)

    step.__doc__ = f"{step_function.__name__} behind the common step signature."
    return step


def _ogda(game, x, y, eta_x, eta_y, memory, options):
    x, y, gradients = ogda_step(game, x, y, eta_x, eta_y, memory)
    return x, y, gradients, 0, True


def _krylov(options):
    return {key: options[key] for key in ("solver", "tol", "maxiter", "restart")}


def _cgd(game, x, y, eta_x, eta_y, memory, options):
    guess = memory if options["warm_start"] else None
    x, y, info = cgd_step(game, x, y, eta_x, eta_y, initial_guess=guess, **_krylov(options))
    return x, y, info.solution, info.iterations, info.converged


def _acgd(game, x, y, eta_x, eta_y, memory, options):
    x, y, state, info = acgd_step(
        game,
        x,
        y,
        eta_x,
        eta_y,
        memory,
        options["beta"],
        options["eps"],
        warm_start=options["warm_start"],
        **_krylov(options),
    )
    return x, y, state, info.iterations, info.converged


#: The step function of every method, all with the signature of the module docstring.
STEPS = {
    "gda": _plain(gda_step),
    "altgda": _plain(altgda_step),
    "ogda": _ogda,
    "extragradient": _plain(extragradient_step),
    "lcgd": _plain(lcgd_step),
    "sga": _adjusted(sga_step),
    "conopt": _adjusted(conopt_step),
    "cgd": _cgd,
    "acgd": _acgd,
}
