r"""Explained ratios and effective rank of a spectrum: energy-based and variance-based.

Two definitions of "how much of a matrix the top ``k`` singular values explain", for
singular values ``s_1 ≥ ... ≥ s_n ≥ 0``:

* **energy** (Eckart–Young):
  :math:`\rho_E(k) = \sum_{i\le k} s_i^2 / \sum_i s_i^2 = 1 - \|A - A_k\|_F^2/\|A\|_F^2`.
* **variance** (InRank's official code, ``_jit_compute_explained_variance``): zero the
  first ``k`` entries of ``s`` to get ``s^{(k)}`` and set
  :math:`\rho_V(k) = 1 - \mathrm{var}(s^{(k)})/\mathrm{var}(s)`. The code takes ``s``
  as *all* ``N = min(rows, cols)`` singular values of the matrix, most of them zero
  when the matrix is a rank-``n`` factor product; pass ``length=N`` when ``s`` holds only
  the leading ``n``. The zeros matter: with many of them ``ρ_V`` comes close to ``ρ_E``
  (the mean is near 0, so the variance is nearly the mean square), while over the ``n``
  values alone it is much smaller.

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

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_choice, check_in_interval, check_integer

__all__ = ["RATIO_KINDS", "check_spectrum", "explained_ratio", "effective_rank", "select_rank"]

RATIO_KINDS = ("energy", "variance")


def check_spectrum(name, s):
    r"""Return ``s`` as a float array of singular values, or raise ValueError naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    s : array_like, shape (..., n)
        Finite, non-negative values, ``n ≥ 1`` (the order is not checked).

    Returns
    -------
    ndarray, shape (..., n)

    Notes
    -----
    Singular values satisfy :math:`s_i \ge 0`; an empty spectrum has no ratios.

    References
    ----------
    Zhao et al. (2024), Section 4.

    Examples
    --------
    >>> check_spectrum("s", [2.0, 1.0])
    array([2., 1.])
    """
    s = as_float_array(name, s)
    if s.ndim == 0 or s.shape[-1] == 0:
        raise ValueError(f"{name}: expected at least one singular value, received shape {s.shape}")
    xp = backend.array_namespace(s)
    if bool(xp.any(s < 0)):
        raise ValueError(f"{name}: expected singular values >= 0, received a negative entry")
    return s


def explained_ratio(s, kind="energy", length=None):
    r"""Explained ratio of the top ``k`` singular values, for every ``k = 0..n``.

    Parameters
    ----------
    s : ndarray, shape (..., n)
        Non-negative singular values, sorted descending along the last axis.
    kind : {"energy", "variance"}
    length : int, optional
        Number ``N ≥ n`` of singular values of the whole matrix, ``min(rows, cols)``,
        when ``s`` holds only its leading ``n`` (the rest are zero). Default ``n``. The
        energy ratio does not depend on it; the variance ratio does, because the
        official code takes the variance over all ``N`` values, zeros included.

    Returns
    -------
    ratio : ndarray, shape (..., n + 1)
        ``ratio[..., k]``; ``ratio[..., 0] = 0`` and ``ratio[..., n] = 1`` unless ``s`` is
        all zero (then every entry is 1). For ``k > n`` the ratio would stay 1.

    Notes
    -----
    With :math:`s` padded by zeros to length :math:`N`,

    .. math::

        \rho_E(k) = \frac{\sum_{i \le k} s_i^2}{\sum_i s_i^2},\qquad
        \rho_V(k) = 1 - \frac{\mathrm{var}(0,\dots,0,s_{k+1},\dots,s_N)}{\mathrm{var}(s)} .

    The variances come from suffix sums of the deviations ``d_i = s_i − c`` from the
    mean ``c`` (``O(n)`` memory per spectrum): the cut-off vector has ``k + N − n``
    entries ``−c`` and the kept ``d_i``, so

    .. math::

        \mathrm{var}_k = \frac{(k + N - n) c^2 + \sum_{i>k} d_i^2}{N}
        - \Big(\frac{\sum_{i>k} d_i - (k + N - n) c}{N}\Big)^2 .

    Both ratios are computed for :math:`s / \max_i s_i` (they do not change under
    scaling), so huge and tiny spectra neither overflow nor underflow.
    A spectrum whose variance is at rounding level, :math:`\mathrm{var}(s) \le
    (4 N \epsilon \max s)^2`, counts as flat: its variance ratio is 0 until ``k = n``.
    The ratio's rounding error is about :math:`\epsilon\,\overline{s^2}/\mathrm{var}(s)`.

    References
    ----------
    Zhao et al. (2024); official code of InRank, ``_jit_compute_explained_variance``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(explained_ratio(np.array([2.0, 1.0]), "variance", length=4), 3)
    array([0.   , 0.727, 1.   ])
    >>> explained_ratio([1e300, 1e300]).tolist()  # scaled before squaring
    [0.0, 0.5, 1.0]
    """
    check_choice("kind", kind, RATIO_KINDS)
    s = check_spectrum("s", s)
    xp = backend.array_namespace(s)
    n = s.shape[-1]
    length = n if length is None else check_integer("length", length, minimum=n)
    # Both ratios are invariant under s -> s / max(s); dividing first keeps s² finite
    # for huge spectra (1e300) and away from underflow for tiny ones.
    top = xp.max(s, axis=-1, keepdims=True)  # (..., 1)
    everything_zero = top == 0  # (..., 1)
    s = s / xp.where(everything_zero, 1.0, top)
    zero = xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
    if kind == "energy":
        energy = xp.concatenate([zero, xp.cumsum(s * s, axis=-1)], axis=-1)
        total = energy[..., -1:]
        safe = xp.where(total > 0, total, 1.0)
        return xp.where(total > 0, energy / safe, 1.0)
    c = xp.sum(s, axis=-1, keepdims=True) / length  # (..., 1), mean over all N values
    d = s - c  # (..., n)

    def suffix(v):  # suffix[..., k] = Σ_{i ≥ k} v_i (0-based), k = 0..n
        total = xp.sum(v, axis=-1, keepdims=True)
        return xp.concatenate([total, total - xp.cumsum(v, axis=-1)], axis=-1)

    zeros = xp.arange(n + 1, dtype=s.dtype) + (length - n)  # (n + 1,) entries set to 0
    mean_e = (suffix(d) - zeros * c) / length  # (..., n + 1)
    var_tail = (zeros * c * c + suffix(d * d)) / length - mean_e * mean_e
    var_tail = xp.maximum(var_tail, 0.0)
    var_all = var_tail[..., :1]
    eps = float(xp.finfo(s.dtype).eps)
    spread = var_all > (4.0 * length * eps) ** 2  # (..., 1): not flat (max s is 1 now)
    safe = xp.where(spread, var_all, 1.0)
    ratio = 1.0 - var_tail / safe
    last = xp.arange(n + 1) == n  # exact end points: nothing kept varies at k = n
    ratio = xp.where(last, 1.0, ratio)
    ratio = xp.where(xp.arange(n + 1) == 0, 0.0, ratio)
    ratio = xp.where(spread, ratio, xp.where(last, 1.0, 0.0))
    return xp.where(everything_zero, 1.0, ratio)


def effective_rank(s, threshold=0.9, kind="energy", length=None):
    r"""Smallest ``k`` whose explained ratio exceeds ``threshold`` (``n`` if none does).

    Parameters
    ----------
    s : ndarray, shape (..., n)
        Singular values, sorted descending.
    threshold : float
        In ``(0, 1]``.
    kind : {"energy", "variance"}
    length : int, optional
        Number of singular values of the whole matrix (see :func:`explained_ratio`).

    Returns
    -------
    rank : ndarray of int, shape (...)

    Notes
    -----
    .. math:: r_{\text{eff}} = \min\{k : \rho(k) > \text{threshold}\}

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
    ratio = explained_ratio(s, kind, length)
    xp = backend.array_namespace(ratio)
    n = ratio.shape[-1] - 1
    above = ratio > threshold
    first = xp.argmax(above, axis=-1)
    return xp.where(xp.any(above, axis=-1), first, n)


def select_rank(s, current_rank, buffer, cap, threshold=0.9, ratio="variance", length=None):
    r"""InRank's rank rule: the smallest sufficient rank among the buffered candidates.

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values, descending, of the current ``U_k V_kᵀ`` with
        ``k = current_rank + buffer`` (or fewer where the allocation ends).
    current_rank : int
        The rank now, ``≥ 1``.
    buffer : int
        Extra directions ``b ≥ 0`` searched beyond the current rank.
    cap : int
        Rank cap, ``≥ current_rank``.
    threshold : float
        In ``(0, 1]``.
    ratio : {"variance", "energy"}
        Explained-ratio definition (:func:`explained_ratio`).
    length : int, optional
        Number of singular values of the whole ``m × n`` update, ``min(m, n)``; the
        ones beyond ``len(s)`` are zero. The official code takes the variance over all
        of them (the singular values of the full product), so
        :func:`refimpl.inrank.algorithm.inrank` passes ``min(m, n)``. Default ``len(s)``.

    Returns
    -------
    rank : int
        In ``[current_rank, min(current_rank + buffer, cap, len(s))]`` (or
        ``current_rank`` when that interval is empty): the rank never decreases and
        never exceeds ``cap``.

    Notes
    -----
    .. math::

        r_{\text{new}} = \min\{k \in [r, \min(r + b, \text{cap})] : \rho(k) > \text{threshold}\}

    and the largest candidate if the set is empty (so threshold 1 grows by ``b`` per
    check until the cap). See ``docs/derivations/inrank.md``, section 6.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Algorithm 1;
    official code, ``_matrx_svd_approximation_explained_variance``.

    Examples
    --------
    >>> import numpy as np
    >>> select_rank(np.array([5.0, 4.0, 0.1, 0.1, 0.0]), 1, 4, 10, 0.9, "energy")
    2
    >>> select_rank(np.array([5.0, 4.0, 0.1, 0.1, 0.0]), 1, 4, 10, 1.0, "energy")
    5
    >>> s = np.array([4.0, 2.0, 1.0, 0.5])
    >>> select_rank(s, 1, 3, 3, 0.92), select_rank(s, 1, 3, 3, 0.92, length=64)
    (3, 2)
    """
    s = check_spectrum("s", s)
    if s.ndim != 1:
        raise ValueError(f"s: expected a 1-d array of singular values, received shape {s.shape}")
    current_rank = check_integer("current_rank", current_rank, minimum=1)
    buffer = check_integer("buffer", buffer, minimum=0)
    cap = check_integer("cap", cap, minimum=1)
    if cap < current_rank:  # either may be the wrong one
        raise ValueError(
            f"current_rank, cap: expected current_rank <= cap, received {current_rank} and {cap}"
        )
    threshold = check_in_interval("threshold", threshold, 0.0, 1.0, closed="right")
    check_choice("ratio", ratio, RATIO_KINDS)
    rho = backend.to_numpy(explained_ratio(s, ratio, length))  # (len(s) + 1,)
    top = max(current_rank, min(current_rank + buffer, cap, s.shape[0]))
    above = np.nonzero(rho[current_rank : top + 1] > threshold)[0]  # empty past len(s)
    return int(current_rank + above[0]) if above.size else top
