r"""Golden case of :mod:`refimpl.cgd.gan`: one GAN step's gradients and exact products.

Networks are :class:`refimpl.nn.MLP` with tanh activations and biases; a parameter
vector stacks, layer by layer, the weight matrix (shape ``(out, in)``, row-major)
and then the bias. Samples are rows. The generator is player x and minimizes
:math:`f`, the discriminator is player y and maximizes it; the WGAN loss is
:math:`f = \frac1B\sum_i D(x_i) - \frac1B\sum_i D(G(z_i))` on the stored batch.
"""

from __future__ import annotations

import numpy as np

from refimpl.oracle.case import Case, LazyModule, Tolerance, register

nn = LazyModule("refimpl.nn")
gan = LazyModule("refimpl.cgd.gan")

CONVENTIONS = (
    "θ = [W1 (out, in) row-major, b1, W2, b2, ...]; tanh hidden layers, linear output; "
    "samples are rows; x = θ_G minimizes f, y = θ_D maximizes f; "
    "f = mean D(real) − mean D(G(noise)) (WGAN); g = −f; "
    "outputs: ∇_x f, ∇_y g, D_xy f·v, D_yx g·u, D_xx f·u, D_yy g·v"
)


def _inputs():
    rng = np.random.default_rng(21)
    generator = nn.MLP((2, 6, 2), "tanh")
    discriminator = nn.MLP((2, 6, 1), "tanh")
    return {
        "generator_widths": np.array([2, 6, 2]),
        "discriminator_widths": np.array([2, 6, 1]),
        "theta_G": generator.init(rng, 0.5),
        "theta_D": discriminator.init(rng, 0.5),
        "real": rng.standard_normal((8, 2)),
        "noise": rng.standard_normal((8, 2)),
        "u": rng.standard_normal(generator.n_params),  # a direction for the generator
        "v": rng.standard_normal(discriminator.n_params),  # one for the discriminator
    }


def _game(inputs):
    generator = nn.MLP(tuple(int(w) for w in inputs["generator_widths"]), "tanh")
    discriminator = nn.MLP(tuple(int(w) for w in inputs["discriminator_widths"]), "tanh")
    game = gan.GANGame(generator, discriminator, gan.two_modes(), batch_size=8, rng=0)
    game.set_batch(inputs["real"], inputs["noise"])
    return game


def _products(inputs):
    game = _game(inputs)
    x, y, u, v = inputs["theta_G"], inputs["theta_D"], inputs["u"], inputs["v"]
    return {
        "grad_x_f": game.grad_x_f(x, y),
        "grad_y_g": game.grad_y_g(x, y),
        "dxy_f_v": game.dxy_f(x, y, v),
        "dyx_g_u": game.dyx_g(x, y, u),
        "dxx_f_u": game.dxx_f(x, y, u),
        "dyy_g_v": game.dyy_g(x, y, v),
    }


_ROUNDING = Tolerance(
    1e-13,
    1e-11,
    "two small tanh networks on 8 samples: forward, reverse and tangent passes of a few "
    "hundred flops each, ~100ε relative; 1e-11 allows another evaluation order",
)
register(
    Case(
        name="cgd.gan_step_products",
        function="refimpl.cgd.gan.GANGame",
        description="gradients and exact Hessian-vector products of the WGAN game with a "
        "2→6→2 tanh generator and a 2→6→1 tanh discriminator on one stored batch of 8",
        conventions=CONVENTIONS,
        make_inputs=_inputs,
        compute=_products,
        checks=lambda: {name: _ROUNDING for name in _products(_inputs())},
    )
)
