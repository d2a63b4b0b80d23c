"""Optimizers: gradient descent (full batch or mini-batch SGD) and Adam.

An optimizer turns a gradient into an update. Parameters are identified by a key so
that Adam can keep its moments; ``cols`` updates only the first ``cols`` columns of a
parameter's state (InRank grows its factors by activating columns). Mini-batches come
from :class:`MiniBatches`, shared by both training loops: "sgd" is
:class:`GradientDescent` on mini-batches, "gd" is always full batch.

The public methods check their arguments; the training loops call the unchecked
``_update`` and ``_next`` with the gradients and data they made themselves.

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

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_choice,
    check_in_interval,
    check_integer,
    check_options,
    check_positive,
    finite_or_overflow,
)

__all__ = ["OPTIMIZERS", "GradientDescent", "Adam", "make_optimizer", "MiniBatches"]

OPTIMIZERS = ("gd", "sgd", "adam")


def check_gradient(grad):
    """``grad`` as a finite real array; bools and non-numbers raise ValueError naming it."""
    if isinstance(grad, bool) or getattr(getattr(grad, "dtype", None), "kind", "") == "b":
        raise ValueError(f"grad: expected a real array, received {grad!r}")
    return as_float_array("grad", grad)


class GradientDescent:
    r"""Plain (stochastic) gradient descent, ``Δθ = −η g``.

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.

    Notes
    -----
    .. math:: \theta_{k+1} = \theta_k - \eta\, g_k

    References
    ----------
    H. Robbins, S. Monro, "A stochastic approximation method", Ann. Math. Statist. 22
    (1951).

    Examples
    --------
    >>> GradientDescent(0.5).update("w", [2.0, -4.0]).tolist()
    [-1.0, 2.0]
    """

    def __init__(self, lr):
        self.lr = check_positive("lr", lr)
        self.t = 0

    def begin_step(self):
        """Count one optimizer step (shared by all parameters)."""
        self.t += 1

    def update(self, key, grad, shape=None, cols=None):
        """The update ``−η g`` for parameter ``key`` (``shape``/``cols`` are unused)."""
        grad = check_gradient(grad)
        with np.errstate(over="ignore"):  # reported below, naming grad
            step = self._update(key, grad, shape, cols)
        return finite_or_overflow(
            step, "grad", message=f"the step -lr * grad overflows (lr={self.lr})"
        )

    def _update(self, key, grad, shape=None, cols=None):
        """:meth:`update` unchecked, for the training loops (their gradients are sound)."""
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

    Examples
    --------
    >>> opt = Adam(0.1)
    >>> opt.begin_step()
    >>> opt.update("w", [3.0, -0.5]).round(6).tolist()  # first step: −lr·sign(g)
    [-0.1, 0.1]
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
        grad = check_gradient(grad)
        full = grad.shape if shape is None else tuple(shape)
        if cols is not None:
            cols = check_integer("cols", cols, minimum=1, maximum=full[-1] if full else 0)
        expected = full if cols is None else full[:-1] + (cols,)
        if grad.shape != expected:
            raise ValueError(
                f"grad: expected shape {expected} (state {full}, cols={cols}), "
                f"received {grad.shape}"
            )
        if key in self._m and self._m[key].shape != full:
            raise ValueError(f"shape: expected {self._m[key].shape} for {key!r}, received {full}")
        with np.errstate(over="ignore"):
            squares = grad * grad
        # An infinite second moment would stay in the state and zero every later step.
        finite_or_overflow(squares, "grad", message="entries too large, g² overflows")
        return self._update(key, grad, full, cols)

    def _update(self, key, grad, shape=None, cols=None):
        """:meth:`update` unchecked, for the training loops (their gradients are sound)."""
        full = grad.shape if shape is None else tuple(shape)
        xp = backend.array_namespace(grad)
        if key not in self._m:
            self._m[key] = xp.zeros(full, dtype=grad.dtype)
            self._v[key] = xp.zeros(full, dtype=grad.dtype)
        sl = (Ellipsis,) if cols is None else (Ellipsis, slice(0, cols))
        m = self._m[key]
        v = self._v[key]
        m[sl] = self.beta1 * m[sl] + (1.0 - self.beta1) * grad
        v[sl] = self.beta2 * v[sl] + (1.0 - self.beta2) * grad * grad
        t = max(self.t, 1)  # an update before begin_step() counts as the first step
        m_hat = m[sl] / (1.0 - self.beta1**t)
        v_hat = v[sl] / (1.0 - self.beta2**t)
        return -self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)


def make_optimizer(optimizer, lr, adam_options=None):
    r"""Build an optimizer by name: ``"gd"``, ``"sgd"`` (both plain steps) or ``"adam"``.

    Parameters
    ----------
    optimizer : {"gd", "sgd", "adam"}
        Its name, as the ``optimizer`` argument of :func:`refimpl.inrank.train`.
    lr : float
    adam_options : dict, optional
        ``beta1``, ``beta2``, ``eps`` of :class:`Adam`; a ValueError for other optimizers
        and for unknown keys.

    Returns
    -------
    GradientDescent or Adam

    Notes
    -----
    "gd" and "sgd" are the same update :math:`-\eta g`; they differ in the batches
    (:class:`MiniBatches`).

    References
    ----------
    Kingma & Ba, ICLR 2015; Robbins & Monro, 1951.

    Examples
    --------
    >>> type(make_optimizer("sgd", 0.1)).__name__
    'GradientDescent'
    """
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = check_positive("lr", lr)
    adam_options = check_options("adam_options", adam_options, ("beta1", "beta2", "eps"))
    if optimizer == "adam":
        return Adam(lr, **adam_options)
    if adam_options:
        raise ValueError(
            f"adam_options: expected None for optimizer={optimizer!r} (only 'adam' takes them), "
            f"received {adam_options!r}"
        )
    return GradientDescent(lr)


class MiniBatches:
    r"""Which samples each step sees: the full batch, or shuffled epochs of ``batch_size``.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int or None
        Default: ``max(1, n // 8)`` for "sgd", ``n`` (full batch) otherwise. "gd" is
        full-batch gradient descent: any other ``batch_size`` raises ValueError.
    rng : numpy.random.Generator
        Draws the order of every epoch.
    optimizer : {"gd", "sgd", "adam"}

    Notes
    -----
    Every epoch draws a permutation :math:`\pi` of the samples and serves
    :math:`\pi[jB:(j+1)B]` for :math:`j = 0, 1, \dots` (a short remainder is skipped).

    References
    ----------
    L. Bottou, "Stochastic gradient descent tricks", in *Neural Networks: Tricks of the
    Trade*, Springer 2012.

    Examples
    --------
    >>> import numpy as np
    >>> batches = MiniBatches(4, 2, np.random.default_rng(0), "sgd")
    >>> X = np.arange(8.0).reshape(2, 4)
    >>> Xb, Yb = batches.next(X, X)
    >>> Xb.shape
    (2, 2)
    """

    def __init__(self, n, batch_size, rng, optimizer="gd"):
        check_choice("optimizer", optimizer, OPTIMIZERS)
        self.n = n = check_integer("n", n, minimum=1)
        check_array_size("n", (n,))  # the permutation of every epoch
        if batch_size is None:
            batch_size = max(1, n // 8) if optimizer == "sgd" else n
        self.batch_size = check_integer("batch_size", batch_size, minimum=1, maximum=n)
        if optimizer == "gd" and self.batch_size != n:
            raise ValueError(
                f"batch_size: optimizer='gd' is full-batch gradient descent, expected None "
                f"or {n}, received {batch_size}; use optimizer='sgd' for mini-batches"
            )
        self.rng = rng = as_generator(rng)
        self.order = rng.permutation(n)
        self.cursor = 0

    def next(self, X, Y):
        """The next mini-batch ``(X[:, idx], Y[:, idx])`` (columns are samples).

        Parameters
        ----------
        X, Y : ndarray, shapes (n_in, n) and (n_out, n)
            Finite data with one column per sample.

        Returns
        -------
        Xb, Yb : ndarray, shapes (n_in, batch_size) and (n_out, batch_size)
        """
        X = as_float_array("X", X, ndim=2)
        Y = as_float_array("Y", Y, ndim=2, like=X)
        for name, data in (("X", X), ("Y", Y)):
            if data.shape[1] != self.n or data.shape[0] == 0:
                raise ValueError(
                    f"{name}: expected shape (features, {self.n}) with features >= 1 "
                    f"(a column per sample), received {data.shape}"
                )
        return self._next(X, Y)

    def _next(self, X, Y):
        """:meth:`next` unchecked, for the training loops (their data are checked)."""
        if self.batch_size == self.n:
            return X, Y
        if self.cursor + self.batch_size > self.n:
            self.order, self.cursor = self.rng.permutation(self.n), 0
        idx = backend.asarray(self.order[self.cursor : self.cursor + self.batch_size], like=X)
        self.cursor += self.batch_size
        return X[:, idx], Y[:, idx]
