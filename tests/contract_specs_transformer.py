"""Contract specs for the NumPy transformer modules of ``refimpl.inrank`` (issue 13)."""

import numpy as np
from contract import Spec

import refimpl.inrank
from refimpl.inrank import attention, corpus, transformer, transformer_experiments
from refimpl.inrank import transformer_train as tt

_RNG = np.random.default_rng(0)
_X = _RNG.standard_normal((2, 3, 4))
_QKV = _RNG.standard_normal((2, 3, 6))
_CORPUS = corpus.grammar_corpus(600, rng=0)


# any batch size; the harness's "out-of-range" id is still below the vocabulary size
_TOKENS = {"tokens": {"one row short", "out-of-range entry"}}


def _model():
    return transformer.Transformer(_CORPUS.vocab_size, 8, 2, 1, 4, rng=0)


def _ln_cache():
    return attention.layer_norm_forward(_X, np.ones(4), np.zeros(4))[1]


SPECS = [
    Spec(
        "inrank.attention.layer_norm_forward",
        attention.layer_norm_forward,
        lambda: {"x": _X.copy(), "gain": np.ones(4), "bias": np.zeros(4), "eps": 1e-5},
        accepts={"eps": {"tiny", "huge"}, "x": {"extra axis", "one row short"}},
    ),  # any (..., d)
    Spec(
        "inrank.attention.layer_norm_backward",
        attention.layer_norm_backward,
        lambda: {"dy": np.ones((2, 3, 4)), "cache": _ln_cache()},
    ),
    Spec(
        "inrank.attention.gelu_forward",
        attention.gelu_forward,
        lambda: {"x": _X.copy()},
        accepts={"x": "*"},
    ),
    Spec(
        "inrank.attention.gelu_backward",
        attention.gelu_backward,
        lambda: {"dy": np.ones((2, 3, 4)), "cache": attention.gelu_forward(_X)[1]},
    ),
    Spec(
        "inrank.attention.causal_attention_forward",
        attention.causal_attention_forward,
        lambda: {"qkv": _QKV.copy(), "n_heads": 1},
        names={"n_heads": ("qkv",)},
        accepts={"qkv": {"one row short"}},
    ),  # any batch size
    Spec(
        "inrank.attention.causal_attention_backward",
        attention.causal_attention_backward,
        lambda: {"dy": np.ones((2, 3, 2)), "cache": attention.causal_attention_forward(_QKV, 1)[1]},
    ),
    Spec(
        "inrank.corpus.grammar_corpus",
        corpus.grammar_corpus,
        lambda: {"n_chars": 500, "validation_fraction": 0.1, "rng": 0},
    ),
    Spec(
        "inrank.corpus.check_token_ids",
        corpus.check_token_ids,
        lambda: {"name": "ids", "ids": np.arange(5), "vocab_size": 10},
        skip={"name": "the argument's name, any string is accepted"},
        names={"vocab_size": ("ids",)},  # a smaller vocabulary makes the ids out of range
        accepts={"ids": {"one row short", "out-of-range entry"}, "vocab_size": {"None"}},
    ),
    Spec(
        "inrank.corpus.sample_windows",
        corpus.sample_windows,
        lambda: {"ids": np.arange(20), "batch": 2, "length": 4, "rng": 0},
        kinds={"batch": "size", "length": "size"},
        accepts={"ids": {"one row short", "out-of-range entry"}},
    ),  # any ids >= 0
    Spec(
        "inrank.transformer.Transformer",
        transformer.Transformer,
        lambda: {
            "vocab_size": 7,
            "d_model": 8,
            "n_heads": 2,
            "n_layers": 1,
            "context": 4,
            "tied": True,
            "rng": 0,
            "dtype": np.float64,
        },
        kinds={"vocab_size": "size", "d_model": "size", "n_layers": "size", "context": "size"},
        # only real floating types hold weights (integers would round them all to zero)
        extra=[("dtype", bad) for bad in (np.int64, np.complex128, np.float16, bool, "int32")],
    ),
    Spec(
        "inrank.transformer.Transformer.loss_and_gradients",
        lambda tokens: _model().loss_and_gradients(tokens),
        lambda: {"tokens": _CORPUS.train[:10].reshape(2, 5)},
        accepts=_TOKENS,
    ),
    Spec(
        "inrank.transformer.Transformer.loss",
        lambda tokens: _model().loss(tokens),
        lambda: {"tokens": _CORPUS.train[:10].reshape(2, 5)},
        accepts=_TOKENS,
    ),
    Spec(
        "inrank.transformer.Transformer.logits",
        lambda tokens: _model().logits(tokens),
        lambda: {"tokens": _CORPUS.train[:8].reshape(2, 4)},
        accepts=_TOKENS,
    ),
    Spec(
        "inrank.transformer.Transformer.to_inrank",
        lambda **kw: _model().to_inrank(**kw),
        lambda: {
            "names": ["fc"],
            "initial_rank": 1,
            "buffer": 1,
            "cap": 2,
            "init_scale": 0.01,
            "rng": 0,
            "skip_first_block": False,
        },
        accepts={"names": {"empty", "None"}, "buffer": {"None"}, "cap": {"None"}},
    ),  # defaults
    Spec(
        "inrank.corpus.validation_windows",
        corpus.validation_windows,
        lambda: {"ids": np.arange(30), "length": 4, "max_windows": 3},
        accepts={"ids": {"one row short", "out-of-range entry"}},
    ),  # any ids >= 0
    Spec(
        "inrank.transformer_train.train_transformer",
        lambda **kw: tt.train_transformer(_model(), **kw),
        lambda: {
            "train_ids": _CORPUS.train,
            "validation_ids": _CORPUS.validation,
            "steps": 2,
            "lr": 1e-3,
            "optimizer": "adam",
            "batch_size": 2,
            "length": 4,
            "record_every": 1,
            "track": False,
            "inrank": {"warmup": 0, "gap": 1},
            "rng": 0,
        },
        names={"inrank": ("threshold", "warmup", "gap", "ratio", "adapt_steps")},
        accepts={
            "train_ids": {"one row short", "out-of-range entry"},
            "length": {"None"},
            "validation_ids": {"one row short"},
        },
        timeout=10,
    ),
    Spec(
        "inrank.transformer_experiments.learned_order",
        transformer_experiments.learned_order,
        lambda: {"spectra": np.array([[0.0, 0.0], [2.0, 1.0]]), "count": 2},
        accepts={"spectra": {"one row short"}},
    ),  # one record is a valid history
]

_EXEMPT = {
    "inrank.transformer.MLP_LAYERS": "a constant tuple of layer names",
    "inrank.transformer.Transformer.count_parameters": (
        "takes no argument; it counts the sizes of arrays checked when they were made"
    ),
    "inrank.corpus.Corpus": "a frozen result container built by grammar_corpus",
    "inrank.transformer_train.INRANK_DEFAULTS": "a constant dict of defaults",
    "inrank.transformer_experiments.SIZES": "a constant dict of sizes",
    "inrank.transformer_experiments.update_spectra": (
        "a fixed experiment (seconds even in quick mode); its two arguments are checked: "
        "quick must be a bool, rng an int seed"
    ),
    "inrank.transformer_experiments.inrank_comparison": "a fixed experiment, as update_spectra",
    "inrank.heldout.mlp_heldout": "a fixed experiment, as update_spectra",
    "inrank.heldout.HELDOUT_SIZES": "a constant dict of sizes",
}

# The harness checks that every exemption names a public object; these modules become
# public once ``refimpl.inrank.__all__`` lists them, so each exemption counts from then on.
EXEMPT = {k: v for k, v in _EXEMPT.items() if k.split(".")[1] in refimpl.inrank.__all__}
