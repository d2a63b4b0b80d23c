r"""Adaptive competitive gradient descent (ACGD).

CGD with per-coordinate step sizes from RMSProp-style running averages of the
squared gradients, with bias correction, as in the ``CGDs`` package that
accompanies [1]_. For each player, with its gradient g at step t = 1, 2, …:

.. math::

    v_t = \beta v_{t-1} + (1 - \beta)\, g \odot g, \qquad
    \eta_t = \frac{\sqrt{1 - \beta^t}\; \mathrm{lr}}{\sqrt{v_t} + \epsilon},

which gives diagonal step matrices H_x = diag(η_x), H_y = diag(η_y). Then (zero-sum)

.. math::

    \bigl(I + H_x^{1/2} D_{xy} f\, H_y D_{yx} f\, H_x^{1/2}\bigr) w
        = H_x^{1/2} (\nabla_x f + D_{xy} f\, H_y \nabla_y f), \qquad
    \Delta x = -H_x^{1/2} w,

and Δy = H_y(∇_y f + D_yx f Δx) by substitution. This is
:func:`refimpl.cgd.cgd_step` with the step vectors η_x, η_y, which is how it is
implemented.

References
----------
.. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020, arXiv:1910.05852.
"""

from __future__ import annotations

from dataclasses import dataclass

from refimpl import backend
from refimpl.cgd.competitive import cgd_step

__all__ = ["ACGDState", "adaptive_step_sizes", "acgd_step"]


@dataclass(frozen=True)
class ACGDState:
    """Running state of ACGD.

    Attributes
    ----------
    t : int
        Steps taken so far.
    v_x, v_y : ndarray, shapes (n,) and (m,)
        Running averages of the squared gradients.
    warm_start : ndarray or None
        The previous inner solution.
    """

    t: int
    v_x: object
    v_y: object
    warm_start: object = None

    @classmethod
    def zeros(cls, x, y):
        xp = backend.array_namespace(x, y)
        return cls(0, xp.zeros_like(x), xp.zeros_like(y))


def adaptive_step_sizes(v, gradient, t, lr, beta=0.99, eps=1e-5):
    r"""Update the running average and return the per-coordinate step sizes.

    .. math::

        v \leftarrow \beta v + (1-\beta) g^2, \qquad
        \eta = \sqrt{1 - \beta^t}\,\mathrm{lr} / (\sqrt{v} + \epsilon).

    Parameters
    ----------
    v : ndarray, shape (k,)
    gradient : ndarray, shape (k,)
    t : int
        The step number, counted from 1.
    lr, beta, eps : float

    Returns
    -------
    v_new : ndarray, shape (k,)
    eta : ndarray, shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> v, eta = adaptive_step_sizes(np.zeros(1), np.array([2.0]), t=1, lr=0.1, eps=0.0)
    >>> eta          # the first step has size lr / |g|
    array([0.05])
    """
    xp = backend.array_namespace(v, gradient)
    v_new = beta * v + (1.0 - beta) * gradient * gradient
    return v_new, (1.0 - beta**t) ** 0.5 * lr / (xp.sqrt(v_new) + eps)


def acgd_step(
    game,
    x,
    y,
    lr_x,
    lr_y,
    state=None,
    beta=0.99,
    eps=1e-5,
    solver="auto",
    tol=1e-12,
    maxiter=None,
    warm_start=True,
    restart=None,
):
    r"""One step of adaptive CGD.

    Parameters
    ----------
    game : Game
    x : ndarray, shape (n,)
    y : ndarray, shape (m,)
    lr_x, lr_y : float
        Base learning rates ("lr" in the formula above).
    state : ACGDState, optional
        State from the previous step; a fresh one when None.
    beta, eps : float
        Averaging factor and the denominator's offset (defaults 0.99 and 1e−5).
    solver, tol, maxiter, restart
        As in :func:`refimpl.cgd.cgd_step`.
    warm_start : bool
        Start the inner solve from the previous step's solution.

    Returns
    -------
    x_new, y_new : ndarray
    state : ACGDState
    info : CGDInfo

    Notes
    -----
    With t the step number and g the player's gradient,

    .. math::

        v \leftarrow \beta v + (1-\beta) g^2, \qquad
        H = \operatorname{diag}\Bigl(\frac{\sqrt{1-\beta^t}\,\mathrm{lr}}
            {\sqrt{v} + \epsilon}\Bigr),

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y D_{yx} f\, H_x^{1/2}\bigr) w
            = H_x^{1/2} (\nabla_x f + D_{xy} f\, H_y \nabla_y f), \qquad
        \Delta x = -H_x^{1/2} w,

    and Δy = H_y(∇_y f + D_yx f Δx) (zero-sum form; the general-sum form is that of
    :func:`refimpl.cgd.cgd_step`).
    """
    state = ACGDState.zeros(x, y) if state is None else state
    t = state.t + 1
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    v_x, eta_x = adaptive_step_sizes(state.v_x, gx, t, lr_x, beta, eps)
    v_y, eta_y = adaptive_step_sizes(state.v_y, gy, t, lr_y, beta, eps)
    guess = state.warm_start if warm_start else None
    x_new, y_new, info = cgd_step(
        game, x, y, eta_x, eta_y, solver, tol, maxiter, guess, gradients=(gx, gy), restart=restart
    )
    return x_new, y_new, ACGDState(t, v_x, v_y, info.solution), info
