"""Names of fnn's own values, in one place: the edges (files, the command line) use them.

Inside fnn and in user code, activations, costs, initializers, optimizers and schedules are
values. Files and command lines need names, and this module is the one that turns a name
into a value and a value back into its name:

>>> spec = optimizer_spec(chain(clip_by_global_norm(1.0), momentum(eta=0.1, mu=0.9)))
>>> spec
{'name': 'chain', 'links': [{'name': 'clip_by_global_norm', 'max_norm': 1.0}, {'name': 'momentum', 'eta': 0.1, 'mu': 0.9}]}
>>> optimizer(spec) == chain(clip_by_global_norm(1.0), momentum(eta=0.1, mu=0.9))
True
>>> optimizer("momentum(eta=0.1, mu=0.9)") == momentum(eta=0.1, mu=0.9)
True

A spec is JSON data: ``{"name": ..., setting: value, ...}``; its text form, for command lines,
is ``name`` or ``name(setting=value, ...)``. A value a user wrote has no name: asking for one
raises ``ConfigError`` saying so (it still trains; it just cannot be written into a file).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

from fnn import augment
from fnn._bound import Bound
from fnn._checks import shown
from fnn.activations import BUILT_IN as _ACTIVATIONS
from fnn.costs import BUILT_IN as _COSTS
from fnn.costs import cross_entropy, log_likelihood, quadratic
from fnn.errors import ConfigError
from fnn.optimizers import (
    GradientTransformation,
    adam,
    add_decayed_weights,
    add_l1,
    chain,
    clip_by_global_norm,
    gradient_descent,
    momentum,
    nesterov,
    scale,
    scale_by_schedule,
)
from fnn.params import default_init, he_init, large_init
from fnn.schedules import constant, cosine_decay, halve_on_plateau, step_decay

__all__ = [
    "ACTIVATIONS",
    "AUGMENTATIONS",
    "COSTS",
    "EPOCH_SCHEDULES",
    "INITIALIZERS",
    "NETWORK2_COSTS",
    "OPTIMIZERS",
    "STEP_SCHEDULES",
    "Names",
    "Spec",
    "activation",
    "activation_name",
    "augmentation",
    "augmentation_spec",
    "cost",
    "cost_name",
    "initializer",
    "initializer_name",
    "optimizer",
    "optimizer_spec",
    "parse_spec",
    "schedule",
    "schedule_spec",
    "spec_text",
]

Spec = dict[str, Any]
"""A value as data: ``{"name": ..., "settings": {...}}``, as files and the command line write it."""

T = TypeVar("T")


class Names(Mapping[str, T]):
    """fnn's own values of one kind by name, and the two lookups: ``value(name)`` (ConfigError
    listing the names for an unknown one) and ``name(value)`` (ConfigError for a value that is
    not one of fnn's own, which has no name to write)."""

    def __init__(self, kind: str, values: Mapping[str, T]) -> None:
        self.kind, self._values = kind, dict(values)

    def __getitem__(self, name: str) -> T:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def value(self, name: Any) -> T:
        """The value called ``name``."""
        if not isinstance(name, str) or name not in self._values:
            raise ConfigError(f"unknown {self.kind} {shown(name)}; expected one of {sorted(self)}")
        return self._values[name]

    def name(self, value: Any) -> str:
        """The name of ``value``."""
        for name, known in self._values.items():
            if known == value:
                return name
        raise ConfigError(f"{self.kind} {shown(value)} is not one of fnn's own ({sorted(self)}), "
                          "so it has no name to write in a file")


ACTIVATIONS = Names("activation", {a.name: a for a in _ACTIVATIONS})
"""fnn's activations by name: ``relu``, ``sigmoid``, ``tanh``."""
COSTS = Names("cost", {c.name: c for c in _COSTS})
"""fnn's costs by name: ``cross_entropy``, ``log_likelihood``, ``quadratic``."""
INITIALIZERS = Names("initializer", {i.name: i for i in (default_init, large_init, he_init)})
"""fnn's initializers by name: ``default``, ``he``, ``large``."""
NETWORK2_COSTS = Names("network2 cost", {"CrossEntropyCost": cross_entropy,
                                          "QuadraticCost": quadratic,
                                          "LogLikelihoodCost": log_likelihood})
"""The class names network2's model files store, and fnn's costs they mean."""

activation = ACTIVATIONS.value
"""The activation called ``name``.

>>> activation("swish")
Traceback (most recent call last):
...
fnn.errors.ConfigError: unknown activation 'swish'; expected one of ['relu', 'sigmoid', 'tanh']
"""
activation_name = ACTIVATIONS.name
"""The name of one of fnn's activations (ConfigError for any other)."""
cost = COSTS.value
"""The cost called ``name``."""
cost_name = COSTS.name
"""The name of one of fnn's costs (ConfigError for any other)."""
initializer = INITIALIZERS.value
"""The initializer called ``name``."""
initializer_name = INITIALIZERS.name
"""The name of one of fnn's initializers (ConfigError for any other)."""


# --------------------------------------------------------------------------- built values


class _Family(NamedTuple):
    """A kind of built value: its factories by name, and which settings hold nested values."""

    kind: str
    factories: Names[Callable[..., Any]]
    nested: Mapping[tuple[str, str], str]  # (factory, setting) -> the family of its value


OPTIMIZERS: Names[Callable[..., Any]] = Names("optimizer", {
    "gradient_descent": gradient_descent, "momentum": momentum, "nesterov": nesterov,
    "adam": adam, "chain": chain, "scale": scale, "scale_by_schedule": scale_by_schedule,
    "clip_by_global_norm": clip_by_global_norm, "add_decayed_weights": add_decayed_weights,
    "add_l1": add_l1})
"""Optimizers and gradient transformations: their factories by name."""

EPOCH_SCHEDULES: Names[Callable[..., Any]] = Names("schedule", {
    "constant": constant, "halve_on_plateau": halve_on_plateau, "step_decay": step_decay})
"""Epoch schedules: their factories by name."""

STEP_SCHEDULES: Names[Callable[..., Any]] = Names("step schedule",
                                                  {"cosine_decay": cosine_decay})
"""Step schedules (for ``scale_by_schedule``): their factories by name."""

AUGMENTATIONS: Names[Callable[..., Any]] = Names("augmentation", {
    "elastic": augment.elastic, "affine": augment.affine, "shift": augment.shift,
    "compose": augment.compose})
"""Augmentations (``fnn.augment``): their factories by name."""

_FAMILIES = {
    "optimizer": _Family("optimizer", OPTIMIZERS, {("chain", "links"): "optimizer",
                                                   ("scale_by_schedule", "schedule"):
                                                   "step_schedule"}),
    "schedule": _Family("schedule", EPOCH_SCHEDULES, {}),
    "step_schedule": _Family("step schedule", STEP_SCHEDULES, {}),
    "augmentation": _Family("augmentation", AUGMENTATIONS,
                            {("compose", "links"): "augmentation"}),
}
_POSITIONAL = {("optimizer", "chain"): "links",  # chain(*links)
               ("augmentation", "compose"): "links"}  # compose(*links)


def _settings_of(value: Any) -> tuple[tuple[str, Any], ...] | None:
    bound = value.update if isinstance(value, GradientTransformation) else value
    return bound.settings if isinstance(bound, Bound) else None


def _describe(family: str, value: Any) -> Spec:
    fam = _FAMILIES[family]
    settings = _settings_of(value)
    if settings is not None:
        for name in fam.factories:
            if _build(family, name, dict(settings)) == value:
                spec: Spec = {"name": name}
                for key, setting in settings:
                    inner = fam.nested.get((name, key))
                    spec[key] = (setting if inner is None else
                                 [_describe(inner, v) for v in setting] if key == "links"
                                 else _describe(inner, setting))
                return spec
    raise ConfigError(f"{fam.kind} {shown(value)} is not one of fnn's own "
                      f"({sorted(fam.factories)}), so it has no name to write in a file")


def _build(family: str, name: str, settings: dict[str, Any]) -> Any:
    """``factory(**settings)``, or None when the factory takes other settings."""
    factory = _FAMILIES[family].factories[name]
    positional = _POSITIONAL.get((family, name))
    args = tuple(settings.pop(positional, ())) if positional is not None else ()
    try:
        inspect.signature(factory).bind(*args, **settings)
    except TypeError:
        return None
    return factory(*args, **settings)


def _settings_problem(family: str, name: str, settings: dict[str, Any]) -> str:
    """What is wrong with ``settings`` for the factory: missing or unknown ones."""
    parameters = inspect.signature(_FAMILIES[family].factories[name]).parameters
    positional = _POSITIONAL.get((family, name))
    unknown = sorted(set(settings) - set(parameters) - {positional})
    if unknown:
        return f"does not take {unknown}; it takes {sorted(parameters)}"
    missing = [p for p, v in parameters.items() if v.default is inspect.Parameter.empty
               and v.kind is not inspect.Parameter.VAR_POSITIONAL and p not in settings]
    return f"needs {missing}, e.g. {name}({', '.join(f'{m}=...' for m in missing)})"


def _from_spec(family: str, spec: Any, where: str) -> Any:
    fam = _FAMILIES[family]
    if isinstance(spec, str):
        spec = parse_spec(spec)
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"{where}: expected the spec of the {fam.kind}, {{\"name\": ..., "
                          f"...}} or its text, got {shown(spec)}")
    fam.factories.value(spec["name"])  # a ConfigError naming the known ones
    name = spec["name"]
    settings = {k: v for k, v in spec.items() if k != "name"}
    for key, value in settings.items():
        inner = fam.nested.get((name, key))
        if inner is not None and key == "links":
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}.{key}: expected a list of specs, got {shown(value)}")
            settings[key] = [_from_spec(inner, v, f"{where}.{key}[{i}]")
                             for i, v in enumerate(value)]
        elif inner is not None:
            settings[key] = _from_spec(inner, value, f"{where}.{key}")
    built = _build(family, name, dict(settings))
    if built is None:
        raise ConfigError(f"{where}: {fam.kind} {name!r} "
                          f"{_settings_problem(family, name, settings)}")
    return built


def optimizer(spec: str | Spec) -> GradientTransformation:
    """The optimizer (or gradient transformation) a spec or its text describes.

    >>> optimizer({"name": "adam", "eta": 0.01}) == adam(eta=0.01)
    True
    >>> optimizer("rmsprop")
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: unknown optimizer 'rmsprop'; expected one of ['adam', 'add_decayed_weights', 'add_l1', 'chain', 'clip_by_global_norm', 'gradient_descent', 'momentum', 'nesterov', 'scale', 'scale_by_schedule']
    """
    built: GradientTransformation = _from_spec("optimizer", spec, "optimizer")
    return built


def optimizer_spec(value: GradientTransformation) -> Spec:
    """The spec of one of fnn's optimizers or a chain of them (ConfigError for a user's own)."""
    return _describe("optimizer", value)


def schedule(spec: str | Spec) -> Any:
    """The epoch schedule a spec or its text describes (``halve:N`` is ``halve_on_plateau``).

    >>> schedule("halve:3") == halve_on_plateau(patience=3)
    True
    """
    if isinstance(spec, str) and re.fullmatch(r"halve:\d+", spec):
        spec = {"name": "halve_on_plateau", "patience": int(spec.partition(":")[2])}
    return _from_spec("schedule", spec, "schedule")


def schedule_spec(value: Any) -> Spec:
    """The spec of one of fnn's epoch schedules (ConfigError for a user's own)."""
    return _describe("schedule", value)


def augmentation(spec: str | Spec) -> Any:
    """The augmentation a spec or its text describes; ``compose``'s links nest like ``chain``'s.

    >>> augmentation("compose(shift, elastic(alpha=34, sigma=4))") == augment.compose(
    ...     augment.shift(), augment.elastic(alpha=34.0, sigma=4.0))
    True
    """
    return _from_spec("augmentation", spec, "augmentation")


def augmentation_spec(value: Any) -> Spec:
    """The spec of one of fnn's augmentations or a composition of them (ConfigError for a
    user's own).

    >>> spec_text(augmentation_spec(augment.affine(degrees=15.0)))
    'affine(degrees=15.0, scale=0.1, shear=10.0, shift=1.0, side=28)'
    """
    return _describe("augmentation", value)


# --------------------------------------------------------------------------- text forms

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)"
                    r"(?:[eE][-+]?\d+)?)|(?P<punct>[()=,\[\]]))")


def parse_spec(text: str) -> Spec:
    """The spec written as ``name`` or ``name(setting=value, ...)``; positional values are a
    chain's links. Values are numbers, ``true``/``false``, lists ``[...]`` or nested specs.

    >>> parse_spec("chain(clip_by_global_norm(max_norm=1), momentum(eta=0.1, mu=0.9))")
    {'name': 'chain', 'links': [{'name': 'clip_by_global_norm', 'max_norm': 1}, {'name': 'momentum', 'eta': 0.1, 'mu': 0.9}]}
    >>> parse_spec("momentum(eta=)")
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: cannot read 'momentum(eta=)' at character 13: expected a value
    """
    if not isinstance(text, str):
        raise ConfigError(f"a spec's text must be a string, got {shown(text)}")
    tokens = _tokens(text)
    if not tokens or not (tokens[0][0][0].isalpha() or tokens[0][0][0] == "_"):
        raise ConfigError(f"cannot read {shown(text)}: expected name or name(...)")
    spec, end = _spec(tokens, 0, text)
    if end != len(tokens):
        raise ConfigError(f"cannot read {shown(text)} at character {tokens[end][1]}: "
                          f"unexpected {tokens[end][0]!r}")
    return spec


def _tokens(text: str) -> list[tuple[str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ConfigError(f"cannot read {shown(text)} at character {pos}: unexpected "
                              f"{text[pos]!r}")
        tokens.append((match.group().strip(), match.start(match.lastgroup or 0)))
        pos = match.end()
    return tokens


def _value(tokens: list[tuple[str, int]], i: int, text: str) -> tuple[Any, int]:
    if i >= len(tokens):
        raise ConfigError(f"cannot read {shown(text)} at character {len(text)}: expected a value")
    token = tokens[i][0]
    if token == "[":
        items: list[Any] = []
        i += 1
        while i < len(tokens) and tokens[i][0] != "]":
            item, i = _value(tokens, i, text)
            items.append(item)
            i = _separator(tokens, i, "]", text)
        return items, _expect(tokens, i, "]", text)
    if token in ("true", "false"):
        return token == "true", i + 1
    if token[0].isalpha() or token[0] == "_":
        return _spec(tokens, i, text)
    if token in "()=,]":
        raise ConfigError(f"cannot read {shown(text)} at character {tokens[i][1]}: "
                          "expected a value")
    number = float(token) if any(c in token for c in ".eE") else int(token)
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(f"cannot read {shown(text)}: {token} is not finite")
    return number, i + 1


def _spec(tokens: list[tuple[str, int]], i: int, text: str) -> tuple[Spec, int]:
    spec: Spec = {"name": tokens[i][0]}
    i += 1
    if i >= len(tokens) or tokens[i][0] != "(":
        return spec, i
    i += 1
    links: list[Any] = []
    while i < len(tokens) and tokens[i][0] != ")":
        if i + 1 < len(tokens) and tokens[i + 1][0] == "=":
            key = tokens[i][0]
            spec[key], i = _value(tokens, i + 2, text)
        else:
            link, i = _value(tokens, i, text)
            links.append(link)
        i = _separator(tokens, i, ")", text)
    if links:
        spec["links"] = links
    return spec, _expect(tokens, i, ")", text)


def _separator(tokens: list[tuple[str, int]], i: int, closing: str, text: str) -> int:
    """Past the comma after an item; at the closing token; else an error."""
    if i < len(tokens) and tokens[i][0] == ",":
        return i + 1
    if i < len(tokens) and tokens[i][0] == closing:
        return i
    at = tokens[i][1] if i < len(tokens) else len(text)
    raise ConfigError(f"cannot read {shown(text)} at character {at}: expected ',' or "
                      f"{closing!r}")


def _expect(tokens: list[tuple[str, int]], i: int, token: str, text: str) -> int:
    if i >= len(tokens) or tokens[i][0] != token:
        at = tokens[i][1] if i < len(tokens) else len(text)
        raise ConfigError(f"cannot read {shown(text)} at character {at}: expected {token!r}")
    return i + 1


def spec_text(spec: Spec) -> str:
    """The text form of a spec (what ``parse_spec`` reads back).

    >>> spec_text({"name": "chain", "links": [{"name": "scale", "factor": 0.5},
    ...                                       {"name": "gradient_descent", "eta": 0.1}]})
    'chain(scale(factor=0.5), gradient_descent(eta=0.1))'
    """
    def show(value: Any) -> str:
        if isinstance(value, dict):
            return spec_text(value)
        if isinstance(value, list):
            return "[" + ", ".join(map(show, value)) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value)

    parts = [show(link) for link in spec.get("links", [])]
    parts += [f"{k}={show(v)}" for k, v in spec.items() if k not in ("name", "links")]
    return str(spec["name"]) + (f"({', '.join(parts)})" if parts else "")
