"""Tests of refimpl.nn: exact gradients and Hessian-vector products of small MLPs.

The references are independent of the code under test: closed-form Hessians of
tiny networks, finite differences of the gradient (with a tolerance derived from
the step and a bound on the third derivative), symmetry of the assembled Hessian,
and the hand-written two-layer network of refimpl.inrank.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import seeds, sign_changes_within

from refimpl.nn import MLP, activation_derivatives, squared_error, squared_error_hvp

EPS = np.finfo(float).eps


def _problem(seed, widths, activation, bias=True):
    rng = np.random.default_rng(seed)
    net = MLP(widths, activation, bias=bias)
    theta = net.init(rng)
    if bias:  # non-zero biases so that every term of the products is exercised
        theta = theta + 0.1 * rng.standard_normal(net.n_params)
    X = rng.standard_normal((5, widths[0]))
    Y = rng.standard_normal((5, widths[-1]))
    return net, theta, X, Y, rng.standard_normal(net.n_params)


def test_linear_network_hessian_is_the_closed_form():
    # ℓ = ½‖X Wᵀ − Y‖²/B: the Hessian acts on each row of W as XᵀX/B.
    rng = np.random.default_rng(0)
    net = MLP((3, 2), bias=False)
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    theta, V = rng.standard_normal(6), rng.standard_normal((2, 3))
    expected = V @ (X.T @ X) / 7
    np.testing.assert_allclose(
        squared_error_hvp(net, theta, X, Y, V.ravel()), expected.ravel(), rtol=1e-13
    )
    value, gradient = squared_error(net, theta, X, Y)
    W = theta.reshape(2, 3)
    np.testing.assert_allclose(gradient, ((X @ W.T - Y).T @ X / 7).ravel(), rtol=1e-13)
    assert value == pytest.approx(0.5 * np.sum((X @ W.T - Y) ** 2) / 7, rel=1e-14)


@given(seed=seeds)
def test_scalar_tanh_network_hessian_is_the_closed_form(seed):
    # out = w2 tanh(w1 x), ℓ = ½(out − y)²: H = JᵀJ + r ∇²out, written by hand.
    rng = np.random.default_rng(seed)
    w1, w2, x, y = rng.uniform(-1.5, 1.5, size=4)
    t = np.tanh(w1 * x)
    s = 1 - t * t
    r = w2 * t - y
    J = np.array([w2 * s * x, t])
    curvature = np.array([[w2 * x * x * (-2 * t * s), s * x], [s * x, 0.0]])
    H = np.outer(J, J) + r * curvature
    net = MLP((1, 1, 1), "tanh", bias=False)
    for e in np.eye(2):
        got = squared_error_hvp(net, np.array([w1, w2]), [[x]], [[y]], e)
        np.testing.assert_allclose(got, H @ e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu"])
@given(seed=seeds)
def test_hvp_matches_central_differences_of_the_gradient(activation, seed):
    """Central differences of ∇ℓ along v, error ≤ h²/6·M₃ + rounding.

    M₃ bounds ‖d³/dt³ ∇ℓ(θ + tv)‖ near θ; it is estimated from second differences of
    the exact HVP with a coarser step s. Both formulas need the loss smooth on
    [θ − sv, θ + sv]: for piecewise linear activations, draws where a hidden unit changes
    sign there (about one in a hundred) are set aside, since a kink makes the difference
    quotient, not the product, wrong (seed 275 crossed one: error 1.2e4).
    """
    widths = (3, 6, 5, 2)
    net, theta, X, Y, v = _problem(seed, widths, activation)
    h, s = 1e-5, 1e-2
    if activation != "tanh":
        assume(not sign_changes_within(widths, activation, theta, v, X, s))
    hvp = squared_error_hvp(net, theta, X, Y, v)
    third = (
        squared_error_hvp(net, theta + s * v, X, Y, v)
        - 2 * hvp
        + squared_error_hvp(net, theta - s * v, X, Y, v)
    ) / s**2
    plus = squared_error(net, theta + h * v, X, Y)[1]
    minus = squared_error(net, theta - h * v, X, Y)[1]
    central = (plus - minus) / (2 * h)
    scale = max(np.abs(plus).max(), 1.0)
    tolerance = 4 * (h**2 / 6 * np.abs(third).max() + 10 * EPS * scale / h) + 1e-12
    assert np.abs(central - hvp).max() <= tolerance


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu"])
def test_assembled_hessian_is_symmetric_and_matches_differences(activation):
    net, theta, X, Y, _ = _problem(1, (2, 3, 1), activation)
    H = np.stack([squared_error_hvp(net, theta, X, Y, e) for e in np.eye(net.n_params)], axis=1)
    # Symmetry is a property of the exact Hessian, not of the code: the product runs
    # forward over reverse, and Hᵀ's columns come from different tangents.
    np.testing.assert_allclose(H, H.T, atol=1e-12 * np.abs(H).max())
    h = 1e-6
    columns = [
        (squared_error(net, theta + h * e, X, Y)[1] - squared_error(net, theta - h * e, X, Y)[1])
        / (2 * h)
        for e in np.eye(net.n_params)
    ]
    np.testing.assert_allclose(H, np.stack(columns, axis=1), atol=1e-7 * max(np.abs(H).max(), 1))


def test_input_gradient_and_input_tangent_match_differences():
    net, theta, X, _, _ = _problem(2, (2, 4, 3), "tanh")
    rng = np.random.default_rng(5)
    dX, cot = rng.standard_normal(X.shape), rng.standard_normal((5, 3))
    h = 1e-6
    trace = net.linearize(theta, X, dX=dX)
    central = (net.forward(theta, X + h * dX) - net.forward(theta, X - h * dX)) / (2 * h)
    np.testing.assert_allclose(trace.output_tangent, central, atol=1e-8)
    # ⟨cot, out(X)⟩ has gradient in X equal to Gradients.input.
    grad_X = net.linearize(theta, X).backward(cot).input
    directional = np.sum(cot * central)
    assert np.sum(grad_X * dX) == pytest.approx(directional, rel=1e-7)


def test_two_layer_relu_network_is_the_inrank_mlp():
    """MLP((n_in, h, n_out), bias=False) on X.T is inrank's W2 relu(W1 X) (columns = samples)."""
    mlp = pytest.importorskip("refimpl.inrank.mlp")
    task = pytest.importorskip("refimpl.inrank.mlp_task").relu_teacher(4, 3, 9, rng=0)
    W1, W2 = mlp.mlp_init(4, 6, 3, rng=1)
    net = MLP((4, 6, 3), "relu", bias=False)
    theta = np.concatenate([W1.ravel(), W2.ravel()])
    np.testing.assert_allclose(net.forward(theta, task.X.T).T, mlp.mlp_forward([W1, W2], task.X)[2])
    value, (g1, g2) = mlp.mlp_gradients([W1, W2], task.X, task.Y)
    ours_value, ours = squared_error(net, theta, task.X.T, task.Y.T)
    assert ours_value == pytest.approx(float(value), rel=1e-13)
    np.testing.assert_allclose(ours, np.concatenate([g1.ravel(), g2.ravel()]), atol=1e-13)


def test_layout_and_parameter_count():
    net = MLP((3, 4, 2), "leaky_relu", negative_slope=0.1)
    assert net.n_params == 4 * 3 + 4 + 2 * 4 + 2
    theta = np.arange(net.n_params, dtype=float)
    (W1, b1), (W2, b2) = net.unflatten(theta)
    assert W1[0, 1] == 1.0 and b1[0] == 12.0 and W2[0, 0] == 16.0 and b2[-1] == 25.0
    value, first, second = activation_derivatives("tanh", np.array([0.3]))
    assert first[0] == pytest.approx(1 - np.tanh(0.3) ** 2)
    assert second[0] == pytest.approx(-2 * np.tanh(0.3) * (1 - np.tanh(0.3) ** 2))


@given(seed=seeds, width=st.integers(1, 4))
def test_init_is_seeded_and_scaled(seed, width):
    net = MLP((2, width, 1))
    np.testing.assert_array_equal(net.init(seed), net.init(seed))
    np.testing.assert_allclose(net.init(seed, scale=3.0), 3 * net.init(seed))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: MLP((3,)), "widths"),
        (lambda: MLP((3, 0, 1)), "widths"),
        (lambda: MLP((3, 2), activation="sigmoid"), "activation"),
        (lambda: MLP((3, 2)).forward(np.zeros(5), np.zeros((4, 3))), "theta"),
        (lambda: MLP((3, 2)).forward(np.zeros(8), np.zeros((4, 2))), "X"),
        (lambda: MLP((3, 2)).forward(np.full(8, 1e300), np.full((4, 3), 1e300)), "theta"),
        (
            lambda: (
                MLP((3, 2))
                .linearize(np.zeros(8), np.zeros((4, 3)))
                .backward(np.zeros((4, 2)), np.zeros((4, 2)))
            ),
            "cotangent_tangent",
        ),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ---------------------------------------------------------------- issue 23: names and sizes


@pytest.mark.parametrize(
    "v", [np.zeros(3), np.full(13, np.nan), "abc", np.zeros((1, 13)), np.zeros(13) + 1j]
)
def test_hvp_errors_name_v_not_the_internal_dtheta(v):
    net = MLP((2, 3, 1), "tanh")
    with pytest.raises(ValueError, match="^v: "):
        squared_error_hvp(net, net.init(0), np.ones((4, 2)), np.ones((4, 1)), v)


def test_a_loss_that_overflows_names_the_callers_arguments():
    net = MLP((1, 1), bias=False)  # out = θx = 1e308, Y = -1e308: the residual overflows
    with pytest.raises(ValueError, match="^theta, X, Y: "):  # was "cotangent: ..."
        squared_error(net, np.array([1e308]), np.ones((1, 1)), np.full((1, 1), -1e308))


def test_batch_times_widths_is_checked_before_the_forward_pass(monkeypatch):
    from refimpl import validation

    monkeypatch.setattr(validation, "_memory_bytes", lambda: 10**7)  # a 10 MB machine
    net = MLP((2, 50, 1), "tanh")  # a trace keeps 4 × 53 floats a sample
    with pytest.raises(ValueError, match="^X: an array of shape"):
        net.forward(net.init(0), np.zeros((10**4, 2)))
