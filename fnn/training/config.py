"""One description of a training run: ``TrainConfig``, a record of resolved values.

``make_config`` checks every setting once and builds the config; ``fnn.sgd``'s keywords, the
command line, a sweep's grid and a checkpoint's settings all go through it, and
``config_to_json``/``config_from_json`` are the one way it is written to and read from a file.
``SETTINGS`` describes each setting for the edges (its JSON form, its command-line text, its
help), so a new option is one field here and one entry there.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import numpy as np

from fnn import _checks, optimizers, registry
from fnn._checks import Seed
from fnn.activations import SIGMOID, Activation
from fnn.augment import Augmentation
from fnn.costs import Cost
from fnn.errors import ConfigError, FnnTypeError
from fnn.history import Monitor
from fnn.optimizers import GradientTransformation
from fnn.schedules import EpochSchedule, constant, is_constant

__all__ = ["SETTINGS", "Setting", "TrainConfig", "config_from_json", "config_to_json",
           "make_config", "replaced", "seed_from_json", "seed_to_json", "split_top_level"]


class TrainConfig(NamedTuple):
    """Everything that decides a training trajectory, as values (see ``make_config``).

    ``optimizer`` is a ``GradientTransformation``; ``lmbda`` and ``l1`` are the objective's
    L2 and L1 strengths (network2's λ/(2n)·Σ‖W‖² and λ₁/n·Σ|w|), added to the gradient in
    front of the optimizer and to every monitored cost; ``schedule`` scales the optimizer's
    learning rate per epoch. ``jit`` chooses the compiled epoch (``fnn[jit]``): None uses it
    when numba is installed and covers the run, True insists, False never does. ``augment``
    (an ``fnn.augment`` value or any ``aug(rng, x) -> x'``) transforms each shuffled
    mini-batch's inputs afresh every epoch, from the epoch's own random stream.
    """

    epochs: int
    mini_batch_size: int
    cost: Cost
    optimizer: GradientTransformation
    seed: Seed
    lmbda: float = 0.0
    l1: float = 0.0
    activation: Activation | tuple[Activation, ...] = SIGMOID
    dropout: float = 0.0
    schedule: EpochSchedule = constant()
    early_stop: int | None = None
    monitor: Monitor = Monitor()
    jit: bool | None = None
    augment: Augmentation | None = None


_NO_MONITOR = Monitor()


def make_config(*, epochs: Any, mini_batch_size: Any, cost: Any, seed: Any, eta: Any = None,
                optimizer: Any = None, optimizer_settings: Mapping[str, float] | None = None,
                lmbda: Any = 0.0, l1: Any = 0.0, activation: Any = SIGMOID, dropout: Any = 0.0,
                schedule: Any = None, early_stop: Any = None,
                monitor: Monitor = _NO_MONITOR, jit: Any = None,
                augment: Any = None) -> TrainConfig:
    """A ``TrainConfig`` with every value checked; ConfigError/FnnTypeError name the culprit.

    ``eta`` alone is the shorthand for the default optimizer, ``gradient_descent(eta)``
    (network2's update); otherwise pass ``optimizer`` (a value such as
    ``fnn.optimizers.momentum(eta=0.1)``). ``schedule`` defaults to ``constant()``.

    >>> make_config(epochs=1, mini_batch_size=10, cost=fnn.cross_entropy, seed=0, eta=0.5,
    ...             optimizer=fnn.optimizers.adam())
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: eta is the shorthand for optimizer=gradient_descent(eta); give eta or an optimizer (with its own eta), not both
    """
    optimizer = _optimizer(eta, optimizer, optimizer_settings)
    schedule = constant() if schedule is None else _schedule(schedule)
    if not is_constant(schedule):
        optimizers.scale_learning_rate(optimizer, 1.0)  # an epoch schedule needs an eta
    _checks.seed_sequence(seed)
    return TrainConfig(
        epochs=_checks.non_negative_int("epochs", epochs),
        mini_batch_size=_checks.positive_int("mini_batch_size", mini_batch_size),
        cost=_cost(cost), optimizer=optimizer, seed=seed,
        lmbda=_checks.non_negative_float("lmbda", lmbda),
        l1=_checks.non_negative_float("l1", l1), activation=_activation(activation),
        dropout=_checks.fraction("dropout", dropout), schedule=schedule,
        early_stop=None if early_stop is None else _checks.positive_int("early_stop",
                                                                         early_stop),
        monitor=_monitor(monitor), jit=_jit(jit), augment=_augment(augment))


def _deprecated(what: str, instead: str) -> None:
    warnings.warn(f"{what} is deprecated; {instead}", DeprecationWarning, stacklevel=4)


def _optimizer(eta: Any, optimizer: Any, settings: Mapping[str, float] | None,
               ) -> GradientTransformation:
    if isinstance(optimizer, str):
        _deprecated(f"optimizer={optimizer!r} (a name)", "pass the value, e.g. "
                    "optimizer=fnn.optimizers.momentum(eta=0.1, mu=0.9)")
        name = "gradient_descent" if optimizer == "sgd" else optimizer
        if eta is None:
            raise ConfigError(f"optimizer {optimizer!r} given by name needs eta")
        spec = {"name": name, "eta": _checks.positive_float("eta", eta), **dict(settings or {})}
        return registry.optimizer(spec)
    if settings:
        raise ConfigError("optimizer_settings only go with an optimizer name (deprecated); "
                          "pass the optimizer value with its settings")
    if optimizer is None:
        if eta is None:
            raise ConfigError("give eta (the learning rate of network2's update) or an "
                              "optimizer such as fnn.optimizers.momentum(eta=0.1)")
        return optimizers.gradient_descent(_checks.positive_float("eta", eta))
    if not isinstance(optimizer, GradientTransformation):
        raise FnnTypeError(f"optimizer must be a GradientTransformation such as "
                           f"fnn.optimizers.momentum(eta=0.1), got {_checks.shown(optimizer)}")
    if eta is not None:
        raise ConfigError("eta is the shorthand for optimizer=gradient_descent(eta); give eta or "
                          "an optimizer (with its own eta), not both")
    return optimizer


def _cost(cost: Any) -> Cost:
    if isinstance(cost, str):
        _deprecated(f"cost={cost!r} (a name)", "pass the value, e.g. cost=fnn.cross_entropy")
        return registry.cost(cost)
    if not isinstance(cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got "
                           f"{_checks.shown(cost)}")
    return cost


def _activation(activation: Any) -> Activation | tuple[Activation, ...]:
    if isinstance(activation, Activation):
        return activation
    names = [activation] if isinstance(activation, str) else activation
    if isinstance(names, Sequence) and names and all(isinstance(a, str) for a in names):
        _deprecated(f"activation={activation!r} (names)", "pass values, e.g. fnn.RELU")
        acts = tuple(map(registry.activation, names))
        return acts[0] if isinstance(activation, str) else acts
    if isinstance(activation, Sequence) and activation and all(
            isinstance(a, Activation) for a in activation):
        return tuple(activation)
    raise FnnTypeError(f"activation must be an fnn Activation such as fnn.RELU, or one per "
                       f"hidden layer, got {_checks.shown(activation)}")


def _schedule(schedule: Any) -> EpochSchedule:
    if isinstance(schedule, str):
        _deprecated(f"schedule={schedule!r} (a name)", "pass the value, e.g. "
                    "schedule=fnn.schedules.halve_on_plateau(patience=10)")
        built: EpochSchedule = registry.schedule(schedule)
        return built
    if not callable(schedule):
        raise FnnTypeError(f"schedule must be a function of (epoch, history) giving the "
                           f"learning-rate factor or None, got {_checks.shown(schedule)}")
    return cast(EpochSchedule, schedule)


def _jit(jit: Any) -> bool | None:
    if jit is not None and not isinstance(jit, bool):
        raise FnnTypeError(f"jit must be None (use the compiled epoch when it can), True or "
                           f"False, got {_checks.shown(jit)}")
    return jit


def _augment(augment: Any) -> Augmentation | None:
    if augment is not None and not callable(augment):
        raise FnnTypeError(f"augment must be None or a function aug(rng, x) -> x' such as "
                           f"fnn.augment.elastic(), got {_checks.shown(augment)}")
    return cast("Augmentation | None", augment)


def _augment_json(augment: Augmentation | None) -> Any:
    return None if augment is None else registry.augmentation_spec(augment)


def _augment_from_json(data: Any) -> Augmentation | None:
    return None if data is None else _augment(registry.augmentation(data))


def _augment_text(text: str) -> Augmentation | None:
    return None if text.strip().lower() in ("none", "off") else registry.augmentation(text)


def _jit_text(text: str) -> bool | None:
    choices = {"auto": None, "on": True, "off": False}
    if text not in choices:
        raise ConfigError(f"must be one of {list(choices)}, got {text!r}")
    return choices[text]


def _monitor(monitor: Any) -> Monitor:
    if not isinstance(monitor, Monitor):
        raise FnnTypeError(f"monitor must be an fnn Monitor, got {_checks.shown(monitor)}")
    for name, flag in zip(Monitor._fields, monitor):
        if not isinstance(flag, bool | np.bool_):
            raise FnnTypeError(f"monitor_{name} must be a bool, got {flag!r}")
    return Monitor(*map(bool, monitor))


# --------------------------------------------------------------------------- JSON


def seed_to_json(seed: Seed) -> Any:
    """An int seed as it is; a SeedSequence as ``{"entropy": ..., "spawn_key": [...]}``."""
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    return int(seed)


def seed_from_json(data: Any) -> Seed:
    """The seed ``seed_to_json`` wrote (ConfigError for anything else)."""
    if isinstance(data, dict) and set(data) == {"entropy", "spawn_key"}:
        entropy, key = data["entropy"], data["spawn_key"]
        if isinstance(entropy, int) and not isinstance(entropy, bool) and entropy >= 0 and (
                isinstance(key, list) and all(type(k) is int and k >= 0 for k in key)):
            return np.random.SeedSequence(entropy, spawn_key=tuple(key))
    elif type(data) is int and data >= 0:
        return data
    raise ConfigError(f"seed must be an int >= 0 or {{\"entropy\", \"spawn_key\"}}, got "
                      f"{_checks.shown(data)}")


def _activation_json(activation: Activation | tuple[Activation, ...]) -> Any:
    if isinstance(activation, Activation):
        return registry.activation_name(activation)
    return [registry.activation_name(a) for a in activation]


def _activation_from_json(data: Any) -> Activation | tuple[Activation, ...]:
    if isinstance(data, list) and data:
        return tuple(registry.activation(a) for a in data)
    return registry.activation(data)


class Setting(NamedTuple):
    """How one training setting appears at the edges: its JSON form both ways, its
    command-line text, and a line of help."""

    name: str
    help: str
    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]
    from_text: Callable[[str], Any]
    metavar: str = "VALUE"


def _number(kind: Callable[[str, Any], Any], integer: bool = False) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            what = "an integer" if integer else "a number"
            raise ConfigError(f"must be {what}, got {text!r}") from None
        return kind("value", value)
    return parse


def _checked(kind: Callable[[str, Any], Any], name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"{name} must be a number, got NaN")
        return kind(name, value)
    return check


def _optional_int(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        return None if value is None else _checks.positive_int(name, value)
    return check


def _optional_int_text(text: str) -> Any:
    return None if text.strip().lower() in ("none", "off") else _number(
        _checks.positive_int, integer=True)(text)


def _activation_text(text: str) -> Any:
    names = [n.strip() for n in text.strip("[] ").split(",")]
    acts = tuple(map(registry.activation, names))
    return acts[0] if len(acts) == 1 else acts


def _identity(value: Any) -> Any:
    return value


SETTINGS: Mapping[str, Setting] = {s.name: s for s in (
    Setting("epochs", "epochs to train", _identity,
            _checked(_checks.non_negative_int, "epochs"),
            _number(_checks.non_negative_int, integer=True), "N"),
    Setting("mini_batch_size", "examples per mini-batch", _identity,
            _checked(_checks.positive_int, "mini_batch_size"),
            _number(_checks.positive_int, integer=True), "M"),
    Setting("cost", f"the cost: one of {sorted(registry.COSTS)}", registry.cost_name,
            registry.cost, registry.cost, "NAME"),
    Setting("optimizer", "the optimizer, e.g. gradient_descent(eta=0.5), momentum(eta=0.1, "
            f"mu=0.9), adam(eta=0.001), or chain(...) of {sorted(registry.OPTIMIZERS)}",
            registry.optimizer_spec, registry.optimizer, registry.optimizer, "SPEC"),
    Setting("lmbda", "L2 regularization strength λ (network2's λ/(2n)·Σw²)", _identity,
            _checked(_checks.non_negative_float, "lmbda"), _number(_checks.non_negative_float),
            "L"),
    Setting("l1", "L1 regularization strength (λ₁/n·Σ|w|)", _identity,
            _checked(_checks.non_negative_float, "l1"), _number(_checks.non_negative_float),
            "L"),
    Setting("activation", f"hidden activation, one of {sorted(registry.ACTIVATIONS)}, or "
            "one per hidden layer as relu,sigmoid", _activation_json, _activation_from_json,
            _activation_text, "NAME[,..]"),
    Setting("dropout", "probability of dropping a hidden unit while training", _identity,
            _checked(_checks.fraction, "dropout"), _number(_checks.fraction), "P"),
    Setting("schedule", "per-epoch learning-rate schedule: constant, "
            "halve_on_plateau(patience=N) (also halve:N) or step_decay(every=N, factor=F)",
            registry.schedule_spec, registry.schedule, registry.schedule, "SPEC"),
    Setting("early_stop", "stop after N epochs without better evaluation accuracy and keep "
            "the best params (none: off)", _identity, _optional_int("early_stop"),
            _optional_int_text, "N"),
    Setting("jit", "the compiled epoch (needs fnn[jit]): auto (when numba is installed and "
            "covers the run), on, or off", _identity, _jit, _jit_text, "auto|on|off"),
    Setting("augment", "distort each mini-batch's images afresh every epoch: none, "
            f"one of {sorted(registry.AUGMENTATIONS)} with its settings, e.g. "
            "elastic(alpha=34, sigma=4), or compose(shift, elastic)", _augment_json,
            _augment_from_json, _augment_text, "SPEC"),
)}
"""The settings of ``TrainConfig`` (but ``seed`` and ``monitor``) as the edges see them."""


def config_to_json(config: TrainConfig) -> dict[str, Any]:
    """The JSON data of ``config``; ConfigError if a value is a user's own (it has no name).

    >>> config_to_json(make_config(epochs=3, mini_batch_size=10, cost=fnn.cross_entropy,
    ...                            seed=0, eta=0.5))["optimizer"]
    {'name': 'gradient_descent', 'eta': 0.5}
    """
    data = {name: setting.to_json(getattr(config, name)) for name, setting in SETTINGS.items()}
    return {**data, "monitor": config.monitor._asdict(), "seed": seed_to_json(config.seed)}


def config_from_json(data: Any) -> TrainConfig:
    """The ``TrainConfig`` ``config_to_json`` wrote; ConfigError names a bad or missing key."""
    expected = {*SETTINGS, "monitor", "seed"}
    if not isinstance(data, dict) or set(data) != expected:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(f"a training config needs the keys {sorted(expected)}, got {keys}")
    values = {name: setting.from_json(data[name]) for name, setting in SETTINGS.items()}
    monitor = data["monitor"]
    if not isinstance(monitor, dict) or set(monitor) != set(Monitor._fields) or not all(
            isinstance(v, bool) for v in monitor.values()):
        raise ConfigError(f"monitor must map {list(Monitor._fields)} to booleans, got "
                          f"{_checks.shown(monitor)}")
    return TrainConfig(**values, monitor=Monitor(**monitor), seed=seed_from_json(data["seed"]))


def split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses and brackets.

    >>> split_top_level("momentum(eta=0.1, mu=0.9),adam,[relu,tanh]")
    ['momentum(eta=0.1, mu=0.9)', 'adam', '[relu,tanh]']
    """
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def replaced(config: TrainConfig, **settings: Any) -> TrainConfig:
    """``config`` with some settings changed, each checked; ``eta`` sets the optimizer's η.

    >>> from fnn.optimizers import learning_rate
    >>> c = make_config(epochs=3, mini_batch_size=10, cost=fnn.cross_entropy, seed=0, eta=0.5)
    >>> learning_rate(replaced(c, eta=0.1, epochs=5).optimizer)
    0.1
    """
    if "eta" in settings:
        eta = settings.pop("eta")
        settings["optimizer"] = optimizers.with_learning_rate(
            settings.get("optimizer", config.optimizer), eta)
    unknown = sorted(set(settings) - set(TrainConfig._fields))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; expected one of "
                          f"{sorted([*TrainConfig._fields, 'eta'])}")
    values = {**config._asdict(), **settings}
    return make_config(**values)

