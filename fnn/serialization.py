"""Models as JSON files in network2's layout: pure ``to_dict``/``from_dict``, and the file edges.

A file holds network2's four keys plus fnn's own, one top-level key per line::

    {
      "format": "fnn.model",
      "format_version": 1,
      "sizes": [784, 30, 10],
      "cost": "CrossEntropyCost",
      "dtype": "float64",
      "metadata": {"seed": 0, "versions": {"fnn": "0.1.0", "numpy": "2.1.3", "python": "3.11.7"}},
      "weights": [[[0.0123, ...], ...], ...],
      "biases": [[[-0.5], ...], ...]
    }

``weights[l]`` is a nested ``(n_out, n_in)`` list and ``biases[l]`` a nested ``(n_out, 1)``
list, as network2's ``save`` writes them, so network2's ``load`` reads fnn's files too.
Numbers are written with ``repr``, the shortest text that reads back as the same float, so a
model survives ``load(save(...))`` bit for bit (-0.0, subnormals and float32 values too), and
the same model always gives the same bytes.

Loading is strict and never evaluates anything: a problem raises ``ModelFormatError`` naming
the file and the place, e.g. ``model.json: weights[1][3][7]: expected a finite number, got
true``. ``OSError`` from opening the file (missing file, a directory, no permission) passes
through unchanged: those are not format problems.
"""

from __future__ import annotations

import json
import math
import os
import platform
import reprlib
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from fnn import registry
from fnn._version import __version__
from fnn.activations import SIGMOID, Activation, Hidden, per_layer
from fnn.costs import Cost
from fnn.errors import ConfigError, FnnTypeError, ModelFormatError
from fnn.files import atomic_write_bytes, key_path, load_errors, read_json
from fnn.params import Array, Params, check_params, sizes_of

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SUPPORTED_VERSIONS",
    "Model",
    "from_dict",
    "load",
    "save",
    "to_dict",
    "tree_from_dict",
    "tree_to_dict",
]

FORMAT = "fnn.model"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)  # what this fnn reads; a newer file names its version in the error

# network2 stores the cost's class name; only these names are ever looked up (no getattr)
_COST_NAMES = registry.NETWORK2_COSTS
_DTYPES: dict[str, np.dtype[Any]] = {"float64": np.dtype(np.float64),
                                     "float32": np.dtype(np.float32)}
_FNN_KEYS = ("format", "format_version", "sizes", "cost", "dtype", "metadata", "weights", "biases")
# written for every fnn model; a version-1 file without it has sigmoid hidden layers
_OPTIONAL_KEYS = ("activations",)
_WRITE_ORDER = ("format", "format_version", "sizes", "cost", "dtype", "activations", "metadata",
                "weights", "biases")
_NETWORK2_KEYS = ("sizes", "weights", "biases", "cost")
_PLAIN_NUMBERS = frozenset({float, int})
_MISSING = object()


class Model(NamedTuple):
    """What a model file holds: ``params``, the ``cost`` trained with (it fixes the output
    layer: σ, or softmax for log-likelihood), layer ``sizes``, the caller's ``metadata``
    (``{}`` for a network2 file) and the hidden layers' ``activations``."""

    params: Params
    cost: Cost
    sizes: tuple[int, ...]
    metadata: dict[str, Any]
    activations: tuple[Activation, ...] = ()


class _Invalid(Exception):
    """A problem in a model dict, as ``"location: problem"``; ``from_dict`` adds the source."""


# ---------------------------------------------------------------------------- to_dict


def tree_to_dict(tree: Any) -> dict[str, Any]:
    """A parameter tree (or a gradient, or an optimizer's moment) as network2 lays it out:
    ``weights`` as nested (n_out, n_in) lists, ``biases`` as nested (n_out, 1) lists of floats.

    >>> tree_to_dict(([np.array([[0.5, -0.0]])], [np.array([5e-324])]))
    {'weights': [[[0.5, -0.0]]], 'biases': [[[5e-324]]]}
    """
    tree = check_params(tree, "tree")
    # float32 -> float64 is exact, and a float64's repr reads back as the same float
    return {"weights": [w.astype(np.float64).tolist() for w in tree.weights],
            "biases": [b.astype(np.float64).reshape(-1, 1).tolist() for b in tree.biases]}


def tree_from_dict(data: Any, *, sizes: Sequence[int], dtype: Any = np.float64,
                   source: str = "<dict>",
                   error: type[ModelFormatError] = ModelFormatError) -> Params:
    """The tree ``tree_to_dict`` wrote, checked against layer ``sizes``; ``error`` (a
    ``ModelFormatError``: checkpoints and results files raise their own) names ``source`` and
    the place of any problem.

    >>> tree_from_dict({"weights": [[[0.5, 1.0]]], "biases": [[[2.0]]]}, sizes=[2, 1]).biases
    (array([2.]),)
    """
    try:
        if not isinstance(data, dict):
            raise _Invalid(f"top level: expected a JSON object, got {_describe(data)}")
        _check_keys(data, ("weights", "biases"), "a parameter tree")
        return _tree(data, tuple(sizes), np.dtype(dtype))
    except _Invalid as problem:
        raise error(f"{source}: {problem}") from None


def _tree(data: dict[str, Any], sizes: tuple[int, ...], dtype: np.dtype[Any]) -> Params:
    layers = list(pairwise(sizes))
    weights = _matrices(data["weights"], "weights", [(o, i) for i, o in layers], sizes, dtype)
    biases = _matrices(data["biases"], "biases", [(o, 1) for _, o in layers], sizes, dtype)
    return Params(weights=weights, biases=tuple(b.reshape(-1) for b in biases))


def to_dict(params: Any, *, cost: Cost, metadata: Mapping[str, Any] | None = None,
            activation: Hidden = SIGMOID) -> dict[str, Any]:
    """The JSON-ready dict of a model file: network2's keys plus format, dtype and metadata.

    ``params`` must be finite; ``cost`` is ``quadratic``, ``cross_entropy`` or
    ``log_likelihood``; ``metadata`` is JSON data with string keys (tuples come back as
    lists), stored with sorted keys; ``activation`` names the hidden layers' activations
    (stored under ``activations``, one name per hidden layer).

    >>> p = Params(weights=(np.array([[0.5, -0.0]]),), biases=(np.array([5e-324]),))
    >>> d = to_dict(p, cost=fnn.quadratic, metadata={"seed": 0})
    >>> d["sizes"], d["cost"], d["dtype"], d["weights"], d["biases"], d["metadata"]
    ([2, 1], 'QuadraticCost', 'float64', [[[0.5, -0.0]]], [[[5e-324]]], {'seed': 0})
    >>> to_dict(p, cost=fnn.quadratic, metadata={"eta": float("nan")})
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: metadata.eta: expected a finite number, got nan
    """
    params = check_params(params)
    hidden = per_layer(activation, len(params.weights) - 1)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sizes": list(sizes_of(params)),
        "cost": _cost_name(cost),
        "dtype": params.weights[0].dtype.name,
        "metadata": _checked_metadata(metadata),
        **tree_to_dict(params),
        "activations": [_activation_name(a) for a in hidden],
    }


def _activation_name(activation: Activation) -> str:
    try:
        return registry.activation_name(activation)
    except ConfigError:
        raise ConfigError(f"activation {activation.name!r} cannot be saved; a model file "
                          f"stores one of {sorted(registry.ACTIVATIONS)}") from None


def _cost_name(cost: Any) -> str:
    if not isinstance(cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got {cost!r}")
    names = [name for name, known in _COST_NAMES.items() if known == cost]
    if not names:
        raise ConfigError(f"cost {cost.name!r} cannot be saved; a model file stores one of "
                          f"{sorted(c.name for c in _COST_NAMES.values())}")
    return names[0]


def _checked_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise FnnTypeError(f"metadata must be a dict of JSON data, got {type(metadata).__name__}")
    try:
        return _json_copy(metadata, "metadata")
    except _Invalid as problem:
        raise ConfigError(str(problem)) from None


def _json_copy(mapping: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A fresh copy with sorted keys and lists: exactly what reading the file gives back."""
    try:
        problem = _json_problem(dict(mapping), where)
        if problem is None:
            copy: dict[str, Any] = json.loads(json.dumps(dict(mapping), sort_keys=True))
            return copy
    except RecursionError:
        problem = f"{where}: nested too deeply"
    raise _Invalid(problem)


def _json_problem(value: Any, where: str, parents: frozenset[int] = frozenset()) -> str | None:
    """The first part of ``value`` JSON cannot store exactly, as ``"where: problem"``."""
    if value is None or isinstance(value, str | int):  # bool is an int
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: expected a finite number, got {value!r}"
    if id(value) in parents:
        return f"{where}: contains itself"
    if isinstance(value, list | tuple):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        key = next((k for k in value if not isinstance(k, str)), _MISSING)
        if key is not _MISSING:
            return f"{where}: keys must be strings, got {key!r}"
        items = [(key_path(where, k), v) for k, v in value.items()]
    else:
        return (f"{where}: expected JSON data (dict, list, str, int, float, bool or None), "
                f"got {type(value).__name__}")
    inside = parents | {id(value)}
    for item_where, item in items:
        if (problem := _json_problem(item, item_where, inside)) is not None:
            return problem
    return None


# -------------------------------------------------------------------------- from_dict


def from_dict(data: Any, *, source: str = "<dict>") -> Model:
    """The model in ``data``, an fnn model dict or network2's plain four-key one.

    Everything is checked; a problem raises ``ModelFormatError`` as
    ``"{source}: {location}: {problem}"``. A network2 dict has dtype float64 and no metadata.

    >>> net2 = {"sizes": [2, 1], "weights": [[[0.5, -0.25]]], "biases": [[[0.125]]],
    ...         "cost": "QuadraticCost"}
    >>> m = from_dict(net2)
    >>> m.sizes, m.cost.name, m.params.weights[0].tolist(), m.params.biases[0].tolist()
    ((2, 1), 'quadratic', [[0.5, -0.25]], [0.125])
    >>> from_dict({**net2, "weights": [[[0.5, True]]]}, source="model.json")
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: model.json: weights[0][0][1]: expected a finite number, got true
    """
    try:
        return _model(data)
    except _Invalid as problem:
        raise ModelFormatError(f"{source}: {problem}") from None


def _model(data: Any) -> Model:
    if not isinstance(data, dict):
        raise _Invalid(f"top level: expected a JSON object, got {_describe(data)}")
    dtype, metadata = _header(data)
    sizes = _sizes(data["sizes"])
    cost = _cost(data["cost"])
    activations = _activations(data.get("activations", ["sigmoid"] * (len(sizes) - 2)), sizes)
    params = _tree(data, sizes, dtype)
    return Model(params=params, cost=cost, sizes=sizes, metadata=metadata,
                 activations=activations)


def _activations(value: Any, sizes: tuple[int, ...]) -> tuple[Activation, ...]:
    if not isinstance(value, list) or len(value) != len(sizes) - 2:
        raise _Invalid(f"activations: expected a list of {len(sizes) - 2} names (one per hidden "
                       f"layer) for sizes {_show(list(sizes))}, got {_describe(value)}")
    for i, name in enumerate(value):
        if not isinstance(name, str) or name not in registry.ACTIVATIONS:
            raise _Invalid(f"activations[{i}]: expected one of {sorted(registry.ACTIVATIONS)}, "
                           f"got {_show(name)}")
    return tuple(map(registry.activation, value))


def _header(data: dict[str, Any]) -> tuple[np.dtype[Any], dict[str, Any]]:
    """The dtype and metadata, after checking format, version and keys."""
    if "format" not in data:  # network2's plain layout
        _check_keys(data, _NETWORK2_KEYS, "a network2 model (no 'format' key)")
        return _DTYPES["float64"], {}
    if data["format"] != FORMAT:
        raise _Invalid(f"format: expected {json.dumps(FORMAT)}, got {_show(data['format'])}")
    version = data.get("format_version", _MISSING)
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        shown = "nothing" if version is _MISSING else _show(version)
        raise _Invalid(f"format_version: this fnn reads versions {list(SUPPORTED_VERSIONS)}, "
                       f"got {shown}")
    _check_keys(data, _FNN_KEYS, f"an fnn model (format_version {version})", _OPTIONAL_KEYS)
    return _dtype(data["dtype"]), _metadata(data["metadata"])


def _check_keys(data: dict[str, Any], expected: tuple[str, ...], kind: str,
                optional: tuple[str, ...] = ()) -> None:
    missing = [k for k in expected if k not in data]
    if missing:
        raise _Invalid(f"top level: missing key {_show(missing[0])} of {kind}")
    extra = sorted((k for k in data if k not in expected + optional), key=str)
    if extra:
        raise _Invalid(f"top level: unexpected key {_show(extra[0])} in {kind}; "
                       f"expected keys {list(expected)}")


def _dtype(value: Any) -> np.dtype[Any]:
    if not isinstance(value, str) or value not in _DTYPES:
        raise _Invalid(f"dtype: expected one of {sorted(_DTYPES)}, got {_show(value)}")
    return _DTYPES[value]


def _metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"metadata: expected a JSON object, got {_describe(value)}")
    return _json_copy(value, "metadata")


def _sizes(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise _Invalid(f"sizes: expected a list of ints such as [784, 30, 10], got {_show(value)}")
    if len(value) < 2:
        raise _Invalid(f"sizes: expected an input and an output layer, got {_show(value)}")
    for i, size in enumerate(value):
        if type(size) is not int or size < 1:
            raise _Invalid(f"sizes[{i}]: expected an int >= 1, got {_show(size)}")
    return tuple(value)


def _cost(value: Any) -> Cost:
    if not isinstance(value, str) or value not in _COST_NAMES:
        raise _Invalid(f"cost: expected one of {sorted(_COST_NAMES)}, got {_show(value)}")
    return _COST_NAMES[value]


def _matrices(value: Any, where: str, shapes: list[tuple[int, int]], sizes: tuple[int, ...],
              dtype: np.dtype[Any]) -> tuple[Array, ...]:
    if not isinstance(value, list | tuple) or len(value) != len(shapes):
        raise _Invalid(f"{where}: expected a list of {len(shapes)} matrices for sizes "
                       f"{_show(list(sizes))}, got {_describe(value)}")
    return tuple(_matrix(m, f"{where}[{l}]", shape, sizes, dtype)
                 for l, (m, shape) in enumerate(zip(value, shapes)))


def _matrix(value: Any, where: str, shape: tuple[int, int], sizes: tuple[int, ...],
            dtype: np.dtype[Any]) -> Array:
    """One (n_out, n_in) matrix: structure by walking lists, values in one vectorized pass."""
    n_rows, n_cols = shape
    if not isinstance(value, list | tuple) or len(value) != n_rows:
        rows, cols = _show(n_rows), _show(n_cols)
        raise _Invalid(f"{where}: expected a {rows} x {cols} matrix (a list of {rows} rows) "
                       f"for sizes {_show(list(sizes))}, got {_describe(value)}")
    for i, row in enumerate(value):
        if not isinstance(row, list | tuple) or len(row) != n_cols:
            numbers = "1 number" if n_cols == 1 else f"{_show(n_cols)} numbers"
            raise _Invalid(f"{where}[{i}]: expected a list of {numbers} for sizes "
                           f"{_show(list(sizes))}, got {_describe(row)}")
    if not all(set(map(type, row)) <= _PLAIN_NUMBERS for row in value):
        _check_numbers(value, where)  # the slow walk only when some entry is not a float or int
    return _array(value, where, dtype)


def _check_numbers(rows: Sequence[Any], where: str) -> None:
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise _Invalid(f"{where}[{i}][{j}]: expected a finite number, got {_show(x)}")


def _array(rows: Sequence[Any], where: str, dtype: np.dtype[Any]) -> Array:
    try:
        with np.errstate(over="ignore"):  # a float32 overflow becomes inf, refused below
            array = np.array(rows, dtype=np.float64).astype(dtype)
    except OverflowError:  # an int beyond the float64 range
        i, j = next((i, j) for i, row in enumerate(rows)
                    for j, x in enumerate(row) if not _fits_float64(x))
    else:
        bad = np.argwhere(~np.isfinite(array))
        if not bad.size:
            return array
        i, j = (int(k) for k in bad[0])
    within = "" if dtype == np.float64 else f" within the {dtype.name} range"
    raise _Invalid(f"{where}[{i}][{j}]: expected a finite number{within}, "
                   f"got {_show(rows[i][j])}")


def _fits_float64(x: float) -> bool:
    try:
        float(x)
    except OverflowError:
        return False
    return True


def _show(value: Any) -> str:
    """``value`` spelled as in JSON (``true``, ``null``, ``"0.5"``), cut to 60 characters."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = reprlib.repr(value)  # bounded depth and length, whatever the value
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return _show(value)


# --------------------------------------------------------------------------- the files


def save(path: str | os.PathLike[str], params: Any, *, cost: Cost,
         metadata: Mapping[str, Any] | None = None, activation: Hidden = SIGMOID) -> Path:
    """Write the model atomically to ``path`` and return it as a ``Path``.

    Everything is checked before any file is opened (non-finite params or metadata JSON
    cannot hold raise ``ConfigError``). ``metadata["versions"]`` is set to the fnn, NumPy and
    Python versions writing the file. See ``atomic_write_bytes`` for what a failure leaves.

    >>> import tempfile, pathlib
    >>> from fnn.params import init_params
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save(pathlib.Path(d) / "net.json", init_params([3, 2], seed=0),
    ...                 cost=fnn.cross_entropy, metadata={"seed": 0})
    ...     model = load(path)
    >>> model.sizes, model.cost.name, model.metadata["seed"], sorted(model.metadata["versions"])
    ((3, 2), 'cross_entropy', 0, ['fnn', 'numpy', 'python'])
    """
    if metadata is not None and not isinstance(metadata, Mapping):
        raise FnnTypeError(f"metadata must be a dict of JSON data, got {type(metadata).__name__}")
    stamped = {**(metadata or {}), "versions": _versions()}
    return atomic_write_bytes(path, _encode(to_dict(params, cost=cost, metadata=stamped,
                                                    activation=activation)))


def _versions() -> dict[str, str]:
    return {"fnn": __version__, "numpy": np.__version__,
            "python": platform.python_version()}


def _encode(data: dict[str, Any]) -> bytes:
    """One top-level key per line in a fixed order; values compact, numbers as ``repr``."""
    lines = (f"  {json.dumps(key)}: {json.dumps(data[key], allow_nan=False, sort_keys=True)}"
             for key in _WRITE_ORDER)
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


def load(path: str | os.PathLike[str]) -> Model:
    """The model in the file at ``path`` (an fnn file or network2's four-key one).

    A bad file raises ``ModelFormatError`` naming the file and the place (any failure at all
    while reading it does, see ``fnn.files.load_errors``); ``OSError`` from opening it (missing
    file, a directory) passes through unchanged. Files over ``fnn.files.MAX_JSON_BYTES`` or
    ``MAX_JSON_VALUES`` are refused before parsing.

    >>> load("no/such/model.json")
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] No such file or directory: 'no/such/model.json'
    """
    path = Path(path)
    with load_errors(str(path), ModelFormatError):
        return from_dict(read_json(path, what="model"), source=str(path))
