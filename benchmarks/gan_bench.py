"""Benchmark: ACGD against Adam on the same GAN, and one Hessian-vector product against a gradient.

On the two-mode GAN (WGAN loss) with ReLU MLPs of width 128 and four layers and
noise of dimension 512, as in the CGD paper's GAN experiment (batch 256), prints

* the time of the two gradients (∇ₓf, ∇_y g: one forward and one backward pass of
  each network, shared), of one mixed product D_xy f·v and of one D_yx g·u, and
  the ratios product/gradients: forward-over-reverse theory says a small constant;
* the time per step of simultaneous Adam and of ACGD (the authors' variant), their
  ratio, and ACGD's CG iterations per step.

Run:

    python benchmarks/gan_bench.py            # width 128, depth 4 (about a minute of CPU)
    python benchmarks/gan_bench.py --quick    # width 16, seconds
"""

import argparse
import time

import numpy as np

from refimpl.cgd.gan import GANGame, acgd_alternating_step, adam_step, two_modes
from refimpl.nn import MLP


def best_time(function, repeats):
    """The fastest of ``repeats`` calls (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="width 16 instead of 128")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    width, depth, noise, batch, steps = (16, 2, 8, 32, 5) if args.quick else (128, 4, 512, 256, 8)
    hidden = (width,) * (depth - 1)
    generator, discriminator = MLP((noise, *hidden, 2)), MLP((2, *hidden, 1))
    game = GANGame(generator, discriminator, two_modes(), batch, "wgan", rng=args.seed)
    x, y = generator.init(args.seed + 1), discriminator.init(args.seed + 2)
    rng = np.random.default_rng(args.seed)
    u, v = rng.standard_normal(game.n), rng.standard_normal(game.m)
    print(
        f"GAN: generator {generator.widths} ({game.n} parameters), discriminator "
        f"{discriminator.widths} ({game.m} parameters), batch {batch}"
    )

    def gradients():
        game.set_batch(game.real, game.noise)  # forgets the cached forward pass
        game.grad_x_f(x, y)
        game.grad_y_g(x, y)

    def product(name, vector):
        def run():
            getattr(game, name)(x, y, vector)

        return run

    repeats = 3 if args.quick else 5
    t_grad = best_time(gradients, repeats)
    t_dxy = best_time(product("dxy_f", v), repeats)
    t_dyx = best_time(product("dyx_g", u), repeats)
    print(
        f"two gradients {t_grad * 1e3:8.2f} ms   D_xy f·v {t_dxy * 1e3:8.2f} ms   "
        f"D_yx g·u {t_dyx * 1e3:8.2f} ms"
    )
    print(f"HVP / gradients: D_xy f·v = {t_dxy / t_grad:.2f}x   D_yx g·u = {t_dyx / t_grad:.2f}x")

    def run(stepper):
        state, xs, ys, iterations = None, x, y, []
        start = time.perf_counter()
        for _ in range(steps):
            game.resample()
            xs, ys, state, extra = stepper(xs, ys, state)
            iterations.append(extra)
        return (time.perf_counter() - start) / steps, float(np.mean(iterations))

    def adam(xs, ys, state):
        return (*adam_step(game, xs, ys, 1e-3, 1e-3, state), 0)

    def acgd(xs, ys, state):
        xs, ys, state, info = acgd_alternating_step(game, xs, ys, 1e-3, 1e-3, state)
        return xs, ys, state, info.iterations

    t_adam, _ = run(adam)
    t_acgd, cg = run(acgd)
    print(
        f"Adam {t_adam * 1e3:8.2f} ms/step   ACGD {t_acgd * 1e3:8.2f} ms/step "
        f"({cg:.1f} CG iterations/step)   ACGD/Adam = {t_acgd / t_adam:.1f}x"
    )
    cost = 2 + 1 + 2 * cg + 2 + 2 + 1
    print(
        f"ACGD cost per step ≈ {cost:.0f} gradient-equivalents by the paper's count "
        f"(Adam: 2); time ratio / count ratio = {t_acgd / t_adam / (cost / 2):.2f}x"
    )


if __name__ == "__main__":
    main()
