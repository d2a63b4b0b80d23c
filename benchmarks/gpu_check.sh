#!/usr/bin/env bash
# The GPU check for a lent machine with CuPy preinstalled (no network, no install):
#   1. the `gpu`-marked tests with real CuPy (every `xp` test's cupy case, and the rest
#      of the gpu marker), from this checkout on PYTHONPATH;
#   2. a short NumPy-vs-CuPy timing of the stages that carry the arithmetic: the factor
#      stage of kl_cholesky (kernel blocks, batched Cholesky and triangular solves of the
#      supernodes) at N = 1e5 and 1e6, one CGD step at n = m = 4000, and a transformer
#      training step. Each line prints both times and the ratio (NumPy / CuPy).
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

from refimpl import backend, cgd
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


# ---- the factor stage of kl_cholesky: the supernodes' dense work --------------------
def factor_stage(xp, points, size=64, stride=16, chunk=2048):
    """Matérn-3/2 blocks of ``size`` consecutive points (row sets of supernodes, a new
    one every ``stride`` points of the spatially sorted list), their Cholesky factors and
    the solves for the members' columns: the arithmetic of the supernodal KL factor."""
    n = points.shape[0]
    starts = xp.arange(0, n - size, stride)
    total = 0.0
    offset = xp.arange(size)
    rhs = xp.zeros((size, stride))
    rhs[size - stride + xp.arange(stride), xp.arange(stride)] = 1.0
    for begin in range(0, starts.shape[0], chunk):
        index = starts[begin : begin + chunk][:, None] + offset[None, :]  # (B, size)
        x = points[index]  # (B, size, 2)
        r = xp.sqrt(((x[:, :, None, :] - x[:, None, :, :]) ** 2).sum(axis=-1))
        s = 3.0**0.5 * r / 0.05
        K = (1.0 + s) * xp.exp(-s) + 1e-8 * xp.eye(size)
        C = xp.linalg.cholesky(K)  # (B, size, size)
        columns = xp.linalg.solve(xp.swapaxes(C, -1, -2), xp.broadcast_to(rhs, C.shape[:1] + rhs.shape))
        total += float(columns[:, -1, -1].sum())  # keeps the result alive, one sync
    return total


for n in ((2_000, 20_000) if QUICK else (100_000, 1_000_000)):
    rng = np.random.default_rng(0)
    pts = rng.uniform(size=(n, 2))
    cells = np.floor(pts * np.sqrt(n / 64)).astype(int)
    pts = pts[np.lexsort((cells[:, 1], cells[:, 0]))]  # neighbours next to each other
    device_pts = DEVICE.asarray(pts)
    host = best_of(lambda: factor_stage(np, pts), repeat=1, warm_up=False)
    device = best_of(lambda: factor_stage(DEVICE, device_pts), repeat=1)
    report(f"kl_cholesky factor stage, N = {n:.0e}", host, device)

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
EOF
timing_status=$?
echo "== gpu_check: tests exit status $tests_status, timings exit status $timing_status"
[ "$tests_status" -eq 0 ] && [ "$timing_status" -eq 0 ]
