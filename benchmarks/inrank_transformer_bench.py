"""Time per training step of the NumPy transformer: full rank against InRank's fixed-rank stage.

A GPT-2-style transformer (refimpl.inrank.transformer) is adapted by efficient InRank
on the grammar corpus (official rule: threshold 0.9, variance ratio, initial rank 2;
warm-up and gap scaled to the run) until its MLP layers are truncated to the ranks it
chose (W = P Qᵀ, no W0); then Adam steps of that model and of the full-rank model from
the same initialization are interleaved on the same batches and the median seconds per
step compared. Beside the measured ratio: the multiply-add ratio of
``refimpl.inrank.cost.cost_model`` over the linear layers (the attention scores,
LayerNorm, GELU, softmax and the output layer are the same in both and not counted).

Usage: ``python benchmarks/inrank_transformer_bench.py [--quick]``. Timings depend on the
BLAS and on the machine's load; set ``OMP_NUM_THREADS`` to the free cores.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from refimpl.inrank.corpus import grammar_corpus, sample_windows
from refimpl.inrank.cost import cost_model
from refimpl.inrank.layers import LowRankUpdateLayer
from refimpl.inrank.optim import make_optimizer
from refimpl.inrank.transformer import Transformer
from refimpl.inrank.transformer_train import _step, train_transformer


def _macs(shape, batch, rank=None):
    """Multiply-adds of one layer that needs its input gradient (a dummy layer goes first)."""
    ranks = None if rank is None else [1, rank]
    both = cost_model([(shape[1], 1), shape], batch, ranks=ranks)["macs_step"]
    alone = cost_model([(shape[1], 1)], batch, ranks=None if rank is None else [1])["macs_step"]
    return both - alone


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    d, layers, context, batch, adapt, reps = (
        (32, 1, 16, 8, 30, 15) if args.quick else (256, 2, 64, 8, 150, 30)
    )
    corpus = grammar_corpus(20_000 if args.quick else 100_000, rng=0)
    print(
        f"# {platform.processor() or platform.machine()}, numpy {np.__version__}; "
        f"d = {d}, blocks = {layers}, context = {context}, batch = {batch}"
    )
    full = Transformer(corpus.vocab_size, d, 4, layers, context, rng=0)
    low = Transformer(corpus.vocab_size, d, 4, layers, context, rng=0)
    train_transformer(
        low,
        corpus.train,
        corpus.validation,
        adapt,
        3e-3,
        batch_size=batch,
        record_every=adapt,
        rng=1,
        inrank=dict(warmup=adapt // 10, gap=max(1, adapt // 40), adapt_steps=adapt - 1),
    )
    ranks = {k: v.rank for k, v in low.layers.items() if isinstance(v, LowRankUpdateLayer)}
    print("# ranks chosen:", ranks)
    rng = np.random.default_rng(2)
    opts = {"full": make_optimizer("adam", 1e-3), "low": make_optimizer("adam", 1e-3)}
    times = {"full": [], "low": []}
    for _ in range(reps):
        tokens = sample_windows(corpus.train, batch, context, rng=rng)
        for name, model in (("full", full), ("low", low)):
            start = time.perf_counter()
            _step(model, opts[name], tokens, 1)
            times[name].append(time.perf_counter() - start)
    t_full, t_low = np.median(times["full"]), np.median(times["low"])
    tokens = batch * context
    macs_full = sum(_macs(layer.shape, tokens) for layer in full.layers.values())
    macs_low = sum(_macs(layer.shape, tokens, ranks.get(key)) for key, layer in low.layers.items())
    print(f"full rank:        {t_full * 1e3:8.2f} ms/step, {macs_full:.3e} linear-layer MACs")
    print(f"fixed-rank stage: {t_low * 1e3:8.2f} ms/step, {macs_low:.3e} linear-layer MACs")
    print(
        f"measured speed-up {t_full / t_low:.2f}×, cost-model MAC ratio "
        f"{macs_full / macs_low:.2f}× (linear layers only)"
    )
    p_full, p_low = full.count_parameters(), low.count_parameters()
    print(
        f"stored parameters {p_full['stored']} vs {p_low['stored']}: "
        f"{p_full['stored'] / p_low['stored']:.2f}× smaller"
    )


if __name__ == "__main__":
    main()
