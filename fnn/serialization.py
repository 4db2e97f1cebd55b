"""Model files: JSON in network2's layout (the default) or safetensors, chosen by the suffix.

``save(path, model)`` and ``load(path) -> Model`` write and read both; a path ending in
``.safetensors`` is a safetensors file (``fnn[safetensors]``), any other a JSON file.

A JSON file holds network2's four keys plus fnn's own, one top-level key per line::

    {
      "format": "fnn.model",
      "format_version": 1,
      "sizes": [784, 30, 10],
      "cost": "CrossEntropyCost",
      "dtype": "float64",
      "activations": ["sigmoid"],
      "metadata": {"seed": 0, "versions": {"fnn": "0.1.0", "numpy": "2.1.3", "python": "3.11.7"}},
      "weights": [[[0.0123, ...], ...], ...],
      "biases": [[[-0.5], ...], ...]
    }

``weights[l]`` is a nested ``(n_out, n_in)`` list and ``biases[l]`` a nested ``(n_out, 1)``
list, as network2's ``save`` writes them. network2 can run only sigmoid layers with its two
costs, so only such a model is written as above, as format version 1, which network2's
``load`` reads. Any other (a ReLU or tanh hidden layer, or a softmax output) is written as
version 2 with the cost as ``"fnn:NAME"`` (``"fnn:log_likelihood"``), a name network2's
``load`` looks up in its module and does not find: it fails there instead of misreading the
file. Numbers are written with ``repr``, the shortest text that reads back as the same float,
so a model survives ``load(save(...))`` bit for bit (-0.0, subnormals and float32 values
too), and the same model always gives the same bytes.

A safetensors file holds the tensors ``weights.0``, ``biases.0``, ... (``(n_out, n_in)`` and
``(n_out,)``, in the model's dtype) and, in its header's ``__metadata__`` (strings only, by the
format's rules), ``format``, ``format_version``, ``sizes`` and ``activations`` (JSON lists),
``cost`` (fnn's name), ``dtype``, ``fnn_version`` and ``metadata`` (a JSON object).

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
from typing import Any

import numpy as np

from fnn import files, registry, safetensors_format
from fnn._version import __version__
from fnn.activations import SIGMOID, Activation, Hidden, per_layer
from fnn.costs import Cost
from fnn.errors import ConfigError, FnnTypeError, ModelFormatError
from fnn.files import atomic_write_bytes, key_path, load_errors, parse_json, read_capped
from fnn.model import Model, resolve
from fnn.params import Array, Params, check_params

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SAFETENSORS_VERSION",
    "SUPPORTED_VERSIONS",
    "Model",
    "format_of",
    "from_dict",
    "load",
    "save",
    "to_dict",
    "tree_from_dict",
    "tree_to_dict",
]

FORMAT = "fnn.model"
"""The ``format`` key of fnn's model files."""
FORMAT_VERSION = 2
"""The newest JSON format version fnn writes: 2 for a model network2 cannot run, whose cost
is named ``"fnn:NAME"``; a model network2 can run is written as version 1, as before."""
SUPPORTED_VERSIONS = (1, 2)
"""The JSON format versions this fnn reads; a newer file names its version in the error."""
SAFETENSORS_VERSION = 1
"""The version of the ``__metadata__`` fnn writes in a safetensors file (and reads)."""

# network2 stores the cost's class name; only these names are ever looked up (no getattr)
_COST_NAMES = registry.NETWORK2_COSTS
# the two cost classes network2.py has: a sigmoid net with one of these is what it can run
_NETWORK2_OWN = ("QuadraticCost", "CrossEntropyCost")
_FNN_PREFIX = "fnn:"
_DTYPES: dict[str, np.dtype[Any]] = {"float64": np.dtype(np.float64),
                                     "float32": np.dtype(np.float32)}
_FNN_KEYS = ("format", "format_version", "sizes", "cost", "dtype", "metadata", "weights", "biases")
# written for every fnn model; a version-1 file without it has sigmoid hidden layers
_OPTIONAL_KEYS = ("activations",)
_WRITE_ORDER = ("format", "format_version", "sizes", "cost", "dtype", "activations", "metadata",
                "weights", "biases")
_NETWORK2_KEYS = ("sizes", "weights", "biases", "cost")
_SAFETENSORS_KEYS = ("format", "format_version", "sizes", "activations", "cost", "dtype",
                     "fnn_version", "metadata")
_SAFETENSORS_SUFFIX = ".safetensors"
# fnn's other JSON files, named when one is given as a model
_OTHER_FILES = {"fnn.history": "a training history (fnn train --history)",
                "fnn.checkpoint": "a checkpoint (fnn train --checkpoint)",
                "fnn.sweep-result": "a line of a sweep's results"}
_PLAIN_NUMBERS = frozenset({float, int})
_MISSING = object()


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


def to_dict(params: Any, *, cost: Cost | None = None, metadata: Mapping[str, Any] | None = None,
            activation: Hidden | None = None) -> dict[str, Any]:
    """The JSON-ready dict of a model file: network2's keys plus format, dtype and metadata.

    ``params`` is a ``Model`` (its own activations and cost; its metadata unless
    ``metadata`` is given) or any finite ``(weights, biases)`` pair with ``cost``
    (``quadratic``, ``cross_entropy`` or ``log_likelihood``) and ``activation``, the hidden
    layers' (sigmoid by default; stored under ``activations``, one name per hidden layer).
    ``metadata`` is JSON data with string keys (tuples come back as lists), stored with sorted
    keys. A net network2 runs (sigmoid layers, quadratic or cross-entropy) keeps network2's
    cost name and format version 1; any other gets ``"fnn:NAME"`` and version 2.

    >>> p = Params(weights=(np.array([[0.5, -0.0]]),), biases=(np.array([5e-324]),))
    >>> d = to_dict(p, cost=fnn.quadratic, metadata={"seed": 0})
    >>> d["sizes"], d["cost"], d["dtype"], d["weights"], d["biases"], d["metadata"]
    ([2, 1], 'QuadraticCost', 'float64', [[[0.5, -0.0]]], [[[5e-324]]], {'seed': 0})
    >>> d = to_dict(p, cost=fnn.log_likelihood)
    >>> d["format_version"], d["cost"]
    (2, 'fnn:log_likelihood')
    >>> to_dict(p, cost=fnn.quadratic, metadata={"eta": float("nan")})
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: metadata.eta: expected a finite number, got nan
    """
    model = _to_save(params, cost=cost, activation=activation, metadata=metadata)
    cost_name, version = _cost_entry(model)
    return {
        "format": FORMAT,
        "format_version": version,
        "sizes": list(model.sizes),
        "cost": cost_name,
        "dtype": model.params.weights[0].dtype.name,
        "metadata": model.metadata,
        **tree_to_dict(model.params),
        "activations": [_activation_name(a) for a in model.activations],
    }


def _to_save(params: Any, *, cost: Cost | None, activation: Hidden | None,
             metadata: Mapping[str, Any] | None) -> Model:
    """The checked Model to write: finite params, fnn's own cost, JSON metadata (a copy)."""
    run = resolve(params, activation=activation, cost=cost)
    if metadata is None and isinstance(params, Model):
        metadata = params.metadata
    checked = check_params(run.params)
    hidden = per_layer(run.activation, len(checked.weights) - 1)
    if not isinstance(run.cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got {cost!r}")
    return Model(checked, hidden, run.cost, _checked_metadata(metadata))


def _cost_entry(model: Model) -> tuple[str, int]:
    """The cost's name in a JSON file and the file's format version: network2's class name
    and version 1 for a net network2 runs as fnn does, else ``"fnn:NAME"`` and version 2."""
    name = _cost_name(model.cost)
    own = [n for n in _NETWORK2_OWN if _COST_NAMES[n] == model.cost]
    if own and all(a == SIGMOID for a in model.activations):
        return own[0], 1
    return _FNN_PREFIX + name, 2


def _saved_name(kind: str, value: Activation | Cost) -> str:
    """fnn's name of an activation or cost, or ConfigError for one that is not fnn's own."""
    lookup, names = ((registry.activation_name, registry.ACTIVATIONS) if kind == "activation"
                     else (registry.cost_name, registry.COSTS))
    try:
        return lookup(value)
    except ConfigError:
        raise ConfigError(f"{kind} {value.name!r} cannot be saved; a model file stores one "
                          f"of {sorted(names)}") from None


def _activation_name(activation: Activation) -> str:
    return _saved_name("activation", activation)


def _cost_name(cost: Cost) -> str:
    return _saved_name("cost", cost)


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
    ``"{source}: {location}: {problem}"``. A network2 dict has dtype float64, sigmoid hidden
    layers and metadata ``{}``.

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
    dtype, metadata, version = _header(data)
    sizes = _sizes(data["sizes"])
    cost = _cost(data["cost"], version)
    activations = _activations(data.get("activations", ["sigmoid"] * (len(sizes) - 2)), sizes)
    params = _tree(data, sizes, dtype)
    return Model(params=params, activations=activations, cost=cost, metadata=metadata)


def _activations(value: Any, sizes: tuple[int, ...]) -> tuple[Activation, ...]:
    if not isinstance(value, list) or len(value) != len(sizes) - 2:
        raise _Invalid(f"activations: expected a list of {len(sizes) - 2} names (one per hidden "
                       f"layer) for sizes {_show(list(sizes))}, got {_describe(value)}")
    for i, name in enumerate(value):
        if not isinstance(name, str) or name not in registry.ACTIVATIONS:
            raise _Invalid(f"activations[{i}]: expected one of {sorted(registry.ACTIVATIONS)}, "
                           f"got {_show(name)}")
    return tuple(map(registry.activation, value))


def _header(data: dict[str, Any]) -> tuple[np.dtype[Any], dict[str, Any], int]:
    """The dtype, metadata and format version, after checking format, version and keys."""
    if "format" not in data:  # network2's plain layout
        _check_keys(data, _NETWORK2_KEYS, "a network2 model (no 'format' key)")
        return _DTYPES["float64"], {}, 1
    if data["format"] != FORMAT:
        kind = _OTHER_FILES.get(data["format"]) if isinstance(data["format"], str) else None
        raise _Invalid(f"format: expected {json.dumps(FORMAT)}, got {_show(data['format'])}"
                       + (f": {kind}, not a model" if kind else ""))
    version = data.get("format_version", _MISSING)
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        shown = "nothing" if version is _MISSING else _show(version)
        raise _Invalid(f"format_version: this fnn reads versions {list(SUPPORTED_VERSIONS)}, "
                       f"got {shown}")
    # version 2 names the activations always: it is written for nets network2 cannot run
    required, optional = (_FNN_KEYS, _OPTIONAL_KEYS) if version == 1 else (
        _FNN_KEYS + _OPTIONAL_KEYS, ())
    _check_keys(data, required, f"an fnn model (format_version {version})", optional)
    return _dtype(data["dtype"]), _metadata(data["metadata"]), version


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


def _cost(value: Any, version: int) -> Cost:
    """network2's class names in every version; ``"fnn:NAME"`` from version 2 on."""
    names: dict[str, Cost] = dict(_COST_NAMES)
    if version >= 2:
        names |= {_FNN_PREFIX + name: cost for name, cost in registry.COSTS.items()}
    if not isinstance(value, str) or value not in names:
        raise _Invalid(f"cost: expected one of {sorted(names)}, got {_show(value)}")
    return names[value]


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


def format_of(path: str | os.PathLike[str], *, doing: str | None = None) -> str:
    """The format of the model file at ``path``, by its suffix: ``"safetensors"`` for
    ``.safetensors`` (any case), else ``"json"``.

    With ``doing`` (``"saving"``, ``"loading"``), a format whose package is missing raises
    ``ImportError`` saying ``{doing} {path} needs ...`` and how to install it: a command can
    check ``--save`` so before it trains.

    >>> format_of("net.json"), format_of("net.SafeTensors"), format_of("net")
    ('json', 'safetensors', 'json')
    """
    if Path(path).suffix.lower() != _SAFETENSORS_SUFFIX:
        return "json"
    if doing is not None:
        safetensors_format.library(doing, path)
    return "safetensors"


def save(path: str | os.PathLike[str], params: Any, *, cost: Cost | None = None,
         metadata: Mapping[str, Any] | None = None, activation: Hidden | None = None) -> Path:
    """Write the model atomically to ``path`` (format by suffix, see ``format_of``) and
    return it as a ``Path``.

    ``params`` is a ``Model`` (saved with its own activations, cost and metadata) or any
    ``(weights, biases)`` pair with ``cost`` and hidden ``activation`` (sigmoid by default),
    as in ``to_dict``. Everything is checked before any file is opened (non-finite params or
    metadata JSON cannot hold raise ``ConfigError``). ``metadata["versions"]`` is set to the
    fnn, NumPy and Python versions writing the file. See ``atomic_write_bytes`` for what a
    failure leaves.

    >>> import tempfile, pathlib
    >>> from fnn.params import init_params
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save(pathlib.Path(d) / "net.json", init_params([3, 2], seed=0),
    ...                 cost=fnn.cross_entropy, metadata={"seed": 0})
    ...     model = load(path)
    >>> model.sizes, model.cost.name, model.metadata["seed"], sorted(model.metadata["versions"])
    ((3, 2), 'cross_entropy', 0, ['fnn', 'numpy', 'python'])
    """
    if metadata is None and isinstance(params, Model):
        metadata = params.metadata
    if metadata is not None and not isinstance(metadata, Mapping):
        raise FnnTypeError(f"metadata must be a dict of JSON data, got {type(metadata).__name__}")
    stamped = {**(metadata or {}), "versions": _versions()}
    if format_of(path, doing="saving") == "safetensors":
        model = _to_save(params, cost=cost, activation=activation, metadata=stamped)
        return atomic_write_bytes(path, _safetensors_bytes(model, path))
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
    """The model in the file at ``path``: fnn's JSON, network2's four-key JSON, or (named
    ``*.safetensors``) fnn's safetensors, as a ``Model`` that runs as it was saved.

    A bad file raises ``ModelFormatError`` naming the file and the place (any failure at all
    while reading it does, see ``fnn.files.load_errors``); ``OSError`` from opening it (missing
    file, a directory) passes through unchanged. JSON files over ``fnn.files.MAX_JSON_BYTES``
    or ``MAX_JSON_VALUES`` are refused before parsing.

    >>> load("no/such/model.json")
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] No such file or directory: 'no/such/model.json'
    """
    path = Path(path)
    if format_of(path, doing="loading") == "safetensors":  # ImportError without the package
        return _load_safetensors(path)
    with load_errors(str(path), ModelFormatError):
        return from_dict(_read_json(path), source=str(path))


def _read_json(path: Path) -> Any:
    data = read_capped(path, files.MAX_JSON_BYTES, what="model")
    try:
        return parse_json(data, source=str(path), what="model")
    except ModelFormatError:
        problem = _not_json(data)
        if problem is None:
            raise
        raise ModelFormatError(f"{path}: {problem}") from None


def _not_json(data: bytes) -> str | None:
    """Why ``data``, which is not valid JSON, is no JSON model file at all; None when it
    looks like one gone wrong (then the parser's message, with its place, says more)."""
    if _looks_like_safetensors(data):
        return "a safetensors file, not JSON: name it *.safetensors to load it as one"
    head = data.lstrip(b" \t\r\n")[:1]
    if not head or head in b"{[" or head >= b"\x80":  # non-ASCII: the UTF-8 check says more
        return None
    start = data[:24].decode("utf-8", "replace")
    return (f"not a model file: it starts with {start!r}; a model file is JSON (an object "
            "with sizes, weights, biases and cost) or safetensors named *.safetensors")


def _looks_like_safetensors(data: bytes) -> bool:
    """An 8-byte little-endian header length that fits the data, then a JSON object."""
    return data[8:9] == b"{" and 2 <= int.from_bytes(data[:8], "little") <= len(data) - 8


# ------------------------------------------------------------------------- safetensors


def _safetensors_bytes(model: Model, path: str | os.PathLike[str]) -> bytes:
    """The safetensors file of a checked ``model``: its tensors and its ``__metadata__``."""
    params = model.params
    header = {
        "format": FORMAT,
        "format_version": str(SAFETENSORS_VERSION),
        "sizes": json.dumps(list(model.sizes)),
        "activations": json.dumps([_activation_name(a) for a in model.activations]),
        "cost": _cost_name(model.cost),
        "dtype": params.weights[0].dtype.name,
        "fnn_version": __version__,
        "metadata": json.dumps(model.metadata, allow_nan=False, sort_keys=True),
    }
    tensors = {**{f"weights.{l}": w for l, w in enumerate(params.weights)},
               **{f"biases.{l}": b for l, b in enumerate(params.biases)}}
    return safetensors_format.encode(tensors, header, path=path)


def _load_safetensors(path: Path) -> Model:
    with load_errors(str(path), ModelFormatError), safetensors_format.open_file(path) as f:
        try:
            sizes, activations, cost, dtype, metadata = _safetensors_header(f.metadata, path)
            params = _safetensors_params(f, sizes, dtype)
        except _Invalid as problem:
            raise ModelFormatError(f"{path}: {problem}") from None
        return Model(params=params, activations=activations, cost=cost, metadata=metadata)


def _safetensors_header(meta: dict[str, str] | None, path: Path) -> tuple[
        tuple[int, ...], tuple[Activation, ...], Cost, np.dtype[Any], dict[str, Any]]:
    """What ``__metadata__`` says: sizes, activations, cost, dtype and metadata, checked."""
    if meta is None:
        raise _Invalid("no __metadata__ in the header, so not an fnn model (fnn writes the "
                       "sizes, activations and cost there)")
    missing = [k for k in _SAFETENSORS_KEYS if k not in meta]
    if missing:
        raise _Invalid(f"__metadata__: missing key {_show(missing[0])} of an fnn model")
    extra = sorted(k for k in meta if k not in _SAFETENSORS_KEYS)
    if extra:
        raise _Invalid(f"__metadata__: unexpected key {_show(extra[0])}; expected keys "
                       f"{list(_SAFETENSORS_KEYS)}")
    if meta["format"] != FORMAT:
        raise _Invalid(f"__metadata__.format: expected {json.dumps(FORMAT)}, "
                       f"got {_show(meta['format'])}")
    if meta["format_version"] != str(SAFETENSORS_VERSION):
        raise _Invalid(f"__metadata__.format_version: this fnn reads versions "
                       f"{[str(SAFETENSORS_VERSION)]}, got {_show(meta['format_version'])}")
    if meta["cost"] not in registry.COSTS:
        raise _Invalid(f"__metadata__.cost: expected one of {sorted(registry.COSTS)}, "
                       f"got {_show(meta['cost'])}")
    try:
        dtype = _dtype(meta["dtype"])
        sizes = _sizes(_json_entry(meta, "sizes", path))
        activations = _activations(_json_entry(meta, "activations", path), sizes)
        metadata = _metadata(_json_entry(meta, "metadata", path))
    except _Invalid as problem:
        raise _Invalid(f"__metadata__.{problem}") from None
    return sizes, activations, registry.COSTS[meta["cost"]], dtype, metadata


def _json_entry(meta: dict[str, str], key: str, path: Path) -> Any:
    """The JSON value in the string ``meta[key]``, read strictly."""
    if not meta[key].strip():
        raise _Invalid(f"{key}: expected JSON text, got {_show(meta[key])}")
    return parse_json(meta[key].encode("utf-8"), source=f"{path}: __metadata__.{key}",
                      what="model")


def _safetensors_params(f: safetensors_format.Opened, sizes: tuple[int, ...],
                        dtype: np.dtype[Any]) -> Params:
    """The tensors ``sizes`` and ``dtype`` call for, no other, each of its shape, finite."""
    shapes: dict[str, tuple[int, ...]] = {}
    for l, (n_in, n_out) in enumerate(pairwise(sizes)):
        shapes[f"weights.{l}"], shapes[f"biases.{l}"] = (n_out, n_in), (n_out,)
    layers = len(sizes) - 1
    need = (f"sizes {_show(list(sizes))} need weights.0 and biases.0" if layers == 1 else
            f"sizes {_show(list(sizes))} need weights.0-{layers - 1} and biases.0-{layers - 1}")
    missing = [name for name in shapes if name not in f.tensors]
    if missing:
        raise _Invalid(f"tensors: missing {_show(missing[0])}; {need}")
    extra = sorted(name for name in f.tensors if name not in shapes)
    if extra:
        raise _Invalid(f"tensors: unexpected {_show(extra[0])}; {need}")
    code = next(c for c, d in safetensors_format.DTYPES.items() if d == dtype)
    for name, shape in shapes.items():
        info = f.tensors[name]
        if info.dtype != code:
            raise _Invalid(f"{name}: dtype {_show(info.dtype)}, but __metadata__.dtype is "
                           f"{dtype.name} ({code})")
        if info.shape != shape:
            raise _Invalid(f"{name}: shape {_show(list(info.shape))}, expected "
                           f"{list(shape)} for sizes {_show(list(sizes))}")
    arrays = {name: _finite(f.tensor(name).astype(dtype, copy=False), name) for name in shapes}
    return Params(weights=tuple(arrays[f"weights.{l}"] for l in range(layers)),
                  biases=tuple(arrays[f"biases.{l}"] for l in range(layers)))


def _finite(array: Array, name: str) -> Array:
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        place = tuple(int(i) for i in bad[0])
        raise _Invalid(f"{name}[{', '.join(map(str, place))}]: expected a finite number, "
                       f"got {float(array[place])}")
    return array
