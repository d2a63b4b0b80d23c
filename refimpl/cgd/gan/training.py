r"""Training a GAN game at a fixed cost: every method, counted in gradients and products.

:func:`train_gan` runs one of :data:`GAN_METHODS` on a :class:`~refimpl.cgd.gan.GANGame`
(or any zero-sum game with a ``resample`` method) until a budget of **cost** is
spent, where one gradient (∇ₓf or ∇_y g) and one Hessian-vector product each cost
1, the measure of [1]_ (whose Julia code counts 4 per step plus 2 per CG iteration).
Every step draws a fresh mini-batch first, and uses it for all its gradients and
products.

* ``"gda"``: simultaneous gradient descent-ascent (:func:`refimpl.cgd.gda_step`);
* ``"adam"``: simultaneous Adam (:func:`~refimpl.cgd.gan.adam_step`);
* ``"ogda"``: optimistic GDA (:func:`refimpl.cgd.ogda_step`);
* ``"cgd"``: CGD with one step size, its system solved by CG from zero
  (:func:`refimpl.cgd.cgd_step`);
* ``"acgd"``: the authors' ACGD
  (:func:`~refimpl.cgd.gan.acgd_alternating_step`).

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from refimpl.cgd.arguments import CheckedGame, check_game
from refimpl.cgd.competitive import cgd_step
from refimpl.cgd.gan.acgd import AlternatingACGDState, acgd_alternating_step_unchecked
from refimpl.cgd.gan.adam import AdamState, adam_step_unchecked
from refimpl.cgd.gradient_methods import gda_step, ogda_step
from refimpl.cgd.runner import CountingGame
from refimpl.validation import (
    DivergenceError,
    all_finite,
    as_float_array,
    check_array_size,
    check_choice,
    check_in_interval,
    check_integer,
    check_options,
    check_positive,
)

__all__ = ["GAN_METHODS", "GANRun", "train_gan"]

#: The methods of :func:`train_gan`.
GAN_METHODS = ("gda", "adam", "ogda", "cgd", "acgd")

#: The options of each method, with their defaults.
_OPTIONS = {
    "gda": {},
    "ogda": {},
    "adam": {"beta1": 0.5, "beta2": 0.999, "eps": 1e-8},
    "cgd": {"tol": 1e-12, "maxiter": None},
    "acgd": {"beta": 0.99, "eps": 1e-5, "tol": 1e-12, "maxiter": None},
}


@dataclass
class GANRun:
    r"""Outcome of :func:`train_gan` (a result container).

    Attributes
    ----------
    method : str
    x, y : ndarray
        The final parameters of the generator and the discriminator.
    steps_taken : int
    status : str
        ``"completed"``, ``"diverged"`` or ``"inner_solver_failed"``.
    message : str
        Why the run stopped, with the step.
    stopped_at : int or None
        The failing step (from 1).
    gradient_evaluations, hvp_evaluations : int
    costs : ndarray, shape (r,)
        The cost (gradients + products) at each recorded snapshot.
    snapshots : list of (ndarray, ndarray)
        (x, y) at the start and at the first step whose cost reaches each
        budget·j/records, j = 1, …, records (records + 1 in all for a completed run).
    gradient_norms : ndarray, shape (steps_taken, 2)
        ‖∇ₓf‖ and ‖∇_y g‖ at the start of each step, on its batch.
    inner_iterations : ndarray of int, shape (steps_taken,)
        CG iterations per step (0 for the first-order methods).

    Notes
    -----
    .. math:: \text{cost} = \texttt{gradient\_evaluations} + \texttt{hvp\_evaluations}.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> from refimpl.nn import MLP
    >>> from refimpl.cgd.gan import GANGame, mixture_1d, train_gan
    >>> game = GANGame(MLP((1, 1)), MLP((1, 1)), mixture_1d(), batch_size=4, rng=0)
    >>> run = train_gan(game, "gda", [0.0, 0.0], [0.0, 0.0], budget=4, eta=0.1)
    >>> run.steps_taken, run.gradient_evaluations
    (2, 4)
    """

    method: str
    x: object
    y: object
    steps_taken: int
    status: str
    message: str
    stopped_at: int | None
    gradient_evaluations: int
    hvp_evaluations: int
    costs: np.ndarray
    snapshots: list = field(repr=False)
    gradient_norms: np.ndarray = field(repr=False)
    inner_iterations: np.ndarray = field(repr=False)


def _norm_without_overflow(v):
    """‖v‖ without overflow for huge finite v (the float maximum when ‖v‖ exceeds the range)."""
    scale = float(np.max(np.abs(v)))
    if scale == 0.0:
        return 0.0
    value = scale * float(np.linalg.norm(v / scale))
    return value if np.isfinite(value) else float(np.finfo(float).max)


def _checked_options(method, options):
    """Every option of ``method`` (defaults filled in), checked once before the loop.

    The steps then run unchecked; an error names the key as ``options['key']``.
    """
    options = check_options("options", options or {}, tuple(_OPTIONS[method]))
    full = {**_OPTIONS[method], **options}
    for key, value in full.items():
        name = f"options[{key!r}]"
        if key in ("beta", "beta1", "beta2"):
            full[key] = check_in_interval(name, value, 0.0, 1.0, "left")
        elif key in ("eps", "tol"):
            full[key] = check_positive(name, value)
        elif value is not None:  # maxiter
            full[key] = check_integer(name, value, minimum=1)
    return full


def _stepper(method, game, eta, options, x, y):
    """The step of ``method`` on the checked game, from the arguments checked by train_gan."""
    memory = {"state": None}
    if method == "gda":
        return lambda x, y: (*gda_step(game, x, y, eta, eta), 0, True)
    if method == "ogda":

        def ogda(x, y):
            x, y, memory["state"] = ogda_step(game, x, y, eta, eta, memory["state"])
            return x, y, 0, True

        return ogda
    if method == "adam":
        memory["state"] = AdamState(0, 0.0 * x, 0.0 * x, 0.0 * y, 0.0 * y)

        def adam(x, y):
            x, y, memory["state"] = adam_step_unchecked(
                game, x, y, eta, eta, memory["state"], **options
            )
            return x, y, 0, True

        return adam
    if method == "cgd":
        tol, maxiter = options.get("tol", 1e-12), options.get("maxiter")

        def cgd(x, y):
            x, y, info = cgd_step(game, x, y, eta, eta, solver="cg", tol=tol, maxiter=maxiter)
            return x, y, info.iterations, info.converged

        return cgd

    memory["state"] = AlternatingACGDState(0, 0.0 * x, 0.0 * y)

    def acgd(x, y):
        x, y, memory["state"], info = acgd_alternating_step_unchecked(
            game, x, y, eta, eta, memory["state"], **options
        )
        return x, y, info.iterations, info.converged

    return acgd


def train_gan(
    game, method, x0, y0, budget, eta, options=None, records=10, on_failure="raise", max_steps=None
):
    r"""Train generator x and discriminator y with one method until a cost budget is spent.

    Parameters
    ----------
    game : GANGame
        A zero-sum game with ``resample()`` (a fresh mini-batch per step).
    method : {"gda", "adam", "ogda", "cgd", "acgd"}
    x0 : ndarray, shape (n,)
        Initial generator parameters.
    y0 : ndarray, shape (m,)
        Initial discriminator parameters.
    budget : int
        Cost to spend (gradients + Hessian-vector products), >= 1; the last step
        may overshoot it.
    eta : float
        Step size of both players (the base step size of Adam and ACGD).
    options : dict, optional
        ``adam``: beta1 (0.5), beta2 (0.999), eps (1e−8); ``cgd``: tol (1e−12,
        relative residual), maxiter; ``acgd``: beta (0.99), eps (1e−5), tol (1e−12,
        on ‖r‖²/‖b‖²), maxiter.
    records : int
        Number of snapshots after the start (>= 1).
    on_failure : {"raise", "stop"}
        A non-finite iterate raises :class:`~refimpl.validation.DivergenceError` and a
        CG solve that misses its tolerance within maxiter raises
        ``numpy.linalg.LinAlgError``, both with the step; ``"stop"`` ends the run
        there and reports it in ``status``, ``message`` and ``stopped_at``.
    max_steps : int, optional
        A cap on the number of steps (default: the budget).

    Returns
    -------
    GANRun

    Raises
    ------
    ValueError
        For bad input, including inputs that the first step refuses (an ACGD step size
        :math:`\eta / \text{eps}` beyond the float range, or gradients at ``x0, y0``
        that overflow it); the message names ``eta, options, x0, y0``. A later step's
        refusal comes from the iterates, not the input: it is a divergence.

    Notes
    -----
    The cost of a step: GDA, Adam and OGDA 2; CGD and ACGD 2 + 1 (right-hand side)
    + 2 per CG iteration (and per residual check) + 1 (substitution). Equal cost
    means equal numbers of network passes up to the small constant of
    :mod:`refimpl.nn` (a product costs about twice a gradient).

    .. math:: \text{cost} = \#\nabla + \#\text{HVP} \le \text{budget} + \text{one step}.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
    .. [2] F. Schäfer, H. Zheng and A. Anandkumar, ICML 2020.

    Examples
    --------
    >>> from refimpl.nn import MLP
    >>> from refimpl.cgd.gan.game import GANGame
    >>> from refimpl.cgd.gan.data import mixture_1d
    >>> game = GANGame(MLP((1, 4, 1)), MLP((1, 4, 1)), mixture_1d(), batch_size=8, rng=0)
    >>> x0, y0 = game.generator.init(rng=1), game.discriminator.init(rng=2)
    >>> run = train_gan(game, "acgd", x0, y0, budget=40, eta=0.01, records=2)
    >>> run.status, run.gradient_evaluations + run.hvp_evaluations >= 40
    ('completed', True)
    """
    check_game(game)  # n, m and the derivatives: a class or a stand-in is refused by name
    if not callable(getattr(game, "resample", None)) or not getattr(game, "zero_sum", False):
        raise ValueError(
            f"game: expected a zero-sum game with resample() (a GANGame), received {game!r}"
        )
    method = check_choice("method", method, GAN_METHODS)
    options = _checked_options(method, options)
    x = as_float_array("x0", x0, ndim=1)
    y = as_float_array("y0", y0, ndim=1)
    for name, vector, size in (("x0", x, game.n), ("y0", y, game.m)):
        if vector.shape != (size,):
            raise ValueError(f"{name}: expected shape ({size},), received {vector.shape}")
    budget = check_integer("budget", budget, minimum=1, maximum=10**9)
    eta = check_positive("eta", eta)
    records = check_integer("records", records, minimum=1, maximum=10**5)
    check_array_size("records", (records + 1, game.n + game.m))  # the snapshots
    on_failure = check_choice("on_failure", on_failure, ("raise", "stop"))
    max_steps = budget if max_steps is None else check_integer("max_steps", max_steps, minimum=1)
    counted = CountingGame(game)
    checked = CheckedGame(counted)  # the steps' view of the game: its errors name the step
    step = _stepper(method, checked, eta, options, x, y)
    costs, snapshots = [0], [(x.copy(), y.copy())]
    norms, inner = [], []
    status, message, stopped_at = "completed", "", None
    k = 0
    while counted.gradients + counted.hvps < budget and k < max_steps:
        k += 1
        checked.step = k
        game.resample()
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                x_new, y_new, iterations, converged = step(x, y)
        except np.linalg.LinAlgError:  # a ValueError too, but a numerical failure
            raise
        except (DivergenceError, ValueError) as exc:
            # A refusal at the first step can only be the inputs' (the step calls eta
            # eta_x and eta_y); later ones are the iterates', a divergence.
            if k == 1 and isinstance(exc, ValueError):
                raise ValueError(
                    f"eta, options, x0, y0: the first {method} step refused them: {exc}"
                ) from exc
            x_new, y_new, iterations, converged = None, None, 0, True
            error = str(exc)
        else:
            error = None
        finite = x_new is not None and all_finite(x_new, y_new)
        if finite:  # on this step's batch; the game's cache makes these free
            norms.append(
                [
                    _norm_without_overflow(game.grad_x_f(x, y)),
                    _norm_without_overflow(game.grad_y_g(x, y)),
                ]
            )
            inner.append(iterations)
        else:
            status, stopped_at = "diverged", k
            message = error or f"step {k} produced non-finite parameters"
            message = f"diverged at step {k}: {message}; lower eta"
            if on_failure == "raise":
                raise DivergenceError(message, step=k)
            break
        x, y = x_new, y_new
        cost = counted.gradients + counted.hvps
        while len(costs) <= records and cost >= budget * len(costs) / records:
            costs.append(cost)  # a step that passes two checkpoints fills both
            snapshots.append((x.copy(), y.copy()))
        if not converged:
            status, stopped_at = "inner_solver_failed", k
            message = (
                f"inner_solver_failed at step {k}: CG missed its tolerance within maxiter "
                "iterations; raise maxiter or loosen tol"
            )
            if on_failure == "raise":
                raise np.linalg.LinAlgError(message)
            break
    if status == "completed":
        message = f"completed {k} steps at cost {counted.gradients + counted.hvps}"
    return GANRun(
        method=method,
        x=x,
        y=y,
        steps_taken=k if status != "diverged" else k - 1,
        status=status,
        message=message,
        stopped_at=stopped_at,
        gradient_evaluations=counted.gradients,
        hvp_evaluations=counted.hvps,
        costs=np.array(costs),
        snapshots=snapshots,
        gradient_norms=np.array(norms).reshape(-1, 2),
        inner_iterations=np.array(inner, dtype=int),
    )
