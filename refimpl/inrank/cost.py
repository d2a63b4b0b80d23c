r"""Parameter and multiply-add counts of one training step, dense or factored.

The speed-up InRank promises is a statement about arithmetic: a layer trained as
factors ``U``, ``V`` of rank ``k`` costs ``O((m + n) k)`` per sample instead of
``O(m n)``, but only once the frozen ``W0`` has left the forward pass.
:func:`cost_model` counts both, so that benchmarks can compare measured time ratios
against the ratios the arithmetic allows.

Examples
--------
>>> from refimpl.inrank.cost import cost_model
>>> cost_model([(64, 64)], 1)["trainable"], cost_model([(64, 64)], 1, ranks=[4])["trainable"]
(4096, 512)
"""

from __future__ import annotations

import numpy as np

from refimpl.validation import check_integer

__all__ = ["cost_model"]


def cost_model(shapes, batch, ranks=None, base=False):
    r"""Parameter and multiply-add counts of one training step.

    Parameters
    ----------
    shapes : sequence of (int, int)
        ``(m, n)`` of every layer, first layer first.
    batch : int
        Samples per step.
    ranks : sequence of int, optional
        Trained columns ``k`` per layer; None means dense (full-rank) training.
    base : bool
        Whether a frozen ``W0`` is also applied (InRank's adaptive stage).

    Returns
    -------
    counts : dict
        ``trainable`` and ``stored`` parameter counts, ``macs_forward``,
        ``macs_backward`` and ``macs_step`` (their sum).

    Notes
    -----
    Per layer with input gradient (every layer but the first), dense:
    ``3 m n B``; factored: ``3 (m + n) k B``, plus ``2 m n B`` for a frozen base:

    .. math::

        \text{dense: } \underbrace{mnB}_{WA} + \underbrace{mnB}_{\delta A^\top}
        + \underbrace{mnB}_{W^\top\delta},\qquad
        \text{factored: } (m + n)kB + (2m + n)kB + nkB.

    Element-wise work (activations, the loss) is not counted.

    Python integers do not overflow, so the counts are exact at any size.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5
    (efficiency).

    Examples
    --------
    >>> cost_model([(1024, 1024)], 1, ranks=[32])["trainable"]
    65536
    >>> c = cost_model([(64, 64), (64, 64)], 10)
    >>> c["macs_step"] == 5 * 64 * 64 * 10
    True
    """
    if not isinstance(shapes, list | tuple) or not shapes:
        raise ValueError(f"shapes: expected a non-empty list of (m, n) pairs, received {shapes!r}")
    if not all(isinstance(shape, list | tuple) and len(shape) == 2 for shape in shapes):
        raise ValueError(f"shapes: expected (m, n) pairs, received {shapes!r}")
    shapes = [
        (check_integer("shapes", m, minimum=1), check_integer("shapes", n, minimum=1))
        for m, n in shapes
    ]
    batch = check_integer("batch", batch, minimum=1)
    if ranks is not None and (not isinstance(ranks, list | tuple) or len(ranks) != len(shapes)):
        raise ValueError(f"ranks: expected {len(shapes)} integers, received {ranks!r}")
    if not isinstance(base, bool | np.bool_):
        raise ValueError(f"base: expected True or False, received {base!r}")
    trainable = stored = fwd = bwd = 0
    for i, (m, n) in enumerate(shapes):
        need_input = i > 0
        if ranks is None:
            trainable += m * n
            stored += m * n
            fwd += m * n * batch
            bwd += m * n * batch * (2 if need_input else 1)
            continue
        k = check_integer("ranks", ranks[i], minimum=1, maximum=min(m, n))
        trainable += (m + n) * k
        stored += (m + n) * k + (m * n if base else 0)
        fwd += (m + n) * k * batch + (m * n * batch if base else 0)
        bwd += (2 * m + n) * k * batch
        if need_input:
            bwd += n * k * batch + (m * n * batch if base else 0)
    return {
        "trainable": trainable,
        "stored": stored,
        "macs_forward": fwd,
        "macs_backward": bwd,
        "macs_step": fwd + bwd,
    }
