"""Gradients and exact Hessian-vector products of a small WGAN game (cgd.gan_step_products).

Manifest fields relied on: ``conventions`` (theta = [W1 (out, in) row-major, b1, W2, b2, ...];
tanh hidden layers, linear output; samples are rows; x = theta_G minimizes f, y = theta_D
maximizes f; f = mean D(real) - mean D(G(noise)); g = -f; outputs grad_x f, grad_y g,
D_xy f v, D_yx g u, D_xx f u, D_yy g v) and ``description`` / inputs (widths 2-6-2 and 2-6-1,
one batch of 8).

The gradients are a hand-written reverse pass; each Hessian-vector product is the directional
derivative of a gradient, taken by the complex step d/de grad(theta + e w) = Im grad(theta +
i h w) / h, which is exact to rounding for analytic code (tanh, products, sums).
"""

import numpy as np

CASES = ("gan_step_products",)

H = 1e-100  # complex step: no subtraction, so no cancellation


def unpack(theta, widths):
    """[(W, b), ...] from the flat vector: per layer W (out, in) row-major, then b."""
    layers, at = [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        W = theta[at : at + n_out * n_in].reshape(n_out, n_in)
        at += n_out * n_in
        b = theta[at : at + n_out]
        at += n_out
        layers.append((W, b))
    return layers


def forward(theta, widths, X):
    """Output rows and the per-layer inputs/activations needed by the reverse pass."""
    layers = unpack(theta, widths)
    inputs, a = [], X
    for i, (W, b) in enumerate(layers):
        inputs.append(a)
        z = a @ W.T + b
        a = np.tanh(z) if i < len(layers) - 1 else z
    return a, inputs


def backward(theta, widths, X, cotangent):
    """(d/dtheta, d/dX) of sum(cotangent * network(X))."""
    layers = unpack(theta, widths)
    _, inputs = forward(theta, widths, X)
    grads = []
    g = cotangent
    for i in range(len(layers) - 1, -1, -1):
        W, _ = layers[i]
        a_prev = inputs[i]
        grads.append((g.T @ a_prev, g.sum(axis=0)))
        g = g @ W
        if i > 0:
            g = g * (1.0 - a_prev * a_prev)  # a_prev = tanh(z_{i-1})
    flat = []
    for gW, gb in reversed(grads):
        flat.extend([gW.ravel(), gb])
    return np.concatenate(flat), g


def gradients(theta_G, theta_D, gw, dw, real, noise):
    """(grad_x f, grad_y f) for f = mean D(real) - mean D(G(noise))."""
    fake, _ = forward(theta_G, gw, noise)
    ones_real = np.ones((len(real), 1)) / len(real)
    ones_fake = np.ones((len(fake), 1)) / len(fake)
    gD_real, _ = backward(theta_D, dw, real, ones_real)
    gD_fake, gX_fake = backward(theta_D, dw, fake, ones_fake)
    grad_y_f = gD_real - gD_fake
    grad_x_f, _ = backward(theta_G, gw, noise, -gX_fake)
    return grad_x_f, grad_y_f


def compute(case_name, inputs):
    gw = [int(w) for w in inputs["generator_widths"]]
    dw = [int(w) for w in inputs["discriminator_widths"]]
    x, y = inputs["theta_G"], inputs["theta_D"]
    u, v = inputs["u"], inputs["v"]
    real, noise = inputs["real"], inputs["noise"]

    def grads(xx, yy):
        return gradients(xx, yy, gw, dw, real.astype(complex), noise.astype(complex))

    gx, gy_f = gradients(x, y, gw, dw, real, noise)
    along_u = grads(x + 1j * H * u, y.astype(complex))  # moves x along u
    along_v = grads(x.astype(complex), y + 1j * H * v)  # moves y along v
    return {
        "grad_x_f": gx,
        "grad_y_g": -gy_f,
        "dxy_f_v": along_v[0].imag / H,
        "dyx_g_u": -along_u[1].imag / H,
        "dxx_f_u": along_u[0].imag / H,
        "dyy_g_v": -along_v[1].imag / H,
    }
