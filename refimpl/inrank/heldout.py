r"""The MLP experiment with held-out loss: full rank against InRank on a noisy low-rank teacher.

A two-layer ReLU MLP (``n_in → hidden → n_out``) is trained with Adam on few noisy
samples of a narrow ReLU teacher (:func:`refimpl.inrank.mlp_task.relu_teacher` with
``k = 4`` hidden units, so the teacher's first layer has rank 4: a low-rank update is a
plausible inductive bias) and evaluated on fresh samples of the same teacher, label
noise included. With ``σ`` the noise level the best possible held-out loss is the noise
floor :math:`\tfrac12 n_{\text{out}}\sigma^2`. Full rank and InRank (official rule,
rank cap stated in the result) start from the same initialization; the training loop is
deterministic, so a run of ``t`` steps is the first ``t`` steps of a longer run, and the
held-out loss over training is measured by runs of growing length.

References
----------
.. [1] J. Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5.

Examples
--------
>>> out = mlp_heldout(quick=True)
>>> out["rank_cap"], out["noise_floor"]
(8, 8.0)
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.algorithm import full_rank_train, inrank
from refimpl.inrank.backprop import predict
from refimpl.inrank.mlp import mlp_init
from refimpl.inrank.mlp_task import relu_teacher
from refimpl.inrank.rank import effective_rank
from refimpl.validation import check_integer

__all__ = ["HELDOUT_SIZES", "mlp_heldout"]

HELDOUT_SIZES = {
    True: {"budgets": (25, 75), "n_train": 256, "n_test": 500},
    False: {"budgets": (25, 50, 100, 200, 300, 500, 1000, 2000), "n_train": 512, "n_test": 4000},
}
N_IN, HIDDEN, N_OUT, TEACHER_HIDDEN, NOISE, LR, RANK_CAP = 32, 64, 16, 4, 1.0, 3e-3, 8


def mlp_heldout(quick=False, rng=0):
    r"""Training and held-out loss over training, full rank and InRank (Adam).

    Parameters
    ----------
    quick : bool
        Sizes of :data:`HELDOUT_SIZES`.
    rng : int
        Seed of the task; the init uses ``rng + 1``, InRank's factors ``rng + 2``.

    Returns
    -------
    dict
        ``budgets``; ``full`` and ``inrank`` each with ``train_loss`` and ``test_loss``
        per budget (and ``ranks`` for InRank; for full rank the singular values
        ``update_sv`` of each layer's ``W_t − W_0`` and their effective ranks at 0.9,
        ``update_rank_energy`` and ``update_rank_variance``: claim (a) on the MLP);
        ``rank_cap``, ``noise``, ``noise_floor``, ``sizes`` and ``settings``.

    Notes
    -----
    Loss ``½‖f(X) − Y‖²_F / n`` on each split; its floor on fresh noisy data is

    .. math:: \mathbb E\,\tfrac12\|\varepsilon\|^2 = \tfrac12 n_{\text{out}}\sigma^2 .

    References
    ----------
    Zhao et al. (2024), Section 5.

    Examples
    --------
    >>> out = mlp_heldout(quick=True)
    >>> len(out["full"]["test_loss"]) == len(out["budgets"])
    True
    """
    if not isinstance(quick, bool | np.bool_):
        raise ValueError(f"quick: expected True or False, received {quick!r}")
    sizes = HELDOUT_SIZES[bool(quick)]
    rng = check_integer("rng", rng, minimum=0, maximum=2**31)
    n_train, n_test = sizes["n_train"], sizes["n_test"]
    task = relu_teacher(
        N_IN, N_OUT, n_train + n_test, rng=rng, teacher_hidden=TEACHER_HIDDEN, noise=NOISE
    )
    X, Y = task.X[:, :n_train], task.Y[:, :n_train]  # (n_in, n_train), (n_out, n_train)
    Xt, Yt = task.X[:, n_train:], task.Y[:, n_train:]
    weights = mlp_init(N_IN, HIDDEN, N_OUT, rng=rng + 1)
    settings = {
        "threshold": 0.9,
        "ratio": "variance",
        "initial_rank": 2,
        "warmup": 20,
        "gap": 10,
        "rank_cap": RANK_CAP,
    }
    out = {
        "full": {
            "train_loss": [],
            "test_loss": [],
            "update_sv": [],
            "update_rank_energy": [],
            "update_rank_variance": [],
        },
        "inrank": {"train_loss": [], "test_loss": [], "ranks": []},
    }
    for steps in sizes["budgets"]:
        runs = {
            "full": full_rank_train(
                weights, X, Y, LR, steps, activation="relu", optimizer="adam", record_every=steps
            ),
            "inrank": inrank(
                weights,
                X,
                Y,
                LR,
                steps,
                activation="relu",
                optimizer="adam",
                record_every=steps,
                rng=rng + 2,
                **settings,
            ),
        }
        for name, res in runs.items():
            residual = predict(res.layers, Xt, "relu") - Yt  # (n_out, n_test)
            out[name]["train_loss"].append(float(res.loss[-1]))
            out[name]["test_loss"].append(
                float(0.5 * backend.to_numpy((residual**2).sum()) / n_test)
            )
        out["inrank"]["ranks"].append(backend.to_numpy(runs["inrank"].ranks[-1]).tolist())
        # claim (a) on the MLP: spectra of the full-rank run's cumulative updates W_t − W_0
        sv = [
            np.linalg.svd(backend.to_numpy(w - w0), compute_uv=False)
            for w, w0 in zip(runs["full"].weights, weights, strict=True)
        ]
        out["full"]["update_sv"].append([s.tolist() for s in sv])
        for kind in ("energy", "variance"):
            out["full"][f"update_rank_{kind}"].append(
                [int(effective_rank(s, 0.9, kind)) for s in sv]
            )
    out.update(
        budgets=list(sizes["budgets"]),
        rank_cap=RANK_CAP,
        noise=NOISE,
        noise_floor=0.5 * N_OUT * NOISE**2,
        settings=settings,
        sizes={
            "n_in": N_IN,
            "hidden": HIDDEN,
            "n_out": N_OUT,
            "teacher_hidden": TEACHER_HIDDEN,
            "n_train": n_train,
            "n_test": n_test,
            "lr": LR,
        },
    )
    return out
