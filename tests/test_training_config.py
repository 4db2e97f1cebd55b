"""The one config: make_config checks once; JSON and command-line forms come from SETTINGS."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fnn
from fnn.errors import ConfigError, FnnTypeError
from fnn.history import Monitor
from fnn.optimizers import (
    GradientTransformation,
    chain,
    clip_by_global_norm,
    learning_rate,
    momentum,
)
from fnn.schedules import constant, halve_on_plateau
from fnn.training.config import (
    SETTINGS,
    TrainConfig,
    config_from_json,
    config_to_json,
    make_config,
    replaced,
    seed_from_json,
    seed_to_json,
    split_top_level,
)

BASE = dict(epochs=3, mini_batch_size=10, cost=fnn.cross_entropy, seed=0)


def test_the_eta_shorthand_builds_the_default_optimizer():
    config = make_config(eta=0.5, lmbda=5.0, **BASE)
    assert config.optimizer == fnn.optimizers.gradient_descent(0.5)
    assert config.schedule == constant() and config.monitor == Monitor()
    assert config == make_config(optimizer=fnn.optimizers.gradient_descent(0.5), lmbda=5.0,
                                 **BASE)


def test_every_value_setting_round_trips_through_json():
    config = make_config(optimizer=chain(clip_by_global_norm(1.0), momentum(eta=0.1, mu=0.5)),
                         lmbda=5.0, l1=0.5, activation=(fnn.RELU, fnn.TANH), dropout=0.25,
                         schedule=halve_on_plateau(patience=3), early_stop=4,
                         monitor=Monitor(evaluation_accuracy=True), epochs=7,
                         mini_batch_size=20, cost=fnn.log_likelihood,
                         seed=np.random.SeedSequence(3, spawn_key=(2,)))
    data = config_to_json(config)
    assert json.loads(json.dumps(data)) == data  # plain JSON data
    back = config_from_json(data)
    assert back._replace(seed=0) == config._replace(seed=0)
    assert back.seed.entropy == 3 and back.seed.spawn_key == (2,)
    assert set(data) == {*SETTINGS, "monitor", "seed"} == set(TrainConfig._fields)


def test_a_users_own_value_trains_but_cannot_be_written():
    user = GradientTransformation(lambda p: (), lambda g, s, p: (g, s))
    config = make_config(optimizer=user, **BASE)
    with pytest.raises(ConfigError, match="no name to write"):
        config_to_json(config)


@pytest.mark.parametrize(("data", "message"), [
    ({}, "a training config needs the keys"),
    ("config", "a training config needs the keys"),
])
def test_bad_config_json_names_what_is_wrong(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_json(data)


def test_bad_values_inside_config_json_name_the_setting():
    data = config_to_json(make_config(eta=0.5, **BASE))
    for key, value, message in [("epochs", -1, "epochs must be an int >= 0"),
                                ("dropout", 1.0, "dropout must be a number in [0, 1)"),
                                ("optimizer", {"name": "rmsprop"}, "unknown optimizer 'rmsprop'"),
                                ("cost", "hinge", "unknown cost 'hinge'"),
                                ("monitor", {"training_cost": 1}, "monitor must map"),
                                ("seed", -1, "seed must be an int >= 0"),
                                ("lmbda", float("nan"), "lmbda must be a number, got NaN")]:
        with pytest.raises((ConfigError, FnnTypeError)) as caught:
            config_from_json({**data, key: value})
        assert message in str(caught.value)


@pytest.mark.parametrize(("name", "text", "value"), [
    ("epochs", "5", 5), ("mini_batch_size", "10", 10), ("lmbda", "0.5", 0.5),
    ("dropout", "0.5", 0.5), ("early_stop", "none", None), ("early_stop", "3", 3),
    ("cost", "quadratic", fnn.quadratic), ("activation", "relu", fnn.RELU),
    ("activation", "relu,tanh", (fnn.RELU, fnn.TANH)),
    ("optimizer", "momentum(eta=0.1, mu=0.5)", momentum(eta=0.1, mu=0.5)),
    ("schedule", "halve:4", halve_on_plateau(patience=4)),
])
def test_each_setting_reads_its_command_line_text(name, text, value):
    assert SETTINGS[name].from_text(text) == value


@pytest.mark.parametrize(("name", "text", "message"), [
    ("epochs", "x", "must be an integer, got 'x'"), ("epochs", "-1", "must be an int >= 0, got -1"),
    ("lmbda", "-1", "must be a finite number >= 0, got -1.0"),
    ("dropout", "1", "must be a number in [0, 1), got 1.0"),
    ("activation", "relu,swish", "unknown activation 'swish'"),
])
def test_bad_command_line_text_is_refused(name, text, message):
    with pytest.raises(ConfigError) as caught:
        SETTINGS[name].from_text(text)
    assert message in str(caught.value)


def test_replaced_checks_each_change_and_eta_sets_the_optimizers():
    config = make_config(optimizer=momentum(eta=0.1, mu=0.5), **BASE)
    changed = replaced(config, eta=0.01, dropout=0.5)
    assert learning_rate(changed.optimizer) == 0.01 and changed.dropout == 0.5
    assert changed.optimizer.update.setting("mu") == 0.5
    with pytest.raises(ConfigError, match="dropout must be a number in"):
        replaced(config, dropout=2.0)
    with pytest.raises(ConfigError, match="unknown setting 'speed'"):
        replaced(config, speed=3)


def test_seeds_and_top_level_splitting():
    assert seed_from_json(seed_to_json(7)) == 7
    ss = seed_from_json(seed_to_json(np.random.SeedSequence(5, spawn_key=(1, 2))))
    assert ss.entropy == 5 and ss.spawn_key == (1, 2)
    with pytest.raises(ConfigError, match="seed must be an int >= 0"):
        seed_from_json({"entropy": -1, "spawn_key": []})
    assert split_top_level("a(b, c), [d, e], f") == ["a(b, c)", "[d, e]", "f"]
