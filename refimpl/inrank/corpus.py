r"""A character-level corpus that needs no download: sentences of a seeded probabilistic grammar.

The grammar (number agreement between subject and verb, optional adjectives and
prepositional phrases, a relative clause) is small enough to read and rich enough that
a transformer has to use context: after ``"the cats "`` the verb must be plural.

.. code-block:: text

    S   → NP_n VP_n "."                          n ∈ {singular, plural}, p = ½ each
    NP_n → "the" [ADJ] N_n [PP] ["that" VP_n]    ADJ w.p. 0.4, PP 0.2, relative 0.15
    PP  → P "the" N_m                            m drawn afresh
    VP_n → V_n | V_n "the" N_m                   transitive w.p. 0.5

The corpus is one string of ``n_chars`` characters (sentences joined by spaces); the
first ``1 − validation_fraction`` of it is the training split, the rest the validation
split, fixed by the seed. Tokens are characters; the vocabulary is the sorted set of
characters the grammar can produce (so every split uses the same ids).

References
----------
.. [1] N. Chomsky, "Three models for the description of language", IRE Transactions on
   Information Theory 2(3), 1956 (phrase-structure grammars).

Examples
--------
>>> corpus = grammar_corpus(2000, rng=0)
>>> corpus.text[:22]
'the small dog near the'
>>> len(corpus.train) + len(corpus.validation), corpus.vocab_size
(2000, 24)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl.validation import (
    as_generator,
    check_array_size,
    check_array_type,
    check_in_interval,
    check_integer,
)

__all__ = ["Corpus", "check_token_ids", "grammar_corpus", "sample_windows", "validation_windows"]

_NOUNS = ("dog", "cat", "bird", "fox", "child", "teacher")
_PLURAL = {"child": "children", "fox": "foxes"}
_VERBS = ("see", "like", "chase", "help", "find")
_ADJECTIVES = ("big", "small", "red", "quick", "old")
_PREPOSITIONS = ("near", "with", "under")


def _noun(rng, plural):
    noun = _NOUNS[rng.integers(len(_NOUNS))]
    return _PLURAL.get(noun, noun + "s") if plural else noun


def _verb_phrase(rng, plural):
    verb = _VERBS[rng.integers(len(_VERBS))]
    words = [verb if plural else verb + ("es" if verb.endswith("h") else "s")]
    if rng.random() < 0.5:
        words += ["the", _noun(rng, rng.random() < 0.5)]
    return words


def _noun_phrase(rng, plural):
    words = ["the"]
    if rng.random() < 0.4:
        words.append(_ADJECTIVES[rng.integers(len(_ADJECTIVES))])
    words.append(_noun(rng, plural))
    if rng.random() < 0.2:
        words += [_PREPOSITIONS[rng.integers(len(_PREPOSITIONS))], "the"]
        words.append(_noun(rng, rng.random() < 0.5))
    if rng.random() < 0.15:
        words += ["that"] + _verb_phrase(rng, plural)
    return words


def _alphabet():
    words = _NOUNS + tuple(_PLURAL.values()) + _VERBS + _ADJECTIVES + _PREPOSITIONS
    return sorted(set("".join(words) + "the that s es . "))


@dataclass(frozen=True)
class Corpus:
    r"""A character corpus with a fixed train/validation split.

    Attributes
    ----------
    text : str
    vocabulary : str
        The characters, sorted; token id ``i`` is ``vocabulary[i]``.
    train, validation : ndarray of int
        Token ids of the two splits.

    Notes
    -----
    .. math:: \text{train} = x_{1..\lfloor(1-f)N\rfloor},\quad
              \text{validation} = x_{\lfloor(1-f)N\rfloor+1..N}

    References
    ----------
    See :func:`grammar_corpus`.

    Examples
    --------
    >>> c = grammar_corpus(500, rng=1)
    >>> "".join(c.vocabulary[i] for i in c.train[:8])
    'the dog '
    """

    text: str
    vocabulary: str
    train: np.ndarray
    validation: np.ndarray

    @property
    def vocab_size(self):
        return len(self.vocabulary)


def grammar_corpus(n_chars=200_000, validation_fraction=0.1, rng=None):
    r"""Sample ``n_chars`` characters of the grammar above and split them.

    Parameters
    ----------
    n_chars : int
        Length of the corpus, ``≥ 100``.
    validation_fraction : float
        Share of the end of the text held out, in ``(0, 0.5]``.
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    Corpus

    Notes
    -----
    Sentences are drawn independently; the split is by position, so no validation
    character is seen in training (sentences may repeat: the grammar is finite).

    .. math:: P(\text{sentence}) = \prod_{\text{rules used}} p_{\text{rule}}

    References
    ----------
    Chomsky (1956).

    Examples
    --------
    >>> c = grammar_corpus(1000, 0.2, rng=0)
    >>> len(c.validation)
    200
    """
    n_chars = check_integer("n_chars", n_chars, minimum=100, maximum=10**8)
    validation_fraction = check_in_interval(
        "validation_fraction", validation_fraction, 0.0, 0.5, closed="right"
    )
    rng = as_generator(rng)
    pieces, length = [], 0
    while length < n_chars:
        plural = bool(rng.random() < 0.5)
        words = _noun_phrase(rng, plural) + _verb_phrase(rng, plural)
        sentence = " ".join(words) + ". "
        pieces.append(sentence)
        length += len(sentence)
    text = "".join(pieces)[:n_chars]
    vocabulary = "".join(_alphabet())
    lookup = {ch: i for i, ch in enumerate(vocabulary)}
    ids = np.fromiter((lookup[ch] for ch in text), dtype=np.int64, count=n_chars)
    cut = n_chars - max(1, int(round(validation_fraction * n_chars)))
    return Corpus(text, vocabulary, ids[:cut], ids[cut:])


def check_token_ids(name, ids, vocab_size=None):
    r"""``ids`` as a 1-d NumPy array of token ids ``≥ 0``, or ValueError naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    ids : array_like of int, shape (n,)
    vocab_size : int, optional
        If given, every id must be below it.

    Returns
    -------
    ndarray of int64, shape (n,)

    Notes
    -----
    .. math:: x_i \in \{0, \dots, V - 1\}

    References
    ----------
    See :func:`grammar_corpus`.

    Examples
    --------
    >>> check_token_ids("ids", [3, 1, 2]).tolist()
    [3, 1, 2]
    """
    check_array_type(name, ids)
    if vocab_size is not None:
        vocab_size = check_integer("vocab_size", vocab_size, minimum=1)
    arr = np.asarray(ids) if not hasattr(ids, "get") else ids.get()  # CuPy -> host
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: expected a non-empty 1-d integer array, received {arr.dtype} {arr.shape}"
        )
    if int(arr.min()) < 0 or (vocab_size is not None and int(arr.max()) >= vocab_size):
        raise ValueError(
            f"{name}: expected ids in [0, {vocab_size}), received {arr.min()}..{arr.max()}"
        )
    return arr.astype(np.int64, copy=False)


def sample_windows(ids, batch, length, rng=None):
    r"""Random windows of ``length + 1`` consecutive tokens (inputs and their targets).

    Parameters
    ----------
    ids : ndarray of int, shape (n,)
        Token ids, ``n > length``.
    batch : int
        Number of windows.
    length : int
        Input length ``T``; each row holds ``T + 1`` tokens.
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    ndarray of int, shape (batch, length + 1)

    Notes
    -----
    Start positions are uniform on :math:`\{0, \dots, n - T - 1\}`:

    .. math:: \text{row}_b = (x_{s_b}, \dots, x_{s_b + T}),\quad s_b \sim U\{0..n-T-1\}

    References
    ----------
    Radford et al. (2019) train GPT-2 on random contiguous windows in the same way.

    Examples
    --------
    >>> sample_windows(np.arange(10), 2, 3, rng=0).tolist()
    [[5, 6, 7, 8], [4, 5, 6, 7]]
    """
    ids = check_token_ids("ids", ids)
    batch = check_integer("batch", batch, minimum=1, maximum=10**6)
    length = check_integer("length", length, minimum=1)
    if ids.size <= length:
        raise ValueError(f"ids: expected more than length={length} tokens, received {ids.size}")
    check_array_size("batch, length", (batch, length + 1))  # the windows and their indices
    starts = as_generator(rng).integers(0, ids.size - length, size=batch)
    return ids[starts[:, None] + np.arange(length + 1)]


def validation_windows(ids, length, max_windows=64):
    r"""Fixed validation windows: consecutive, non-overlapping rows of ``length + 1`` tokens.

    Parameters
    ----------
    ids : ndarray of int, shape (n,)
    length : int
        Input length ``T``.
    max_windows : int

    Returns
    -------
    ndarray of int, shape (w, length + 1)
        Row ``i`` starts at ``i T``; ``w = min(max_windows, ⌊(n − 1)/T⌋)``.

    Notes
    -----
    Every validation token after the first is predicted exactly once per row:

    .. math:: \text{row}_i = (x_{iT}, \dots, x_{iT + T})

    References
    ----------
    Radford et al. (2019), evaluation on contiguous windows.

    Examples
    --------
    >>> validation_windows(np.arange(10), 3).tolist()
    [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    """
    ids = check_token_ids("ids", ids)
    length = check_integer("length", length, minimum=1)
    max_windows = check_integer("max_windows", max_windows, minimum=1)
    # w (length + 1) ≤ 2 (n − 1): the windows are never larger than twice ``ids``.
    w = min(max_windows, (ids.size - 1) // length)
    if w < 1:
        raise ValueError(f"ids: expected more than length={length} tokens, received {ids.size}")
    return ids[np.arange(w)[:, None] * length + np.arange(length + 1)]
