"""Contract specs for the shared floor: ``refimpl.validation`` and ``refimpl.backend``.

The checks take the argument's *name* as their first parameter; their messages name
that string, so ``names`` maps the checked value to it.
"""

import numpy as np
from contract import Spec

from refimpl import backend, validation

NAME = {"name": "the argument's name, any string is accepted"}


def _check(function, **valid):
    return Spec(
        f"validation.{function.__name__}",
        function,
        lambda: {"name": "eta", **valid},
        names={key: ("eta",) for key in valid},
        skip=NAME,
    )


SPECS = [
    _check(validation.check_positive, value=0.5),
    _check(validation.check_nonnegative, value=0.5),
    Spec(
        "validation.check_finite",
        validation.check_finite,
        lambda: {"name": "eta", "x": np.ones(3)},
        names={"x": ("eta",)},
        skip=NAME,
        accepts={"x": {"bool", "extra axis", "empty", "one row short", "complex", "0-d"}},
    ),
    Spec(
        "validation.check_array_type",
        validation.check_array_type,
        lambda: {"name": "eta", "x": np.ones(3)},
        names={"x": ("eta",)},
        skip=NAME,
        accepts={"x": "*"},  # it refuses foreign arrays only; other checks do the rest
    ),
    Spec(
        "validation.check_integer",
        validation.check_integer,
        lambda: {"name": "eta", "value": 3, "minimum": 0, "maximum": 10},
        # a changed bound can put the value outside: then the value is named
        names={"value": ("eta",), "minimum": ("eta",), "maximum": ("eta",)},
        skip=NAME,
        accepts={"minimum": {"None"}, "maximum": {"None"}},  # None: unbounded
    ),
    Spec(
        "validation.check_in_interval",
        validation.check_in_interval,
        lambda: {"name": "eta", "value": 0.5, "low": 0.0, "high": 1.0, "closed": "both"},
        names={"value": ("eta",), "low": ("eta",), "high": ("eta",)},
        skip=NAME,
        accepts={"low": {"-inf"}, "high": {"inf"}},  # half-lines
    ),
    _check(validation.check_choice, value="cg", choices=("cg", "gmres")),
    _check(validation.check_options, options={"tol": 1e-8}, allowed=("tol", "maxiter")),
    _check(validation.check_array_size, shape=(3, 4), itemsize=8),
    Spec(
        "validation.as_float_array",
        validation.as_float_array,
        lambda: {"name": "x", "x": np.ones(3), "ndim": 1},
        skip=NAME,
        accepts={"x": {"empty", "one row short"}, "ndim": {"None"}},  # any length; no ndim
    ),
    Spec(
        "validation.as_generator",
        validation.as_generator,
        lambda: {"seed": 3},
        kinds={"seed": "seed"},
        names={"seed": ("rng",)},
    ),
    Spec(
        "validation.check_divergence",
        validation.check_divergence,
        lambda: {"value": 1.0, "step": 3, "what": "the loss", "hint": "try a smaller step"},
        skip={"what": "free text for the message", "hint": "free text for the message"},
        accepts={"value": {"bool", "complex", "array"}},  # any numbers: it checks finiteness
    ),
    Spec(
        "validation.finite_or_overflow",
        validation.finite_or_overflow,
        lambda: {"value": np.ones(3), "names": "std", "hint": "try a smaller std"},
        skip={"names": "free text for the message", "hint": "free text for the message"},
        # any numbers (a list of arrays, a scalar, one row more or less): it checks finiteness
        accepts={"value": {"bool", "complex", "extra axis", "empty", "one row short", "0-d"}},
        names={"value": ("std",)},
    ),
    Spec(
        "validation.all_finite",
        lambda value: validation.all_finite(value),
        lambda: {"value": np.ones(3)},
        # a predicate: any numbers get True or False, NaN and inf entries included
        accepts={
            "value": {"bool", "complex", "extra axis", "empty", "one row short", "0-d"}
            | {"NaN entry", "inf entry"}
        },
    ),
    Spec(
        "backend.refuse_foreign_array",
        backend.refuse_foreign_array,
        lambda: {"name": "eta", "x": np.ones(2), "advice": "convert it"},
        names={"x": ("eta",)},
        skip={**NAME, "advice": "free text for the message"},
        passes_values_through="returns its argument unchanged: NaN in, NaN out",
        accepts={"x": "*"},  # it refuses foreign arrays only; other checks do the rest
    ),
    Spec(
        "backend.array_namespace",
        lambda a, b: backend.array_namespace(a, b),
        lambda: {"a": np.ones(2), "b": 1.0},
        names={"a": ("arrays",), "b": ("arrays",)},
        accepts={"a": "*", "b": "*"},  # non-arrays are ignored by design
    ),
    Spec(
        "backend.scipy_namespace",
        lambda a: backend.scipy_namespace(a),
        lambda: {"a": np.ones(2)},
        names={"a": ("arrays",)},
        accepts={"a": "*"},  # non-arrays are ignored by design
    ),
    Spec(
        "backend.asarray",
        backend.asarray,
        lambda: {"x": [1.0, 2.0], "like": np.ones(2), "dtype": None},
        passes_values_through="a converter: NaN in, NaN out",
        accepts={"x": "*", "like": "*"},  # like numpy.asarray: any numbers, any like
    ),
    Spec(
        "backend.to_numpy",
        backend.to_numpy,
        lambda: {"x": np.ones(2)},
        passes_values_through="a converter: NaN in, NaN out",
        accepts={"x": "*"},  # like numpy.asarray, for arrays of either backend
    ),
    Spec(
        "backend.to_device",
        backend.to_device,
        lambda: {"x": np.ones(2), "like": np.ones(1)},
        passes_values_through="a converter: NaN in, NaN out",
        accepts={"x": "*", "like": "*"},  # a copy to like's backend, whatever like is
    ),
    Spec(
        "backend.is_cupy_array",
        backend.is_cupy_array,
        lambda: {"x": np.ones(2)},
        skip={"x": "answers True or False for any object"},
    ),
    Spec(
        "backend.is_foreign_array",
        backend.is_foreign_array,
        lambda: {"x": np.ones(2)},
        skip={"x": "answers True or False for any object"},
    ),
    Spec("backend.get_default", backend.get_default, dict),
    Spec("backend.default_namespace", backend.default_namespace, dict),
    Spec("backend.gpu_available", backend.gpu_available, dict),
    Spec(
        "backend.set_default",
        backend.set_default,
        lambda: {"name": "numpy"},
        extra=[("name", "cupy")],  # without a GPU: BackendUnavailableError is documented
    ),
    Spec(
        "backend.is_device_array",
        backend.is_device_array,
        lambda: {"x": np.ones(2)},
        skip={"x": "answers True or False for any object"},
    ),
    Spec("backend.registered_backends", backend.registered_backends, dict),
    Spec(
        "backend.register_backend",
        lambda **kwargs: _register_and_unregister(**kwargs),
        lambda: {
            "name": "contract_double",
            "load_namespace": lambda: np,
            "load_scipy_namespace": lambda: None,
            "to_host": lambda x: x,
            "module_prefixes": ("contract_double",),
            "is_array": None,
            "label": "Contract double",
        },
        kinds={"name": "text", "label": "text"},
        names={"is_array": ("module_prefixes",)},
        accepts={"label": {"None"}},  # None: the label is the name
        extra=[
            ("name", "numpy"),
            ("name", "not an identifier"),
            ("module_prefixes", ["contract_double"]),
            ("module_prefixes", ()),  # neither prefixes nor a predicate
        ],
    ),
    Spec(
        "backend.unregister_backend",
        lambda name: (_register_double(name), backend.unregister_backend(name)),
        lambda: {"name": "contract_double"},
        kinds={"name": "text"},
    ),
]


def _register_double(name):
    if name == "contract_double":
        backend.register_backend(
            name,
            module_prefixes=("contract_double",),
            load_namespace=lambda: np,
            load_scipy_namespace=lambda: None,
            to_host=lambda x: x,
        )


def _register_and_unregister(**kwargs):
    """Register, then unregister at once, so the contract run leaves the registry as found."""
    backend.register_backend(**kwargs)
    backend.unregister_backend(kwargs["name"])


EXEMPT = {
    "validation.DivergenceError": "an exception class, raised by refimpl, not a computation",
    "backend.BackendUnavailableError": "an exception class, raised by refimpl",
}
