r"""InRank's two empirical claims, measured on the NumPy transformer and the grammar corpus.

* :func:`update_spectra` — claim (a): train the full-rank model with SGD and with Adam
  from GPT-2's initialization and record the singular values of every linear layer's
  cumulative update ``W_t − W_0``, its effective rank under the energy and the
  variance ratio (over all ``min(m, n)`` values, as the official code), and the step
  at which each of the leading directions reaches half its final size (the order in
  which directions are learned).
* :func:`inrank_comparison` — claim (b): full rank, InRank and efficient InRank from the
  same initialization, on the same batches, for the same number of steps: validation
  loss, ranks per layer over training, fraction of the full rank, trainable and stored
  parameters, seconds per step.

The official defaults (threshold 0.9, initial rank 2, warm-up 200, gap 25, buffer 100,
cap ``min(m, n)/2``) are for GPT-2 runs of 10⁵ steps on 768-wide layers; here the runs
are a few hundred steps on 32–64-wide layers, so warm-up and gap are scaled to about
10 % and 2.5 % of the steps, the buffer to ``cap/4`` and the adaptive stage of the
efficient variant to the first third of the steps (the official code adapts for
about one epoch of 10⁵ steps).

References
----------
.. [1] J. Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Sections 3–5.

Examples
--------
>>> out = update_spectra(quick=True)
>>> sorted(out["runs"])
['adam', 'sgd']
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.corpus import grammar_corpus
from refimpl.inrank.rank import effective_rank
from refimpl.inrank.transformer import Transformer
from refimpl.inrank.transformer_train import train_transformer
from refimpl.validation import as_float_array, check_integer

__all__ = ["SIZES", "update_spectra", "inrank_comparison", "learned_order"]

#: Model and run sizes: quick (seconds) and full (minutes) on one CPU core.
SIZES = {
    True: {
        "n_chars": 20_000,
        "d_model": 16,
        "n_heads": 2,
        "n_layers": 1,
        "context": 12,
        "batch": 8,
        "steps": 60,
        "record_every": 10,
    },
    False: {
        "n_chars": 200_000,
        "d_model": 48,
        "n_heads": 4,
        "n_layers": 2,
        "context": 24,
        "batch": 16,
        "steps": 600,
        "record_every": 25,
    },
}
LEARNING_RATES = {"sgd": 0.5, "adam": 3e-3}


def _check_quick(quick):
    if not isinstance(quick, bool | np.bool_):
        raise ValueError(f"quick: expected True or False, received {quick!r}")
    return SIZES[bool(quick)]


def learned_order(spectra, count=4):
    r"""Step index at which each of the ``count`` leading singular values first reaches half
    its final value.

    Parameters
    ----------
    spectra : ndarray, shape (records, n)
        Singular values over training, descending in each row.
    count : int

    Returns
    -------
    ndarray of int, shape (count,)
        Record indices; non-decreasing when directions are learned largest first.

    Notes
    -----
    .. math:: t_i = \min\{t : s_i(t) \ge \tfrac12 s_i(T)\}

    References
    ----------
    Zhao et al. (2024), Section 3 (incremental learning).

    Examples
    --------
    >>> learned_order(np.array([[0.0, 0.0], [2.0, 0.1], [2.0, 1.0]]), 2).tolist()
    [1, 2]
    """
    s = backend.to_numpy(as_float_array("spectra", spectra, ndim=2))
    if min(s.shape) < 1:
        raise ValueError(f"spectra: expected a non-empty (records, n) array, received {s.shape}")
    count = check_integer("count", count, minimum=1, maximum=s.shape[1])
    half = s[:, :count] >= 0.5 * s[-1, :count]
    return np.argmax(half, axis=0)


def update_spectra(quick=False, rng=0):
    r"""Claim (a): spectra and effective ranks of ``W_t − W_0`` with SGD and with Adam.

    Parameters
    ----------
    quick : bool
        Sizes of :data:`SIZES`.
    rng : int
        Seed of the corpus, the initialization and the batches.

    Returns
    -------
    dict
        ``sizes``, ``lr``, and ``runs[opt]`` with ``steps``, ``val_loss``,
        ``spectra[layer]`` (records × min(m, n)), ``rank_energy[layer]`` and
        ``rank_variance[layer]`` (threshold 0.9, per record), ``full_rank[layer]``
        and ``order[layer]`` (:func:`learned_order`).

    Notes
    -----
    .. math:: r_E = \min\{k : \rho_E(k) > 0.9\},\quad r_V = \min\{k : \rho_V(k) > 0.9\}

    References
    ----------
    Zhao et al. (2024), Figure 1 and Section 5.1.

    Examples
    --------
    >>> out = update_spectra(quick=True)
    >>> out["runs"]["adam"]["spectra"]["h0.fc"].shape
    (7, 16)
    """
    sizes = _check_quick(quick)
    rng = check_integer("rng", rng, minimum=0, maximum=2**31)
    corpus = grammar_corpus(sizes["n_chars"], rng=rng)
    runs = {}
    for name, lr in LEARNING_RATES.items():
        model = Transformer(
            corpus.vocab_size,
            sizes["d_model"],
            sizes["n_heads"],
            sizes["n_layers"],
            sizes["context"],
            rng=rng,
        )
        log = train_transformer(
            model,
            corpus.train,
            corpus.validation,
            sizes["steps"],
            lr,
            optimizer=name,
            batch_size=sizes["batch"],
            record_every=sizes["record_every"],
            track=True,
            rng=rng + 1,
        )
        spectra = log["spectra"]
        runs[name] = {
            "steps": log["steps"],
            "val_loss": log["val_loss"],
            "spectra": spectra,
            "full_rank": {k: int(v.shape[1]) for k, v in spectra.items()},
            "rank_energy": {
                k: effective_rank(v, 0.9, "energy").tolist() for k, v in spectra.items()
            },
            "rank_variance": {
                k: effective_rank(v, 0.9, "variance").tolist() for k, v in spectra.items()
            },
            "order": {k: learned_order(v, min(4, v.shape[1])).tolist() for k, v in spectra.items()},
        }
    return {"sizes": sizes, "lr": LEARNING_RATES, "runs": runs}


def inrank_comparison(quick=False, rng=0, optimizer="adam"):
    r"""Claim (b): full rank, InRank and efficient InRank at matched steps.

    Parameters
    ----------
    quick : bool
    rng : int
        Seed of the corpus, the initialization (the same for all three) and the batches
        (the same sequence for all three).
    optimizer : {"adam", "sgd"}

    Returns
    -------
    dict
        ``sizes``, ``settings`` (the scaled InRank options), and ``runs[method]`` for
        ``"full"``, ``"inrank"``, ``"efficient"`` with ``steps``, ``val_loss``,
        ``ranks``/``active`` per InRank layer, ``full_rank`` per InRank layer,
        ``parameters`` (trainable, stored) and ``seconds_per_step``.

    Notes
    -----
    The rank fraction reported is :math:`r_\ell / \min(m_\ell, n_\ell)` per layer (the
    paper's "at most 33 % of the total ranks").

    References
    ----------
    Zhao et al. (2024), Table 2 and Section 5.2.

    Examples
    --------
    >>> out = inrank_comparison(quick=True)
    >>> sorted(out["runs"]), out["settings"]["threshold"]
    (['efficient', 'full', 'inrank'], 0.9)
    """
    sizes = _check_quick(quick)
    rng = check_integer("rng", rng, minimum=0, maximum=2**31)
    lr = LEARNING_RATES.get(optimizer)
    if lr is None:
        raise ValueError(f"optimizer: expected 'adam' or 'sgd', received {optimizer!r}")
    corpus = grammar_corpus(sizes["n_chars"], rng=rng)
    steps = sizes["steps"]
    settings = {
        "threshold": 0.9,
        "ratio": "variance",
        "initial_rank": 2,
        "warmup": max(1, steps // 10),
        "gap": max(1, steps // 40),
    }
    runs = {}
    for method in ("full", "inrank", "efficient"):
        model = Transformer(
            corpus.vocab_size,
            sizes["d_model"],
            sizes["n_heads"],
            sizes["n_layers"],
            sizes["context"],
            rng=rng,
        )
        options = None
        if method != "full":
            options = dict(settings, adapt_steps=steps // 3 if method == "efficient" else None)
        log = train_transformer(
            model,
            corpus.train,
            corpus.validation,
            steps,
            lr,
            optimizer=optimizer,
            batch_size=sizes["batch"],
            record_every=sizes["record_every"],
            inrank=options,
            rng=rng + 1,
        )
        runs[method] = {
            "steps": log["steps"],
            "val_loss": log["val_loss"],
            "ranks": log["ranks"],
            "active": log["active"],
            "full_rank": {k: min(model.layers[k].shape) for k in log["ranks"]},
            "parameters": log["parameters"],
            "seconds_per_step": log["seconds_per_step"],
        }
        if not quick:  # the full runs take minutes: say when each is done
            seconds = log["seconds_per_step"] * steps
            print(f"inrank_comparison: {method} trained in {seconds:.0f} s", flush=True)
    return {"sizes": sizes, "settings": settings, "lr": lr, "optimizer": optimizer, "runs": runs}
