r"""Small neural networks with hand-written gradients and exact Hessian-vector products.

The shared floor for every subpackage that trains a network: multilayer
perceptrons (:class:`MLP`: ReLU, leaky ReLU or tanh, any widths, with or without
biases) on flat parameter vectors, reverse mode (:meth:`Trace.backward`) and
forward-over-reverse second derivatives (Pearlmutter's R-operator), which give
exact Hessian-vector products of any loss of one or several networks, including
the mixed products D_xy f · v of a loss f(x, y) of two networks (see
:mod:`refimpl.cgd.gan`).

Conventions: samples are rows, X of shape (B, d₀); weights W_l have shape
(d_l, d_{l−1}); θ stacks, layer by layer, W_l row by row and then b_l.

References
----------
.. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
   Computation 6(1), 1994.
"""

from refimpl.nn.activations import ACTIVATIONS, activation_derivatives
from refimpl.nn.losses import squared_error, squared_error_hvp
from refimpl.nn.mlp import MLP
from refimpl.nn.trace import Gradients, Trace

__all__ = [
    "ACTIVATIONS",
    "Gradients",
    "MLP",
    "Trace",
    "activation_derivatives",
    "squared_error",
    "squared_error_hvp",
]
