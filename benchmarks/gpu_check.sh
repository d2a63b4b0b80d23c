#!/usr/bin/env bash
# The GPU check for a lent machine with CuPy preinstalled (no network, no install):
#   1. the `gpu`-marked tests with real CuPy (every `xp` test's cupy case, and the rest
#      of the gpu marker), from this checkout on PYTHONPATH;
#   2. a short NumPy-vs-CuPy timing of the stages that carry the arithmetic: one CGD step
#      at n = m = 4000, a transformer training step, and the factor stage of kl_cholesky
#      (supernodal_kl_factor: kernel blocks, batched Cholesky and triangular solves of the
#      supernodes) at N = 1e5 and 1e6. Each line prints both times and the ratio
#      (NumPy / CuPy).
# About five minutes on one GPU. Usage: bash benchmarks/gpu_check.sh
# Testing the script without a GPU: GPU_CHECK_XP=standin GPU_CHECK_QUICK=1 runs the timing
# on the strict CuPy stand-in of tests/standin (small sizes, no ratios worth reading).
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT" || exit 2
PYTHON="${PYTHON:-python}"

if [ "${GPU_CHECK_XP:-cupy}" = "cupy" ]; then
    if ! "$PYTHON" -c "import cupy, sys; sys.exit(cupy.cuda.runtime.getDeviceCount() < 1)" 2>/dev/null; then
        echo "gpu_check: CuPy is not importable or sees no CUDA device; nothing to check." >&2
        echo "gpu_check: run this on a machine with a CUDA GPU and CuPy installed." >&2
        exit 2
    fi
    echo "== gpu-marked tests (real CuPy)"
    timeout 240 "$PYTHON" -m pytest -m gpu -q -p no:cacheprovider -x tests
    tests_status=$?
else
    tests_status=0
fi

echo "== NumPy vs ${GPU_CHECK_XP:-cupy} timings"
timeout 300 "$PYTHON" - <<'EOF'
import os
import sys
import time

import numpy as np

from refimpl import backend, cgd, vecchia
from refimpl.inrank.transformer import Transformer
from refimpl.inrank.transformer_train import train_transformer

QUICK = os.environ.get("GPU_CHECK_QUICK") == "1"
if os.environ.get("GPU_CHECK_XP", "cupy") == "standin":
    sys.path.insert(0, "tests")
    import standin

    DEVICE, NAME, sync = standin.namespace, "standin", lambda: None
else:
    import cupy

    DEVICE, NAME = cupy, "cupy"

    def sync():
        cupy.cuda.Device().synchronize()


def best_of(run, repeat=3, warm_up=True):
    """Seconds of the fastest of ``repeat`` runs, after one warm-up run (CuPy compiles
    its kernels and fills its memory pool on the first)."""
    if warm_up:
        run()
        sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def report(label, host, device):
    print(f"{label:<44} numpy {host:9.4f} s   {NAME} {device:9.4f} s   {host / device:7.1f}x")


# ---- one CGD step on a bilinear game --------------------------------------------------
n = 400 if QUICK else 4000
rng = np.random.default_rng(1)
A = rng.standard_normal((n, n)) / np.sqrt(n)
x0, y0 = rng.standard_normal(n), rng.standard_normal(n)
times = []
for xp in (np, DEVICE):
    game = cgd.BilinearGame(xp.asarray(A))
    x, y = xp.asarray(x0), xp.asarray(y0)
    times.append(best_of(lambda game=game, x=x, y=y: cgd.cgd_step(game, x, y, 0.1, 0.1)))
report(f"CGD step (CG solve), n = m = {n}", *times)

# ---- a transformer training step ------------------------------------------------------
ids = np.random.default_rng(2).integers(0, 64, size=200_000)
sizes = (64, 32, 2, 2, 16) if QUICK else (64, 256, 4, 4, 128)
batch = 4 if QUICK else 32
times = []
for name in ("numpy", NAME):
    backend.set_default(name)
    model = Transformer(*sizes, rng=0)
    backend.set_default("numpy")

    def step(model=model):
        train_transformer(model, ids, ids[:1000], 1, 1e-3, batch_size=batch, rng=0)

    times.append(best_of(step))
report(f"transformer training step, d_model = {sizes[1]}", *times)
# ---- the factor stage of kl_cholesky: the supernodes' dense work --------------------
# The ordering, pattern and supernodes (integer structure, SciPy's KD-tree) are found once
# on the host and not timed; the timed call is the public supernodal_kl_factor on host
# points (NumPy) and on device points (kernel blocks, stacked Cholesky factors and
# triangular solves on the device, a cupyx CSC factor out). Last, since N = 1e6 is long.
for n in ((2_000, 20_000) if QUICK else (100_000, 1_000_000)):
    pts = np.random.default_rng(0).uniform(size=(n, 2))
    order, lengths = vecchia.maximin_ordering(pts)
    ordered = pts[order]
    groups = vecchia.supernodes(vecchia.ball_pattern(ordered, lengths, 2.0), lengths, 1.5)
    kernel = vecchia.Matern(1.5, 0.05)
    device_pts = DEVICE.asarray(ordered)
    host = best_of(
        lambda: vecchia.supernodal_kl_factor(ordered, kernel, groups), repeat=1, warm_up=False
    )
    device = best_of(lambda: vecchia.supernodal_kl_factor(device_pts, kernel, groups), repeat=1)
    report(f"kl_cholesky factor stage (rho = 2), N = {n:.0e}", host, device)
    sys.stdout.flush()
EOF
timing_status=$?
echo "== gpu_check: tests exit status $tests_status, timings exit status $timing_status"
[ "$tests_status" -eq 0 ] && [ "$timing_status" -eq 0 ]
