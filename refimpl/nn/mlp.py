r"""Multilayer perceptrons on flat parameter vectors, with exact forward-over-reverse products.

A network with widths (d₀, d₁, …, d_L) maps a batch X of shape (B, d₀), one sample
per row, through

.. math::

    a_0 = X, \qquad z_l = a_{l-1} W_l^\top + b_l, \qquad a_l = \sigma(z_l)\ (l < L),
    \qquad \text{output} = z_L,

with W_l of shape (d_l, d_{l−1}) and optional biases b_l. The parameters live in
one flat vector θ: for each layer, W_l row by row, then b_l.

:meth:`MLP.linearize` runs the forward pass together with its tangent (the
R-operator of [1]_: the directional derivative along (θ̇, Ẋ)), and
:meth:`Trace.backward` runs reverse mode on it, together with the tangent of the
reverse pass. For a scalar loss ℓ(output) with cotangent ḡ = ∇ℓ and its tangent
ġ = ∇²ℓ · output̊, the tangent of the gradient is the exact Hessian-vector
product: forward-over-reverse differentiation, at about twice the cost of a
gradient.

A two-layer ReLU network without biases, ``MLP((n_in, h, n_out), bias=False)``,
with θ = concat(W₁.ravel(), W₂.ravel()), is the network W₂ relu(W₁ X) of
:mod:`refimpl.inrank.mlp` with samples as rows: ``net.forward(theta, X.T).T``.

Why this module is long: it is one class whose five public methods (init, unflatten,
forward, linearize and the layout) each carry a documented contract with doctests; the
reverse pass lives in :mod:`refimpl.nn.trace`.

References
----------
.. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
   Computation 6(1), 147–160, 1994.
"""

from __future__ import annotations

import numbers

import numpy as np

from refimpl import backend
from refimpl.nn.activations import ACTIVATIONS, derivatives
from refimpl.nn.trace import OVERFLOW, Trace
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_choice,
    check_in_interval,
    check_positive,
    finite_or_overflow,
)

__all__ = ["MLP"]


class MLP:
    r"""A multilayer perceptron: widths, activation, biases, and a flat parameter layout.

    Parameters
    ----------
    widths : sequence of int
        (d₀, d₁, …, d_L), each ≥ 1, at least two entries: input, hidden, output widths.
    activation : {"relu", "leaky_relu", "tanh"}
        Applied after every layer but the last (the output is linear).
    bias : bool
        Whether the layers have biases.
    negative_slope : float
        Slope of ``leaky_relu`` for negative inputs, in [0, 1).

    Attributes
    ----------
    widths : tuple of int
    n_params : int
        Length of the flat parameter vector θ.
    n_inputs, n_outputs : int

    Notes
    -----
    .. math::

        z_l = a_{l-1} W_l^\top + b_l, \qquad a_l = \sigma(z_l), \qquad
        n_{\text{params}} = \sum_l d_l d_{l-1} + [\text{bias}]\, d_l.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> import numpy as np
    >>> net = MLP((2, 8, 1), activation="tanh")
    >>> net.n_params
    33
    >>> theta = net.init(rng=0)
    >>> net.forward(theta, np.zeros((5, 2))).shape
    (5, 1)
    """

    def __init__(self, widths, activation="relu", bias=True, negative_slope=0.2):
        if isinstance(widths, str | bytes) or not hasattr(widths, "__iter__"):
            raise ValueError(f"widths: expected a sequence of ints >= 1, received {widths!r}")
        widths = tuple(widths)
        if len(widths) < 2 or not all(
            isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in widths
        ):
            raise ValueError(
                f"widths: expected at least two ints >= 1 (input, ..., output), received {widths!r}"
            )
        if not isinstance(bias, bool | np.bool_):
            raise ValueError(f"bias: expected True or False, received {bias!r}")
        self.widths = tuple(int(w) for w in widths)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.bias = bool(bias)
        self.negative_slope = check_in_interval("negative_slope", negative_slope, 0.0, 1.0, "left")
        self.n_inputs, self.n_outputs = self.widths[0], self.widths[-1]
        self._shapes = list(zip(self.widths[1:], self.widths[:-1], strict=True))
        self.n_params = sum(o * i + (o if self.bias else 0) for o, i in self._shapes)
        check_array_size("widths", (self.n_params,))

    def __repr__(self):
        return f"MLP({self.widths}, activation={self.activation!r}, bias={self.bias})"

    def init(self, rng, scale=1.0):
        r"""Random parameters: Gaussian weights of variance gain·scale²/fan-in, zero biases.

        Parameters
        ----------
        rng : numpy.random.Generator or int
        scale : float
            Multiplies every weight (> 0).

        Returns
        -------
        theta : ndarray, shape (n_params,)

        Notes
        -----
        .. math:: (W_l)_{ij} \sim \mathcal N(0,\ \text{gain}\cdot s^2 / d_{l-1}),

        with gain 2 before a (leaky) ReLU [2]_ and 1 before tanh or at the output.

        References
        ----------
        .. [2] K. He et al., "Delving deep into rectifiers", ICCV 2015.

        Examples
        --------
        >>> MLP((3, 4, 1)).init(rng=0).shape
        (21,)
        """
        rng = as_generator(rng)
        scale = check_positive("scale", scale)
        pieces = []
        for l, (out, inp) in enumerate(self._shapes):
            hidden = l < len(self._shapes) - 1
            gain = 2.0 if hidden and self.activation != "tanh" else 1.0
            pieces.append(rng.standard_normal(out * inp) * scale * np.sqrt(gain / inp))
            if self.bias:
                pieces.append(np.zeros(out))
        theta = np.concatenate(pieces)
        finite_or_overflow(
            theta, "scale", message=f"the weights overflow float64, received {scale=}"
        )
        return backend.asarray(theta, like=None)

    def unflatten(self, theta):
        r"""The layers [(W₁, b₁), …] of a flat parameter vector (views, b None without biases).

        Parameters
        ----------
        theta : ndarray, shape (n_params,)

        Returns
        -------
        list of (ndarray, ndarray or None)
            W_l of shape (d_l, d_{l−1}) and b_l of shape (d_l,).

        Notes
        -----
        .. math:: \theta = (\mathrm{vec}(W_1), b_1, \ldots, \mathrm{vec}(W_L), b_L).

        References
        ----------
        .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

        Examples
        --------
        >>> import numpy as np
        >>> [W.shape for W, b in MLP((3, 4, 1)).unflatten(np.zeros(21))]
        [(4, 3), (1, 4)]
        """
        return self._unflatten(self._check_vector("theta", theta))

    def forward(self, theta, X):
        r"""The network's output on a batch.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)
        X : ndarray, shape (B, d₀)
            One sample per row.

        Returns
        -------
        ndarray, shape (B, d_L)

        Notes
        -----
        .. math:: z_l = a_{l-1} W_l^\top + b_l,\quad a_l = \sigma(z_l),\quad a_0 = X.

        References
        ----------
        .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 2, 1), bias=False)
        >>> net.forward(np.array([1.0, -1.0, 1.0, 1.0]), np.array([[3.0]]))
        array([[3.]])
        """
        return self.linearize(theta, X).output

    def linearize(self, theta, X, dtheta=None, dX=None):
        r"""Run the forward pass, and its tangent along (θ̇, Ẋ) when given.

        Parameters
        ----------
        theta : ndarray, shape (n_params,)
        X : ndarray, shape (B, d₀)
        dtheta : ndarray, shape (n_params,), optional
            Parameter direction θ̇.
        dX : ndarray, shape (B, d₀), optional
            Input direction Ẋ.

        Returns
        -------
        Trace
            ``output``, ``output_tangent`` and :meth:`Trace.backward`.

        Notes
        -----
        The tangent (forward mode, the R-operator of [1]_):

        .. math::

            \dot z_l = \dot a_{l-1} W_l^\top + a_{l-1} \dot W_l^\top + \dot b_l,
            \qquad \dot a_l = \sigma'(z_l) \odot \dot z_l.

        References
        ----------
        .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((1, 1), bias=False)   # x ↦ θx
        >>> net.linearize(np.array([3.0]), np.array([[2.0]]), dtheta=np.array([1.0])).output_tangent
        array([[2.]])
        """
        theta = self._check_vector("theta", theta)
        X = self._check_batch("X", X)
        if dtheta is not None:
            dtheta = self._check_vector("dtheta", dtheta)
        if dX is not None:
            dX = as_float_array("dX", dX, ndim=2)
            if tuple(dX.shape) != tuple(X.shape):
                raise ValueError(f"dX: expected the shape of X {X.shape}, received {dX.shape}")
        backend.array_namespace(theta, X, *(a for a in (dtheta, dX) if a is not None))
        with np.errstate(over="ignore", invalid="ignore"):
            trace = self._trace(theta, X, dtheta, dX)
            parts = [trace.output] + ([trace.output_tangent] if trace._dpres else [])
        finite_or_overflow(parts, "theta, X, dtheta, dX", **OVERFLOW)
        return trace

    # ------------------------------------------------------------------ unchecked core

    def _check_vector(self, name, theta):
        theta = as_float_array(name, theta, ndim=1)
        if theta.shape != (self.n_params,):
            raise ValueError(
                f"{name}: expected shape ({self.n_params},) for {self!r}, received {theta.shape}"
            )
        return theta

    def _check_batch(self, name, X):
        X = as_float_array(name, X, ndim=2)
        if X.shape[0] < 1 or X.shape[1] != self.n_inputs:
            raise ValueError(
                f"{name}: expected shape (B, {self.n_inputs}) with B >= 1 (one sample per row), "
                f"received {tuple(X.shape)}"
            )
        # the trace keeps activations, pre-activations and two derivatives of every unit
        check_array_size(name, (X.shape[0], 4 * sum(self.widths)))
        return X

    def _unflatten(self, theta):
        layers, start = [], 0
        for out, inp in self._shapes:
            W = theta[start : start + out * inp].reshape(out, inp)
            start += out * inp
            b = None
            if self.bias:
                b = theta[start : start + out]
                start += out
            layers.append((W, b))
        return layers

    def _trace(self, theta, X, dtheta=None, dX=None):
        """Forward pass (and tangent) without input checks: the inner loop of the GAN."""
        layers = self._unflatten(theta)
        has_tangent = dtheta is not None or dX is not None
        tangents = self._unflatten(dtheta) if dtheta is not None else [(None, None)] * len(layers)
        acts, pres, firsts, seconds = [X], [], [], []
        dacts, dpres = [dX], []
        last = len(layers) - 1
        for l, (W, b) in enumerate(layers):
            a, da = acts[-1], dacts[-1]
            z = a @ W.T
            if b is not None:
                z = z + b
            pres.append(z)
            dz = None
            if has_tangent:
                dW, db = tangents[l]
                dz = 0.0 * z
                if da is not None:
                    dz = dz + da @ W.T
                if dW is not None:
                    dz = dz + a @ dW.T
                if db is not None:
                    dz = dz + db
            dpres.append(dz)
            if l < last:
                value, first, second = derivatives(self.activation, z, self.negative_slope)
                acts.append(value)
                firsts.append(first)
                seconds.append(second)
                dacts.append(None if dz is None else first * dz)
        return Trace._of_pass(
            self,
            layers,
            tangents,
            acts,
            pres,
            firsts,
            seconds,
            dacts,
            dpres if has_tangent else None,
        )
