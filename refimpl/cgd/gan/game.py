r"""A small GAN as a zero-sum game of :mod:`refimpl.cgd`, with exact second-order products.

Player x is the **generator** G (parameters θ_G ∈ ℝⁿ) and player y the
**discriminator** D (θ_D ∈ ℝᵐ). On a mini-batch of B real samples x_i and B noise
vectors z_i, x minimizes and y maximizes

.. math::

    f(\theta_G, \theta_D) = \frac1B \sum_i \phi_{\text{real}}\bigl(D(x_i)\bigr)
        + \frac1B \sum_i \phi_{\text{fake}}\bigl(D(G(z_i))\bigr), \qquad g = -f,

with ``loss="wgan"``: φ_real(s) = s, φ_fake(s) = −s, so f = E D(x) − E D(G(z))
(no clipping, no gradient penalty); and ``loss="cross_entropy"``:
φ_real(s) = log σ(s), φ_fake(s) = log(1 − σ(s)) (the minimax game of [1]_, D
giving logits). This is the authors' WGAN game with the roles named the other way
round: their loss E D(G(z)) − E D(x) is maximized by the generator.

The game keeps one mini-batch; :meth:`GANGame.resample` draws the next one from the
game's seeded Generator, so the gradients and all products of one step see the
same batch. Every derivative is exact: reverse mode for gradients, forward over
reverse (Pearlmutter's R-operator) for D_xy f·v, D_yx g·u, D_xx f·u and D_yy g·v.

The module holds the game, its two losses (φ_real, φ_fake with their first two
derivatives, written through softplus so that large logits do not overflow) and its
four second-order products (each takes the cached forward pass at (x, y) and one
direction; see ``docs/derivations/gan.md``, section 2).

References
----------
.. [1] I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014.
.. [2] M. Arjovsky, S. Chintala and L. Bottou, "Wasserstein GAN", ICML 2017.
.. [3] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020, arXiv:1910.05852.
.. [4] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.games import Game
from refimpl.cgd.gan.data import GaussianMixture
from refimpl.nn import MLP
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_choice,
    check_divergence,
    check_integer,
)

__all__ = ["LOSSES", "GANGame"]

#: The GAN losses of :class:`GANGame`.
LOSSES = ("wgan", "cross_entropy")

#: The remedy that the game's DivergenceErrors name.
_LOWER = "the parameters are too large: lower the step size"


class GANGame(Game):
    r"""Generator (player x, minimizes f) against discriminator (player y, maximizes f).

    Parameters
    ----------
    generator : refimpl.nn.MLP
        Widths (k, …, d): noise of dimension k to samples of dimension d.
    discriminator : refimpl.nn.MLP
        Widths (d, …, 1): one score (a logit for the cross-entropy loss) per sample.
    data : GaussianMixture
        The target distribution (dimension d).
    batch_size : int
        B, the mini-batch size of real samples and of noise vectors.
    loss : {"wgan", "cross_entropy"}
    rng : numpy.random.Generator or int
        Draws every mini-batch: the first at construction, the next at each
        :meth:`resample`.

    Attributes
    ----------
    n, m : int
        Parameters of the generator and of the discriminator.
    zero_sum : bool
        True: g = −f.
    real : ndarray, shape (B, d)
    noise : ndarray, shape (B, k)
        The current mini-batch (standard normal noise).
    batch : int
        Batches drawn so far (1 after construction): the step number of errors.

    Notes
    -----
    With s_i = D(G(z_i)) and c_i = φ'_fake(s_i)/B the cotangent of the fake scores,
    the mixed products come out of one tangent pass each:

    .. math::

        D_{xy} f\, v = J_G^\top\, \frac{d}{d\varepsilon}\Bigl[\nabla_X D_{\theta_D + \varepsilon v}
            (G(z))^\top c(\varepsilon)\Bigr], \qquad
        D_{yx} f\, u = \frac{d}{d\varepsilon}\Bigl[\nabla_{\theta_D}
            D_{\theta_D}(G(z) + \varepsilon J_G u)^\top c(\varepsilon)\Bigr],

    where c(ε) follows the scores (its derivative is φ''_fake(s) ṡ / B); the real
    samples do not depend on θ_G and drop out of both.

    References
    ----------
    .. [3] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.
    .. [4] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> from refimpl.nn import MLP
    >>> from refimpl.cgd.gan.data import two_modes
    >>> game = GANGame(MLP((2, 8, 2)), MLP((2, 8, 1)), two_modes(), batch_size=16, rng=0)
    >>> x, y = game.generator.init(rng=1), game.discriminator.init(rng=2)
    >>> game.grad_x_f(x, y).shape, game.dxy_f(x, y, y).shape
    ((42,), (42,))
    """

    zero_sum = True

    def __init__(self, generator, discriminator, data, batch_size=64, loss="wgan", rng=0):
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, MLP):
                raise ValueError(f"{name}: expected a refimpl.nn.MLP, received {net!r}")
        if not isinstance(data, GaussianMixture):
            raise ValueError(f"data: expected a GaussianMixture, received {type(data).__name__}")
        if generator.n_outputs != data.dim:
            raise ValueError(
                f"generator: expected {data.dim} outputs (the data's dimension), "
                f"received widths {generator.widths}"
            )
        if discriminator.widths[0] != data.dim or discriminator.n_outputs != 1:
            raise ValueError(
                f"discriminator: expected widths ({data.dim}, ..., 1), "
                f"received {discriminator.widths}"
            )
        self.generator, self.discriminator, self.data = generator, discriminator, data
        self.batch_size = check_integer("batch_size", batch_size, minimum=1, maximum=10**7)
        # B × (the widths of both networks) before the first batch is drawn or pushed through
        check_array_size(
            "batch_size", (self.batch_size, _floats_per_sample(generator, discriminator))
        )
        self.loss = check_choice("loss", loss, LOSSES)
        self.rng = as_generator(rng)
        self.n, self.m = generator.n_params, discriminator.n_params
        self.batch = 0
        self._cache = None
        self.resample()

    def __repr__(self):
        return (
            f"GANGame(generator={self.generator!r}, discriminator={self.discriminator!r}, "
            f"loss={self.loss!r}, batch_size={self.batch_size})"
        )

    # ------------------------------------------------------------------ batches

    def resample(self):
        r"""Draw the next mini-batch (real samples and noise) from the game's Generator.

        Returns
        -------
        None

        Notes
        -----
        .. math:: x_i \sim p_{\text{data}}, \qquad z_i \sim \mathcal N(0, I_k),
                  \qquad i = 1, \ldots, B.

        References
        ----------
        .. [3] F. Schäfer, H. Zheng and A. Anandkumar, ICML 2020.

        Examples
        --------
        >>> from refimpl.nn import MLP
        >>> from refimpl.cgd.gan.data import mixture_1d
        >>> game = GANGame(MLP((1, 1)), MLP((1, 1)), mixture_1d(), batch_size=4, rng=0)
        >>> game.resample(); game.batch
        2
        """
        real = self.data.sample(self.batch_size, self.rng)
        noise = self.rng.standard_normal((self.batch_size, self.generator.n_inputs))
        self._set(real, noise)

    def set_batch(self, real, noise):
        r"""Use the given mini-batch (for tests and for evaluating on a fixed batch).

        Parameters
        ----------
        real : ndarray, shape (B, d)
        noise : ndarray, shape (B', k)
            Any numbers of rows B, B' ≥ 1.

        Returns
        -------
        None

        Notes
        -----
        The averages in f then run over these rows:

        .. math:: f = \tfrac{1}{B}\textstyle\sum_i \phi_{\text{real}}(D(x_i))
                  + \tfrac{1}{B'}\sum_j \phi_{\text{fake}}(D(G(z_j))).

        References
        ----------
        .. [3] F. Schäfer, H. Zheng and A. Anandkumar, ICML 2020.

        Examples
        --------
        >>> import numpy as np
        >>> from refimpl.nn import MLP
        >>> from refimpl.cgd.gan.data import mixture_1d
        >>> game = GANGame(MLP((1, 1)), MLP((1, 1)), mixture_1d(), batch_size=4, rng=0)
        >>> game.set_batch(np.ones((3, 1)), np.zeros((2, 1))); game.real.shape
        (3, 1)
        """
        real = as_float_array("real", real, ndim=2)
        noise = as_float_array("noise", noise, ndim=2)
        if real.shape[0] < 1 or real.shape[1] != self.data.dim:
            raise ValueError(
                f"real: expected shape (B, {self.data.dim}) with B >= 1, received {real.shape}"
            )
        if noise.shape[0] < 1 or noise.shape[1] != self.generator.n_inputs:
            raise ValueError(
                f"noise: expected shape (B, {self.generator.n_inputs}) with B >= 1, "
                f"received {noise.shape}"
            )
        check_array_size("real", (real.shape[0], _floats_per_sample(None, self.discriminator)))
        check_array_size(
            "noise", (noise.shape[0], _floats_per_sample(self.generator, self.discriminator))
        )
        self._set(real, noise)

    def _set(self, real, noise):
        self.real, self.noise = real, noise
        self.batch += 1
        self._cache = None

    # ------------------------------------------------------------------ the core

    def _point(self, x, y):
        x = as_float_array("x", x, ndim=1)
        y = as_float_array("y", y, ndim=1)
        for name, vector, size in (("x", x, self.n), ("y", y, self.m)):
            if vector.shape != (size,):
                raise ValueError(
                    f"{name}: expected shape ({size},) for this GAN, received {vector.shape}"
                )
        backend.array_namespace(x, y)
        return x, y

    def _forward(self, x, y):
        """Traces of G on the noise and of D on the real and fake samples (cached)."""
        c = self._cache
        same_backend = c is not None and type(c["x"]) is type(x)  # CuPy refuses NumPy mixed in
        if same_backend and np.array_equal(c["x"], x) and np.array_equal(c["y"], y):
            return c
        # The batch is drawn on the host; this is its one transfer to the parameters'
        # device (a no-op for NumPy parameters).
        noise, real = backend.asarray(self.noise, like=x), backend.asarray(self.real, like=y)
        with np.errstate(all="ignore"):
            G = self.generator._trace(x, noise)
            fake = G.output
            D_real = self.discriminator._trace(y, real)
            D_fake = self.discriminator._trace(y, fake)
            s_real, s_fake = D_real.output[:, 0], D_fake.output[:, 0]
            real_terms = _loss_terms(self.loss, s_real, 0)
            fake_terms = _loss_terms(self.loss, s_fake, 1)
        # an overflow names the batch: the training step that reached these parameters
        check_divergence(fake, self.batch, what="the generated samples", hint=_LOWER)
        scores = np.concatenate([s_real, s_fake])
        check_divergence(scores, self.batch, what="the discriminator's scores", hint=_LOWER)
        with np.errstate(all="ignore"):
            value = float(real_terms[0].mean() + fake_terms[0].mean())
        check_divergence(value, self.batch, what="the loss of the GAN", hint=_LOWER)
        B_real, B_fake = s_real.shape[0], s_fake.shape[0]
        self._cache = {
            "x": x.copy(),
            "y": y.copy(),
            "noise": noise,  # the batch on the parameters' device, for the products
            "real": real,
            "G": G,
            "fake": fake,
            "D_real": D_real,
            "D_fake": D_fake,
            "value": value,
            "cot_real": (real_terms[1] / B_real)[:, None],
            "cot_fake": (fake_terms[1] / B_fake)[:, None],
            "curv_real": (real_terms[2] / B_real)[:, None],
            "curv_fake": (fake_terms[2] / B_fake)[:, None],
        }
        return self._cache

    def _grads(self, x, y):
        c = self._forward(x, y)
        if "grad_x" not in c:
            with np.errstate(all="ignore"):
                back_fake = c["D_fake"]._backward(c["cot_fake"])
                back_real = c["D_real"]._backward(c["cot_real"])
                c["grad_x"] = c["G"]._backward(back_fake.input).theta
                c["grad_y"] = back_real.theta + back_fake.theta
            gradient = np.concatenate([c["grad_x"], c["grad_y"]])
            check_divergence(gradient, self.batch, what="the gradient of the GAN", hint=_LOWER)
        return c["grad_x"], c["grad_y"]

    def _blockwise(self, product, x, y, vectors, size, name):
        vectors = as_float_array(name, vectors, ndim=(1, 2))
        if vectors.shape[0] != size or (vectors.ndim == 2 and vectors.shape[1] == 0):
            raise ValueError(
                f"{name}: expected shape ({size},) or ({size}, k), received {vectors.shape}"
            )
        x, y = self._point(x, y)
        c = self._forward(x, y)
        with np.errstate(all="ignore"):
            if vectors.ndim == 1:
                out = product(self, c, x, y, vectors)
            else:
                out = np.stack([product(self, c, x, y, v) for v in vectors.T], axis=1)
        check_divergence(out, self.batch, what="a Hessian-vector product", hint=_LOWER)
        return out

    # ------------------------------------------------------------------ the protocol

    def f(self, x, y):
        """The generator's loss f on the current batch (a float); see the class notes."""
        return self._forward(*self._point(x, y))["value"]

    def g(self, x, y):
        """The discriminator's loss g = −f."""
        return -self.f(x, y)

    def grad_x_f(self, x, y):
        """∇_{θ_G} f, shape (n,)."""
        return self._grads(*self._point(x, y))[0]

    def grad_y_g(self, x, y):
        """∇_{θ_D} g = −∇_{θ_D} f, shape (m,)."""
        return -self._grads(*self._point(x, y))[1]

    def dxy_f(self, x, y, v):
        """D_xy f · v for v of shape (m,) or (m, k)."""
        return self._blockwise(_dxy, x, y, v, self.m, "v")

    def dyx_g(self, x, y, u):
        """D_yx g · u = −D_yx f · u for u of shape (n,) or (n, k)."""
        return -self._blockwise(_dyx, x, y, u, self.n, "u")

    def dxx_f(self, x, y, u):
        """D_xx f · u for u of shape (n,) or (n, k)."""
        return self._blockwise(_dxx, x, y, u, self.n, "u")

    def dyy_g(self, x, y, v):
        """D_yy g · v = −D_yy f · v for v of shape (m,) or (m, k)."""
        return -self._blockwise(_dyy, x, y, v, self.m, "v")

    def sample(self, x, size, rng):
        r"""Draw ``size`` samples G(z) of the generator with parameters x.

        Parameters
        ----------
        x : ndarray, shape (n,)
        size : int
        rng : numpy.random.Generator or int
            Draws the noise (not the game's own Generator).

        Returns
        -------
        ndarray, shape (size, d)

        Notes
        -----
        .. math:: G_{\theta}(z_j), \qquad z_j \sim \mathcal N(0, I_k).

        References
        ----------
        .. [1] I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014.

        Examples
        --------
        >>> from refimpl.nn import MLP
        >>> from refimpl.cgd.gan.data import mixture_1d
        >>> game = GANGame(MLP((1, 1)), MLP((1, 1)), mixture_1d(), rng=0)
        >>> game.sample(game.generator.init(rng=0), 5, rng=1).shape
        (5, 1)
        """
        x = as_float_array("x", x, ndim=1)
        if x.shape != (self.n,):
            raise ValueError(f"x: expected shape ({self.n},) for this GAN, received {x.shape}")
        size = check_integer("size", size, minimum=1, maximum=10**7)
        check_array_size("size", (size, _floats_per_sample(self.generator, None)))
        rng = as_generator(rng)
        noise = rng.standard_normal((size, self.generator.n_inputs))
        with np.errstate(all="ignore"):
            out = self.generator._trace(x, noise).output
        check_divergence(out, self.batch, what="the generated samples", hint=_LOWER)
        return out


def _floats_per_sample(generator, discriminator):
    """Floats that one sample keeps in the traces of a forward pass (to check sizes with).

    Each layer of a trace keeps its activations, pre-activations and two derivatives
    (4 floats per unit); the discriminator runs on the real and on the fake samples.
    """
    units = sum(generator.widths) if generator is not None else 0
    units += 2 * sum(discriminator.widths) if discriminator is not None else 0
    return 4 * units


# ------------------------------------------------------------------ the losses


def _sigmoid(s):
    return 0.5 * (1.0 + np.tanh(0.5 * s))


def _loss_terms(loss, s, which):
    """φ(s), φ'(s), φ''(s) of the real (which=0) or fake (which=1) term."""
    if loss == "wgan":
        sign = 1.0 if which == 0 else -1.0
        return sign * s, sign + 0.0 * s, 0.0 * s
    sig = _sigmoid(s)
    curvature = -sig * (1.0 - sig)
    if which == 0:  # log σ(s) = −softplus(−s)
        return -np.logaddexp(0.0, -s), 1.0 - sig, curvature
    return -np.logaddexp(0.0, s), -sig, curvature  # log(1 − σ(s)) = −softplus(s)


# ------------------------------------------------------ the products, forward over reverse


def _dxy(game, c, x, y, v):
    """D_xy f·v: tangent θ̇_D = v through D's reverse pass at the fakes, then back through G."""
    tangent = game.discriminator._trace(y, c["fake"], dtheta=v)
    ds = tangent.output_tangent
    back = tangent._backward(c["cot_fake"], c["curv_fake"] * ds)
    return c["G"]._backward(back.input_tangent).theta


def _dyx(game, c, x, y, u):
    """D_yx f·u: G's tangent moves the fakes by J_G u; D's tangent reverse pass gives the answer."""
    dfake = game.generator._trace(x, c["noise"], dtheta=u).output_tangent
    tangent = game.discriminator._trace(y, c["fake"], dX=dfake)
    back = tangent._backward(c["cot_fake"], c["curv_fake"] * tangent.output_tangent)
    return back.theta_tangent


def _dxx(game, c, x, y, u):
    """D_xx f·u: as D_yx f·u, then the tangent of G's reverse pass as well."""
    G = game.generator._trace(x, c["noise"], dtheta=u)
    tangent = game.discriminator._trace(y, c["fake"], dX=G.output_tangent)
    back = tangent._backward(c["cot_fake"], c["curv_fake"] * tangent.output_tangent)
    return G._backward(back.input, back.input_tangent).theta_tangent


def _dyy(game, c, x, y, v):
    """D_yy f·v: D's tangent reverse pass along θ̇_D = v, on the real and on the fake samples."""
    total = 0.0
    for samples, cot, curv in (
        (c["real"], c["cot_real"], c["curv_real"]),
        (c["fake"], c["cot_fake"], c["curv_fake"]),
    ):
        tangent = game.discriminator._trace(y, samples, dtheta=v)
        total = total + tangent._backward(cot, curv * tangent.output_tangent).theta_tangent
    return total
