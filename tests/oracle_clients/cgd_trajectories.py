"""CGD and its relatives on quadratic and bilinear games (cgd.*_quadratic,
cgd.cgd_step_bilinear, cgd.cgd_ill_conditioned, cgd.iteration_matrices), written from the manifests.

Manifest fields relied on: ``conventions`` (z = (x, y); x minimizes f, y minimizes g = -f;
one step size eta for both; trajectories (steps + 1, n) with the inputs first; the game
f = 1/2 x'Px + x'Ay - 1/2 y'Qy with grad_x f = Px + Ay, grad_y g = Qy - A'x, D_xy f = A,
D_yx g = -A', D_xx f = P, D_yy g = Q; each method's update rule as printed there, ACGD's
beta = 0.99, eps = 1e-5 and bias correction, SGA/ConOpt's gamma = 1; norm[k] = |(x_k, y_k)|;
iteration matrices stacked gda, altgda, extragradient, conopt, sga, lcgd, cgd, OGDA's 4x4 on
(x_k, y_k, x_{k-1}, y_{k-1}), radii in the order gda, altgda, ogda, extragradient, conopt,
sga, lcgd, cgd) and ``description`` (which method, gamma, eta).
"""

import numpy as np

METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd", "acgd")
CASES = tuple(f"{m}_quadratic" for m in METHODS) + (
    "cgd_step_bilinear",
    "cgd_ill_conditioned",
    "iteration_matrices",
)

BETA, EPS, GAMMA = 0.99, 1e-5, 1.0


class QuadraticGame:
    """f = 1/2 x'Px + x'Ay - 1/2 y'Qy, g = -f."""

    def __init__(self, P, A, Q):
        self.P, self.A, self.Q = (np.atleast_2d(np.asarray(M, dtype=float)) for M in (P, A, Q))

    def grad_x_f(self, x, y):
        return self.P @ x + self.A @ y

    def grad_y_g(self, x, y):
        return self.Q @ y - self.A.T @ x


def step(method, game, x, y, eta, state):
    """One step of `method`; `state` carries OGDA's previous point and ACGD's averages."""
    A, P, Q = game.A, game.P, game.Q
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    if method == "gda":
        return x - eta * gx, y - eta * gy
    if method == "altgda":
        x_new = x - eta * gx
        return x_new, y - eta * game.grad_y_g(x_new, y)
    if method == "ogda":
        x_prev, y_prev = state.get("previous", (x, y))
        gx_prev, gy_prev = game.grad_x_f(x_prev, y_prev), game.grad_y_g(x_prev, y_prev)
        state["previous"] = (x, y)
        return x - 2 * eta * gx + eta * gx_prev, y - 2 * eta * gy + eta * gy_prev
    if method == "extragradient":
        xt, yt = x - eta * gx, y - eta * gy
        return x - eta * game.grad_x_f(xt, yt), y - eta * game.grad_y_g(xt, yt)
    if method in ("sga", "conopt"):
        grad_y_f = -gy
        dx = gx + GAMMA * A @ grad_y_f
        dy = gy + GAMMA * A.T @ gx
        if method == "conopt":
            dx = dx + GAMMA * P @ gx
            dy = dy + GAMMA * Q @ gy
        return x - eta * dx, y - eta * dy
    if method == "lcgd":
        return x - eta * (gx - eta * A @ gy), y - eta * (gy + eta * A.T @ gx)
    if method == "cgd":
        n, m = A.shape
        dx = -np.linalg.solve(np.eye(n) + eta**2 * A @ A.T, eta * (gx - eta * A @ gy))
        dy = -np.linalg.solve(np.eye(m) + eta**2 * A.T @ A, eta * (gy + eta * A.T @ gx))
        return x + dx, y + dy
    if method == "acgd":
        t = state.get("t", 0) + 1
        vx = BETA * state.get("vx", 0.0) + (1 - BETA) * gx * gx
        vy = BETA * state.get("vy", 0.0) + (1 - BETA) * gy * gy
        state.update(t=t, vx=vx, vy=vy)
        hx = np.sqrt(1 - BETA**t) * eta / (np.sqrt(vx) + EPS)
        hy = np.sqrt(1 - BETA**t) * eta / (np.sqrt(vy) + EPS)
        Hx, Hy = np.diag(hx), np.diag(hy)
        n = len(x)
        dx = -np.linalg.solve(np.eye(n) + Hx @ A @ Hy @ A.T, Hx @ (gx - A @ Hy @ gy))
        dy = -Hy @ (gy - A.T @ dx)
        return x + dx, y + dy
    raise ValueError(method)


def run(method, game, x0, y0, eta, steps):
    xs, ys = [np.asarray(x0, float)], [np.asarray(y0, float)]
    state = {}
    for _ in range(steps):
        x, y = step(method, game, xs[-1], ys[-1], eta, state)
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def iteration_matrix(method, alpha, eta):
    """Columns are one step of `method` on f = alpha x y from the unit vectors."""
    game = QuadraticGame(0.0, alpha, 0.0)
    if method == "ogda":
        M = np.empty((4, 4))
        for c in range(4):
            e = np.eye(4)[c]
            state = {"previous": (e[2:3], e[3:4])}
            x, y = step("ogda", game, e[0:1], e[1:2], eta, state)
            M[:, c] = [x[0], y[0], e[0], e[1]]
        return M
    M = np.empty((2, 2))
    for c in range(2):
        e = np.eye(2)[c]
        x, y = step(method, game, e[0:1], e[1:2], eta, {})
        M[:, c] = [x[0], y[0]]
    return M


def compute(case_name, inputs):
    eta = float(inputs.get("eta", 0.0))
    if case_name == "iteration_matrices":
        alpha = float(inputs["alpha"])
        assert float(inputs["gamma"]) == GAMMA
        stacked = ("gda", "altgda", "extragradient", "conopt", "sga", "lcgd", "cgd")
        radii_order = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd")
        mats = {m: iteration_matrix(m, alpha, eta) for m in radii_order}
        radii = [np.max(np.abs(np.linalg.eigvals(mats[m]))) for m in radii_order]
        return {
            "iteration_matrices": np.array([mats[m] for m in stacked]),
            "ogda_iteration_matrix": mats["ogda"],
            "spectral_radii": np.array(radii),
        }
    steps = int(inputs["steps"])
    if case_name in ("cgd_step_bilinear", "cgd_ill_conditioned"):  # f = x'Ay
        n, m = inputs["A"].shape
        game = QuadraticGame(np.zeros((n, n)), inputs["A"], np.zeros((m, m)))
        xs, ys = run("cgd", game, inputs["x0"], inputs["y0"], eta, steps)
        out = {"x": xs, "y": ys}
        if case_name == "cgd_step_bilinear":
            out["norm"] = np.sqrt(np.sum(xs**2, 1) + np.sum(ys**2, 1))
        return out
    method = case_name[: -len("_quadratic")]
    game = QuadraticGame(inputs["P"], inputs["A"], inputs["Q"])
    xs, ys = run(method, game, inputs["x0"], inputs["y0"], eta, steps)
    return {"x": xs, "y": ys}
