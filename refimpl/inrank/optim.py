"""Optimizers: gradient descent (full batch or mini-batch SGD) and Adam.

An optimizer turns a gradient into an update. Parameters are identified by a key so
that Adam can keep its moments; ``cols`` updates only the first ``cols`` columns of a
parameter's state (InRank grows its factors by activating columns). Mini-batching is
done by the training loops: "sgd" is :class:`GradientDescent` on mini-batches.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.optim import make_optimizer
>>> opt = make_optimizer("adam", lr=0.1)
>>> opt.begin_step()
>>> np.round(opt.update("w", np.array([2.0, -3.0])), 6)  # first Adam step: -lr * sign
array([-0.1,  0.1])
"""

from __future__ import annotations

from refimpl import backend
from refimpl.validation import check_choice, check_in_interval, check_positive

__all__ = ["OPTIMIZERS", "GradientDescent", "Adam", "make_optimizer"]

OPTIMIZERS = ("gd", "sgd", "adam")


class GradientDescent:
    r"""Plain (stochastic) gradient descent, ``Δθ = −η g``.

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.

    Notes
    -----
    .. math:: \theta_{k+1} = \theta_k - \eta\, g_k
    """

    def __init__(self, lr):
        self.lr = check_positive("lr", lr)
        self.t = 0

    def begin_step(self):
        """Count one optimizer step (shared by all parameters)."""
        self.t += 1

    def update(self, key, grad, shape=None, cols=None):
        """The update ``−η g`` for parameter ``key`` (``shape``/``cols`` are unused)."""
        return -self.lr * grad


class Adam:
    r"""Adam (Kingma & Ba, 2015) with bias correction.

    Parameters
    ----------
    lr : float
        Step size ``η > 0``.
    beta1, beta2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        Denominator offset ``> 0``.

    Notes
    -----
    .. math::

        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad
        v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,\quad
        \Delta\theta = -\eta\,\frac{m_k/(1-\beta_1^k)}{\sqrt{v_k/(1-\beta_2^k)} + \epsilon}

    References
    ----------
    D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = check_positive("lr", lr)
        self.beta1 = check_in_interval("beta1", beta1, 0.0, 1.0, closed="left")
        self.beta2 = check_in_interval("beta2", beta2, 0.0, 1.0, closed="left")
        self.eps = check_positive("eps", eps)
        self.t = 0
        self._m = {}
        self._v = {}

    def begin_step(self):
        """Count one optimizer step (shared by all parameters)."""
        self.t += 1

    def update(self, key, grad, shape=None, cols=None):
        """The Adam update for parameter ``key``.

        Parameters
        ----------
        key : hashable
        grad : ndarray
            Gradient; with ``cols``, the gradient of the first ``cols`` columns only.
        shape : tuple, optional
            Full shape of the parameter's state (defaults to ``grad.shape``).
        cols : int, optional
            Update only ``state[..., :cols]``.
        """
        xp = backend.array_namespace(grad)
        if key not in self._m:
            full = grad.shape if shape is None else shape
            self._m[key] = xp.zeros(full, dtype=grad.dtype)
            self._v[key] = xp.zeros(full, dtype=grad.dtype)
        sl = (Ellipsis,) if cols is None else (Ellipsis, slice(0, cols))
        m = self._m[key]
        v = self._v[key]
        m[sl] = self.beta1 * m[sl] + (1.0 - self.beta1) * grad
        v[sl] = self.beta2 * v[sl] + (1.0 - self.beta2) * grad * grad
        m_hat = m[sl] / (1.0 - self.beta1**self.t)
        v_hat = v[sl] / (1.0 - self.beta2**self.t)
        return -self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)


def make_optimizer(name, lr, **options):
    """Build an optimizer by name: ``"gd"``, ``"sgd"`` (both plain steps) or ``"adam"``.

    Examples
    --------
    >>> type(make_optimizer("sgd", 0.1)).__name__
    'GradientDescent'
    """
    check_choice("optimizer", name, OPTIMIZERS)
    lr = check_positive("lr", lr)
    if name == "adam":
        return Adam(lr, **options)
    return GradientDescent(lr)
