r"""Reverse mode, and its tangent, over a recorded forward pass of an :class:`~refimpl.nn.MLP`.

:class:`Trace` holds one forward pass (and its tangent along (θ̇, Ẋ)); its
:meth:`Trace.backward` returns :class:`Gradients`. Forward over reverse: the tangent
of the reverse pass is the exact Hessian-vector product of a loss of the output.

References
----------
.. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
   Computation 6(1), 1994.
"""

from __future__ import annotations

from typing import NamedTuple

from refimpl import backend
from refimpl.validation import as_float_array, finite_or_overflow

__all__ = ["Gradients", "Trace"]

#: What a forward or reverse pass that overflows says (finite_or_overflow names the inputs).
OVERFLOW = {
    "hint": "received parameters or inputs too large for float64",
    "message": "the network produced non-finite values (overflow)",
}


class Gradients(NamedTuple):
    r"""Reverse-mode output of :meth:`Trace.backward`.

    Attributes
    ----------
    theta : ndarray, shape (n_params,)
        Gradient with respect to the parameters.
    input : ndarray, shape (B, d₀)
        Gradient with respect to the input batch.
    theta_tangent, input_tangent : ndarray or None
        Their directional derivatives along the trace's tangent (None without one).

    Notes
    -----
    For a scalar loss ℓ of the output with cotangent ḡ = ∇ℓ, ``theta`` is ∇_θ ℓ; with
    ġ = ∇²ℓ · out̊, ``theta_tangent`` is the Hessian-vector product

    .. math:: \frac{d}{d\varepsilon} \nabla_\theta \ell(\theta + \varepsilon \dot\theta,
              X + \varepsilon \dot X)\Big|_{\varepsilon = 0}.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> import numpy as np
    >>> Gradients(np.ones(2), np.zeros((1, 1))).theta_tangent is None
    True
    """

    theta: object
    input: object
    theta_tangent: object = None
    input_tangent: object = None


class Trace:
    r"""A forward pass (and its tangent) kept for reverse mode; made by :meth:`MLP.linearize`.

    Attributes
    ----------
    output : ndarray, shape (B, d_L)
    output_tangent : ndarray or None
        The directional derivative of the output along (θ̇, Ẋ).

    Notes
    -----
    The reverse pass propagates the cotangent ḡ_l = ∂ℓ/∂z_l and, with a tangent,
    its derivative ġ_l:

    .. math::

        \bar a_{l-1} = \bar g_l W_l, \qquad
        \dot{\bar a}_{l-1} = \dot{\bar g}_l W_l + \bar g_l \dot W_l, \qquad
        \bar g_{l-1} = \sigma'(z_{l-1}) \odot \bar a_{l-1},

        \dot{\bar g}_{l-1} = \sigma''(z_{l-1}) \odot \dot z_{l-1} \odot \bar a_{l-1}
            + \sigma'(z_{l-1}) \odot \dot{\bar a}_{l-1}, \qquad
        \nabla_{W_l} = \bar g_l^\top a_{l-1}, \qquad
        \dot\nabla_{W_l} = \dot{\bar g}_l^\top a_{l-1} + \bar g_l^\top \dot a_{l-1}.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.nn import MLP
    >>> net = MLP((1, 1), bias=False)
    >>> trace = net.linearize(np.array([3.0]), np.array([[2.0]]))
    >>> trace.output, trace.backward(np.array([[1.0]])).theta
    (array([[6.]]), array([2.]))
    """

    def __init__(self, net, theta, X, dtheta=None, dX=None):
        """The trace of ``net`` at ``(theta, X)`` (and its tangent): ``net.linearize``.

        Parameters are those of :meth:`refimpl.nn.MLP.linearize`, checked there.
        """
        if not hasattr(net, "linearize") or not hasattr(net, "_trace"):
            raise ValueError(f"net: expected a refimpl.nn.MLP, received {net!r:.80}")
        self.__dict__.update(net.linearize(theta, X, dtheta, dX).__dict__)

    @classmethod
    def _of_pass(cls, net, layers, tangents, acts, pres, firsts, seconds, dacts, dpres):
        """A trace from a forward pass already made (the unchecked route of the GAN)."""
        trace = cls.__new__(cls)
        trace._net, trace._layers, trace._tangents = net, layers, tangents
        trace._acts, trace._pres, trace._firsts, trace._seconds = acts, pres, firsts, seconds
        trace._dacts, trace._dpres = dacts, dpres
        trace.output = pres[-1]
        trace.output_tangent = None if dpres is None else dpres[-1]
        return trace

    def backward(self, cotangent, cotangent_tangent=None):
        r"""Reverse mode from the output cotangent ḡ (and, with a tangent, from ġ).

        Parameters
        ----------
        cotangent : ndarray, shape (B, d_L)
            ∂ℓ/∂output.
        cotangent_tangent : ndarray, shape (B, d_L), optional
            Its directional derivative (needs a trace made with a tangent); for a loss
            ℓ(output) it is ∇²ℓ · ``output_tangent``.

        Returns
        -------
        Gradients
        """
        shape = tuple(self.output.shape)
        cot = as_float_array("cotangent", cotangent, ndim=2)
        if tuple(cot.shape) != shape:
            raise ValueError(f"cotangent: expected shape {shape}, received {tuple(cot.shape)}")
        dcot = None
        if cotangent_tangent is not None:
            if self._dpres is None:
                raise ValueError(
                    "cotangent_tangent: the trace has no tangent; call linearize with dtheta or dX"
                )
            dcot = as_float_array("cotangent_tangent", cotangent_tangent, ndim=2)
            if tuple(dcot.shape) != shape:
                raise ValueError(
                    f"cotangent_tangent: expected shape {shape}, received {tuple(dcot.shape)}"
                )
        result = self._backward(cot, dcot)
        parts = [r for r in result if r is not None]
        finite_or_overflow(parts, "theta, X, cotangent, cotangent_tangent", **OVERFLOW)
        return result

    def _backward(self, cot, dcot=None):
        xp = backend.array_namespace(cot)
        tangent = dcot is not None and self._dpres is not None
        grads, dgrads = [], []
        g, dg = cot, dcot
        for l in range(len(self._layers) - 1, -1, -1):
            W, b = self._layers[l]
            a = self._acts[l]  # (B, d_{l-1})
            grads.append(g.sum(axis=0) if b is not None else None)
            grads.append((g.T @ a).ravel())
            if tangent:
                dW, db = self._tangents[l]
                da = self._dacts[l]
                dgrads.append(dg.sum(axis=0) if b is not None else None)
                dgW = dg.T @ a
                if da is not None:
                    dgW = dgW + g.T @ da
                dgrads.append(dgW.ravel())
            ga = g @ W  # (B, d_{l-1})
            dga = None
            if tangent:
                dga = dg @ W
                if dW is not None:
                    dga = dga + g @ dW
            if l == 0:
                break
            first, second = self._firsts[l - 1], self._seconds[l - 1]
            g = first * ga
            if tangent:
                dg = first * dga
                if second is not None and self._dpres[l - 1] is not None:
                    dg = dg + second * self._dpres[l - 1] * ga
        flat = xp.concatenate([p for p in reversed(grads) if p is not None])
        if not tangent:
            return Gradients(flat, ga)
        dflat = xp.concatenate([p for p in reversed(dgrads) if p is not None])
        return Gradients(flat, ga, dflat, dga)
