r"""Explained ratios and effective rank of a spectrum: energy-based and variance-based.

Two definitions of "how much of a matrix the top ``k`` singular values explain", for
singular values ``s_1 ≥ ... ≥ s_n ≥ 0``:

* **energy** (Eckart–Young):
  :math:`\rho_E(k) = \sum_{i\le k} s_i^2 / \sum_i s_i^2 = 1 - \|A - A_k\|_F^2/\|A\|_F^2`.
* **variance** (what InRank's official code computes): zero the first ``k`` entries of
  ``s`` to get ``s^{(k)}`` and set :math:`\rho_V(k) = 1 - \mathrm{var}(s^{(k)})/\mathrm{var}(s)`,
  the variance taken over all ``n`` entries (the zeros included).

They differ: the variance ratio measures how much the padded tail still varies after
the cut, not how much energy it holds. A spike on top of a flat bulk,
``s = (10, 1, 1, 1)``, gives ``ρ_E(1) = 100/103 ≈ 0.971`` but ``ρ_V(1) ≈ 0.988``, and
``ρ_V`` is not even monotone in ``k`` there (``ρ_V(2) ≈ 0.984 < ρ_V(1)``), while ``ρ_E``
always is;
a flat spectrum ``(1, 1, 1, 1)`` has ``var(s) = 0`` and we define ``ρ_V(k) = 0`` for
``k < n`` (nothing is explained until every value is kept). The all-zero spectrum
explains everything: both ratios are 1.

The effective rank is the smallest ``k`` whose ratio *exceeds* the threshold (the
strict inequality of InRank's code), and ``n`` if none does.

References
----------
.. [1] Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 4;
   official code, ``_jit_compute_explained_variance``.

Examples
--------
>>> import numpy as np
>>> s = np.array([10.0, 1.0, 1.0, 1.0])
>>> np.round(explained_ratio(s, "energy"), 3)
array([0.   , 0.971, 0.981, 0.99 , 1.   ])
>>> np.round(explained_ratio(s, "variance"), 3)
array([0.   , 0.988, 0.984, 0.988, 1.   ])
>>> int(effective_rank(s, 0.98, "energy")), int(effective_rank(s, 0.98, "variance"))
(2, 1)
"""

from __future__ import annotations

from refimpl import backend
from refimpl.validation import as_float_array, check_choice, check_in_interval

__all__ = ["RATIO_KINDS", "explained_ratio", "effective_rank"]

RATIO_KINDS = ("energy", "variance")


def explained_ratio(s, kind="energy"):
    r"""Explained ratio of the top ``k`` singular values, for every ``k = 0..n``.

    Parameters
    ----------
    s : ndarray, shape (..., n)
        Non-negative singular values, sorted descending along the last axis.
    kind : {"energy", "variance"}

    Returns
    -------
    ratio : ndarray, shape (..., n + 1)
        ``ratio[..., k]``; ``ratio[..., 0] = 0`` and ``ratio[..., n] = 1`` unless ``s`` is
        all zero (then every entry is 1).

    Notes
    -----
    .. math::

        \rho_E(k) = \frac{\sum_{i \le k} s_i^2}{\sum_i s_i^2},\qquad
        \rho_V(k) = 1 - \frac{\mathrm{var}(0,\dots,0,s_{k+1},\dots,s_n)}{\mathrm{var}(s)}

    References
    ----------
    Zhao et al. (2024); official code of InRank.
    """
    check_choice("kind", kind, RATIO_KINDS)
    s = as_float_array("s", s)
    if s.ndim == 0:
        raise ValueError(f"s: expected an array of singular values, received shape {s.shape}")
    xp = backend.array_namespace(s)
    n = s.shape[-1]
    zero = xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
    if kind == "energy":
        energy = xp.concatenate([zero, xp.cumsum(s * s, axis=-1)], axis=-1)
        total = energy[..., -1:]
        safe = xp.where(total > 0, total, 1.0)
        return xp.where(total > 0, energy / safe, 1.0)
    # variance: tails[..., k, :] is s with its first k entries set to zero
    keep = xp.arange(n)[None, :] >= xp.arange(n + 1)[:, None]  # (n + 1, n)
    tails = s[..., None, :] * keep
    var_tail = xp.var(tails, axis=-1)  # (..., n + 1)
    var_all = var_tail[..., :1]
    safe = xp.where(var_all > 0, var_all, 1.0)
    ratio = 1.0 - var_tail / safe
    everything_zero = xp.all(s == 0, axis=-1, keepdims=True)
    flat = xp.concatenate(
        [xp.zeros(s.shape[:-1] + (n,), dtype=s.dtype), xp.ones_like(zero)], axis=-1
    )
    ratio = xp.where(var_all > 0, ratio, flat)
    return xp.where(everything_zero, 1.0, ratio)


def effective_rank(s, threshold=0.9, kind="energy"):
    """Smallest ``k`` whose explained ratio exceeds ``threshold`` (``n`` if none does).

    Parameters
    ----------
    s : ndarray, shape (..., n)
        Singular values, sorted descending.
    threshold : float
        In ``(0, 1]``.
    kind : {"energy", "variance"}

    Returns
    -------
    rank : ndarray of int, shape (...)

    Notes
    -----
    .. math:: r_{\\text{eff}} = \\min\\{k : \\rho(k) > \\text{threshold}\\}

    References
    ----------
    Zhao et al. (2024), Section 4.

    Examples
    --------
    >>> import numpy as np
    >>> effective_rank(np.array([[3.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), 0.9)
    array([1, 3])
    """
    threshold = check_in_interval("threshold", threshold, 0.0, 1.0, closed="right")
    ratio = explained_ratio(s, kind)
    xp = backend.array_namespace(ratio)
    n = ratio.shape[-1] - 1
    above = ratio > threshold
    first = xp.argmax(above, axis=-1)
    return xp.where(xp.any(above, axis=-1), first, n)
