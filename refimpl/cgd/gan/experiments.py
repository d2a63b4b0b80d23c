r"""The GAN experiment: every method from the same starts, at equal cost, over seeds.

:func:`compare_gan_methods` trains one generator–discriminator pair per seed and
method with :func:`~refimpl.cgd.gan.train_gan`, and evaluates each snapshot
without any network: the energy distance between generated and real samples and
the number of modes covered. The figures, the tutorial and the benchmark of the
GAN all run through it.

References
----------
.. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
.. [2] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
"""

from __future__ import annotations

import numbers

import numpy as np

from refimpl.cgd.gan.data import GaussianMixture
from refimpl.cgd.gan.game import GANGame
from refimpl.cgd.gan.metrics import energy_distance, modes_covered
from refimpl.cgd.gan.training import GAN_METHODS, train_gan
from refimpl.nn import MLP
from refimpl.validation import DivergenceError, check_array_size, check_integer, check_positive

__all__ = ["compare_gan_methods"]


def _as_tuple(name, value, expected):
    """``value`` as a tuple, or ValueError naming ``name`` (strings and non-iterables too)."""
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name}: expected {expected}, received {value!r}")
    try:
        return tuple(value)
    except TypeError as exc:  # a class with __iter__, such as tuple itself
        raise ValueError(f"{name}: expected {expected}, received {value!r}") from exc


def _evaluate(game, x, data, real, n_eval, seed):
    try:
        samples = game.sample(x, n_eval, rng=10**6 + seed)  # the same noise for every method
        return samples, energy_distance(samples, real), modes_covered(samples, data)
    except (DivergenceError, ValueError):  # parameters too large to evaluate: a failure
        return None, np.inf, 0


def compare_gan_methods(
    data,
    methods=GAN_METHODS,
    seeds=(0,),
    budget=1000,
    eta=0.01,
    loss="wgan",
    hidden=(32, 32),
    noise_dim=4,
    batch_size=64,
    activation="relu",
    records=10,
    n_eval=500,
):
    r"""Train every method on the same GAN from the same starts; evaluate the snapshots.

    Parameters
    ----------
    data : GaussianMixture
    methods : sequence of str
        Names in :data:`~refimpl.cgd.gan.GAN_METHODS`.
    seeds : sequence of int
        One run per seed and method: the seed fixes the batches and the start.
    budget : int
        Cost of each run (gradients + Hessian-vector products).
    eta : float
        Step size of every method.
    loss : {"wgan", "cross_entropy"}
    hidden : sequence of int
        Hidden widths of both networks.
    noise_dim, batch_size : int
    activation : {"relu", "leaky_relu", "tanh"}
    records : int
        Evaluations after the start, at costs budget·j/records.
    n_eval : int
        Generated and real samples per evaluation.

    Returns
    -------
    dict
        ``"checkpoints"``: the nominal costs (records + 1,); per method a dict with,
        per seed, ``"energy"`` and ``"modes"`` (lists over the checkpoints reached,
        shorter than records + 1 when the run failed), ``"status"``, ``"steps"``,
        ``"cg_iterations"`` (mean per step), ``"final_energy"`` (None for a failed
        run) and ``"final_modes_covered"`` (0 for a failed run); and ``"samples"``:
        the last evaluated samples of the first seed.

    Notes
    -----
    Energy distance (V-statistics) against ``n_eval`` fixed real samples:

    .. math:: \mathcal E = \bigl(2\mathbb E\lVert X - Y\rVert - \mathbb E\lVert X - X'\rVert
              - \mathbb E\lVert Y - Y'\rVert\bigr)^{1/2}.

    References
    ----------
    .. [1] F. Schäfer, H. Zheng and A. Anandkumar, ICML 2020.

    Examples
    --------
    >>> from refimpl.cgd.gan import mixture_1d
    >>> out = compare_gan_methods(mixture_1d(), ("adam", "acgd"), budget=40, hidden=(4,),
    ...                           records=2, n_eval=50)
    >>> len(out["adam"]["energy"][0]), out["acgd"]["status"]
    (3, ['completed'])
    """
    if not isinstance(data, GaussianMixture):
        raise ValueError(f"data: expected a GaussianMixture, received {type(data).__name__}")
    methods = _as_tuple("methods", methods, "a sequence of method names")
    if not methods or not all(isinstance(m, str) and m in GAN_METHODS for m in methods):
        raise ValueError(f"methods: expected names among {GAN_METHODS}, received {methods!r}")
    seeds = _as_tuple("seeds", seeds, "a sequence of integer seeds")
    if not seeds or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and 0 <= s < 2**31
        for s in seeds
    ):
        raise ValueError(f"seeds: expected integers in [0, 2^31), received {seeds!r}")
    hidden = _as_tuple("hidden", hidden, "a sequence of widths")
    if not hidden or not all(
        isinstance(w, numbers.Integral) and not isinstance(w, bool) and 1 <= w <= 4096
        for w in hidden
    ):
        raise ValueError(f"hidden: expected widths in [1, 4096], received {hidden!r}")
    budget = check_integer("budget", budget, minimum=1, maximum=10**7)
    eta = check_positive("eta", eta)
    records = check_integer("records", records, minimum=1, maximum=1000)
    n_eval = check_integer("n_eval", n_eval, minimum=2, maximum=20000)
    noise_dim = check_integer("noise_dim", noise_dim, minimum=1, maximum=10**4)
    check_array_size("n_eval", (n_eval, n_eval, data.dim))  # the energy distance's differences
    checkpoints = np.arange(records + 1) * budget / records
    out = {"checkpoints": checkpoints}
    for method in methods:
        result = {key: [] for key in ("energy", "modes", "status", "steps", "cg_iterations")}
        result["samples"] = None
        for i, seed in enumerate(seeds):
            generator = MLP((noise_dim, *hidden, data.dim), activation)
            discriminator = MLP((data.dim, *hidden, 1), activation)
            game = GANGame(generator, discriminator, data, batch_size, loss, rng=seed)
            x0, y0 = generator.init(seed + 1000), discriminator.init(seed + 2000)
            run = train_gan(game, method, x0, y0, budget, eta, records=records, on_failure="stop")
            real = data.sample(n_eval, rng=2 * 10**6 + seed)
            energy, modes = [], []
            for x, _ in run.snapshots[: records + 1]:
                samples, distance, covered = _evaluate(game, x, data, real, n_eval, seed)
                if samples is None:
                    break
                energy.append(distance)
                modes.append(covered)
                if i == 0:
                    result["samples"] = samples
            result["energy"].append(energy)
            result["modes"].append(modes)
            result["status"].append(run.status)
            result["steps"].append(run.steps_taken)
            iterations = run.inner_iterations
            result["cg_iterations"].append(float(iterations.mean()) if iterations.size else 0.0)
        complete = [len(e) == records + 1 for e in result["energy"]]
        result["final_energy"] = [
            e[-1] if ok else None for e, ok in zip(result["energy"], complete, strict=True)
        ]
        result["final_modes_covered"] = [
            m[-1] if ok else 0 for m, ok in zip(result["modes"], complete, strict=True)
        ]
        out[method] = result
    return out
