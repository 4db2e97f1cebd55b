"""A Run: the net, how it starts, the data's expansion and the config; its settings table."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fnn
from fnn.data import Labelled
from fnn.errors import ConfigError
from fnn.expand import Expansion
from fnn.optimizers import adam, learning_rate
from fnn.params import tree_equal
from fnn.training.config import SETTINGS, make_config
from fnn.training.run import RUN_SETTINGS, Run, run_from_json, run_to_json, start, with_settings

CONFIG = make_config(epochs=2, mini_batch_size=5, eta=0.5, lmbda=1.0, cost=fnn.cross_entropy,
                     seed=4)
RUN = Run((4, 3, 2), CONFIG)


def test_run_settings_are_the_configs_plus_the_nets_own():
    assert set(RUN_SETTINGS) == {*SETTINGS, "sizes", "init", "dtype", "expansion", "eta"}


def test_a_run_round_trips_through_json_with_or_without_its_seed():
    run = with_settings(RUN, init=fnn.he_init, dtype="float32",
                        expansion=Expansion(shifts=True), activation=fnn.RELU)
    data = run_to_json(run)
    assert json.loads(json.dumps(data)) == data and data["init"] == "he"
    assert run_from_json(data) == run
    unseeded = run_to_json(run, seed=False)
    assert "seed" not in unseeded and run_from_json(unseeded, seed=4) == run
    with pytest.raises(ConfigError, match="already has a seed"):
        run_from_json(data, seed=1)
    with pytest.raises(ConfigError, match="a run needs the keys"):
        run_from_json({"sizes": [4, 2]})


def test_with_settings_changes_each_part_and_checks_it():
    changed = with_settings(RUN, sizes=(4, 8, 2), eta=0.1, optimizer=adam(eta=0.01))
    assert changed.sizes == (4, 8, 2) and learning_rate(changed.config.optimizer) == 0.1
    assert with_settings(RUN, dtype="float32").dtype == "float32"
    for changes, message in [({"dtype": "float16"}, "dtype must be one of"),
                             ({"sizes": (4,)}, "sizes needs an input and an output layer"),
                             ({"init": "he"}, "init must be an fnn Initializer"),
                             ({"colour": 3}, "unknown setting 'colour'")]:
        with pytest.raises((ConfigError, TypeError)) as caught:
            with_settings(RUN, **changes)
        assert message in str(caught.value)


def test_start_draws_the_params_and_expands_the_data_from_the_seed():
    x = np.random.default_rng(0).random((3, 784))
    run = Run((784, 5, 10), CONFIG, dtype="float32", expansion=Expansion(shifts=True))
    params, data = start(run, Labelled(x, np.array([1, 2, 3])))
    assert tree_equal(params, fnn.init_params((784, 5, 10), seed=4, dtype=np.float32))
    assert data.x.shape == (15, 784) and data.x.dtype == np.float32
