"""A whole training run but its data: the ``Run`` the command line and sweeps describe.

A ``Run`` is the net's layer sizes, how its first params are drawn (``init``, ``dtype``), how
the training set is expanded, and the ``TrainConfig`` (with the seed). ``RUN_SETTINGS`` adds
those to the config's ``SETTINGS`` (and ``eta``, the optimizer's learning rate), so the
command line's options and a sweep's grid are derived from one table; ``run_to_json`` and
``run_from_json`` are its file form, ``start`` gives the first params and the training data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from fnn import _checks, registry
from fnn.data import Labelled
from fnn.errors import ConfigError
from fnn.expand import NO_EXPANSION, Expansion, expand_labelled
from fnn.params import Initializer, Params, check_sizes, default_init, init_params
from fnn.training.config import (
    SETTINGS,
    Setting,
    TrainConfig,
    config_from_json,
    config_to_json,
    replaced,
)

__all__ = ["DTYPES", "RUN_SETTINGS", "Run", "run_from_json", "run_to_json", "start",
           "with_settings"]

DTYPES = ("float64", "float32")
"""The float types a run can train in."""


class Run(NamedTuple):
    """A training run but its data: ``sizes`` (input first), the ``config`` (seed included),
    how the first params are drawn (``init``, ``dtype``) and the training set's ``expansion``."""

    sizes: tuple[int, ...]
    config: TrainConfig
    init: Initializer = default_init
    dtype: str = "float64"
    expansion: Expansion = NO_EXPANSION


def _sizes_text(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.replace("-", ",").split(",")]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"must be layer sizes such as 784,30,10, got {text!r}") from None
    return check_sizes(sizes)


def _sizes_json(data: Any) -> tuple[int, ...]:
    return check_sizes(data)


def _dtype(value: Any) -> str:
    if value not in DTYPES:
        raise ConfigError(f"dtype must be one of {list(DTYPES)}, got {value!r}")
    return str(value)


def _eta_text(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"must be a number, got {text!r}") from None
    return _checks.positive_float("value", value)


RUN_SETTINGS: Mapping[str, Setting] = {
    **{s.name: s for s in (
        Setting("sizes", "layer sizes, input first, e.g. 784,30,10", list, _sizes_json,
                _sizes_text, "N,N,..."),
        Setting("init", f"how the first params are drawn: one of {sorted(registry.INITIALIZERS)}",
                registry.initializer_name, registry.initializer, registry.initializer, "NAME"),
        Setting("dtype", f"the float type of the params and data: one of {list(DTYPES)}",
                str, _dtype, _dtype, "TYPE"),
        Setting("expansion", "enlarge the training set: none, shifts (the book's one-pixel "
                "shifts, x5), rotations:K or shifts+rotations:K", Expansion.to_json,
                Expansion.from_json, Expansion.parse, "SPEC"),
        Setting("eta", "the optimizer's learning rate (sets the eta of the optimizer)",
                float, lambda v: _checks.positive_float("eta", v), _eta_text, "ETA"),
    )},
    **SETTINGS,
}
"""Every setting of a ``Run`` as the edges see it: its own, ``eta``, and the config's."""

_OWN = frozenset({"sizes", "init", "dtype", "expansion"})


def with_settings(run: Run, **changes: Any) -> Run:
    """``run`` with some settings (names of ``RUN_SETTINGS``) changed; each is checked.

    >>> from fnn.optimizers import learning_rate
    >>> from fnn.training.config import make_config
    >>> run = Run((784, 30, 10), make_config(epochs=3, mini_batch_size=10,
    ...                                      cost=fnn.cross_entropy, seed=0, eta=0.5))
    >>> changed = with_settings(run, sizes=(784, 100, 10), eta=0.1, dropout=0.5)
    >>> changed.sizes, changed.config.dropout, learning_rate(changed.config.optimizer)
    ((784, 100, 10), 0.5, 0.1)
    """
    unknown = sorted(set(changes) - set(RUN_SETTINGS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; expected one of "
                          f"{sorted(RUN_SETTINGS)}")
    own = {k: _check_own(k, v) for k, v in changes.items() if k in _OWN}
    config_changes = {k: v for k, v in changes.items() if k not in _OWN}
    config = replaced(run.config, **config_changes) if config_changes else run.config
    return run._replace(config=config, **own)


def _check_own(name: str, value: Any) -> Any:
    if name == "sizes":
        return check_sizes(value)
    if name == "dtype":
        return _dtype(value)
    kind = {"init": Initializer, "expansion": Expansion}[name]
    if not isinstance(value, kind):
        raise ConfigError(f"{name} must be an fnn {kind.__name__}, got {value!r}")
    return value


def run_to_json(run: Run, *, seed: bool = True) -> dict[str, Any]:
    """The JSON data of ``run`` (without the seed when ``seed`` is False, as sweeps keep it
    apart); ConfigError if a value is a user's own."""
    own = {name: RUN_SETTINGS[name].to_json(getattr(run, name)) for name in
           ("sizes", "init", "dtype", "expansion")}
    config = config_to_json(run.config)
    if not seed:
        del config["seed"]
    return {**own, **config}


def run_from_json(data: Any, *, seed: Any = None) -> Run:
    """The ``Run`` ``run_to_json`` wrote; ``seed`` fills in a seed the data leave out."""
    if not isinstance(data, dict):
        raise ConfigError(f"a run must be a JSON object, got {type(data).__name__}")
    missing = sorted(_OWN - set(data))
    if missing:
        raise ConfigError(f"a run needs the keys {sorted(_OWN)}, missing {missing}")
    config_data = {k: v for k, v in data.items() if k not in _OWN}
    if seed is not None:
        if "seed" in config_data:
            raise ConfigError("the run already has a seed")
        config_data["seed"] = seed
    own = {name: RUN_SETTINGS[name].from_json(data[name]) for name in _OWN}
    return Run(config=config_from_json(config_data), **own)


def start(run: Run, training: Labelled) -> tuple[Params, Labelled]:
    """The first params of ``run`` and its training data (expanded as it says), both drawn
    from its seed's own streams.

    >>> from fnn.training.config import make_config
    >>> run = Run((4, 2), make_config(epochs=1, mini_batch_size=2, cost=fnn.cross_entropy,
    ...                               seed=0, eta=0.5), dtype="float32")
    >>> params, data = start(run, Labelled(np.zeros((3, 4)), np.array([0, 1, 1])))
    >>> params.weights[0].dtype, data.x.shape
    (dtype('float32'), (3, 4))
    """
    params = init_params(run.sizes, seed=run.config.seed, init=run.init, dtype=run.dtype)
    data = Labelled(training.x.astype(np.dtype(run.dtype), copy=False), training.labels)
    return params, expand_labelled(data, run.expansion, seed=run.config.seed)

