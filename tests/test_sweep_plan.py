"""Planning sweeps: a base run, overrides of any setting as values, seeds, jobs and their ids."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.errors import ConfigError, FnnTypeError
from fnn.expand import Expansion
from fnn.optimizers import (
    GradientTransformation,
    adam,
    gradient_descent,
    learning_rate,
    momentum,
)
from fnn.schedules import halve_on_plateau
from fnn.sweep import (
    Job,
    JobSeed,
    Sweep,
    base_run,
    config_id,
    grid,
    job_id,
    jobs,
    make_sweep,
)
from fnn.training.run import RUN_SETTINGS, with_settings

from .sweep_runs import BASE, CHAPTER3, GRID


@pytest.fixture(scope="module")
def sweep():
    return make_sweep(BASE, grid=GRID, seeds=3)


def _own_optimizer():
    """Sign descent, written as a user would: it trains, but has no name to record."""
    def update(grads, state, params):
        return fnn.tree_map(lambda g: -0.1 * np.sign(g), grads), state
    return GradientTransformation(init=lambda _params: (), update=update)


# --- jobs and seeds ----------------------------------------------------------------------------


def test_jobs_are_deterministic_and_in_grid_order(sweep):
    planned = jobs(sweep)
    assert planned == jobs(make_sweep(BASE, grid=GRID, seeds=3))
    assert len(planned) == 12 and len({j.job_id for j in planned}) == 12
    assert [dict(j.overrides) for j in planned[::3]] == [
        {"eta": 0.1, "lmbda": 1.0}, {"eta": 0.1, "lmbda": 5.0},
        {"eta": 0.5, "lmbda": 1.0}, {"eta": 0.5, "lmbda": 5.0}]
    assert [j.seed for j in planned[:3]] == [JobSeed(0, 0), JobSeed(0, 1), JobSeed(0, 2)]
    assert planned[4].run == BASE._replace(
        config=BASE.config._replace(optimizer=gradient_descent(0.1), lmbda=5.0))
    assert planned[4].run == with_settings(BASE, eta=0.1, lmbda=5.0)
    assert planned[4].job_id == job_id(planned[4].run, planned[4].seed)
    assert isinstance(planned[4], Job) and isinstance(sweep, Sweep)


def test_grid_varies_the_first_name_slowest():
    assert grid(eta=[0.1, 0.5], lmbda=[1.0, 5.0]) == (
        (("eta", 0.1), ("lmbda", 1.0)), (("eta", 0.1), ("lmbda", 5.0)),
        (("eta", 0.5), ("lmbda", 1.0)), (("eta", 0.5), ("lmbda", 5.0)))
    assert grid() == ((),)
    assert make_sweep(grid=GRID).base == base_run()  # fnn train's defaults when no base


def test_more_seeds_never_change_the_earlier_jobs():
    three, five = (jobs(make_sweep(BASE, grid=GRID, seeds=n, root_seed=7)) for n in (3, 5))
    for c in range(4):
        assert five[5 * c:5 * c + 3] == three[3 * c:3 * c + 3]
    for i in range(5):  # child i is the i-th spawned child, however many are spawned
        spawned = np.random.SeedSequence(7).spawn(i + 1 + 3 * (i % 2))[i]
        assert (JobSeed(7, i).sequence().generate_state(8) == spawned.generate_state(8)).all()


def test_explicit_seeds_are_used_as_they_are():
    planned = jobs(make_sweep(BASE, seeds=[3, 7]))
    assert [j.seed for j in planned] == [JobSeed(3, None), JobSeed(7, None)]
    assert [j.seed.sequence() for j in planned] == [3, 7]  # as fnn train --seed 3


def test_an_equal_value_spelled_otherwise_is_the_same_job():
    a = make_sweep(BASE, overrides=[{"lmbda": 1, "sizes": (784, 10, 10)}], seeds=1)
    b = make_sweep(with_settings(BASE, lmbda=1.0), seeds=1)
    assert jobs(a)[0].job_id == jobs(b)[0].job_id
    c = make_sweep(BASE, overrides=[{"optimizer": momentum(eta=0.5), "eta": 0.1}], seeds=1)
    d = make_sweep(BASE, overrides=[{"optimizer": momentum(eta=0.1, mu=0.9)}], seeds=1)
    assert jobs(c)[0].job_id == jobs(d)[0].job_id  # eta sets the optimizer's own


def test_ids_name_a_run_with_and_without_its_seed(sweep):
    planned = jobs(sweep)
    same_run = planned[3:6]
    assert len({config_id(j.run) for j in same_run}) == 1
    assert len({j.job_id for j in same_run}) == 3
    assert config_id(planned[0].run) != config_id(planned[3].run)
    assert job_id(BASE, JobSeed(0, None)) != job_id(BASE, JobSeed(0, 0))
    assert job_id(base_run(), JobSeed(0, 0)) == "8f85b45fd725363f"  # the same everywhere


# --- chapter 3 in a sweep: values, not names ----------------------------------------------------


def test_a_grid_varies_the_chapter3_settings_as_values():
    values = {"optimizer": [momentum(eta=0.1, mu=0.9), adam()],
              "activation": [fnn.RELU, fnn.TANH], "dropout": [0.0, 0.5], "eta": [0.1, 0.5],
              "sizes": [(784, 10, 10)]}
    planned = jobs(make_sweep(BASE, grid=values, seeds=2))
    assert len(planned) == 2 * 2 * 2 * 2 * 2 and len({j.job_id for j in planned}) == 32
    first, last = planned[0], planned[-1]
    assert first.overrides == (("optimizer", momentum(eta=0.1, mu=0.9)),
                               ("activation", fnn.RELU), ("dropout", 0.0), ("eta", 0.1),
                               ("sizes", (784, 10, 10)))
    assert first.run.config.optimizer == momentum(eta=0.1, mu=0.9)
    assert last.run.config.optimizer == adam(eta=0.5)  # eta sets the optimizer's learning rate
    assert (last.run.config.activation, last.run.config.dropout) == (fnn.TANH, 0.5)
    for job in planned:
        o = dict(job.overrides)
        assert learning_rate(job.run.config.optimizer) == o["eta"]
        assert job.run.config.activation is o["activation"]
        assert job.run.sizes == (784, 10, 10) and job.run.config.dropout == o["dropout"]


def test_every_chapter3_setting_can_be_overridden():
    planned = jobs(make_sweep(BASE, overrides=CHAPTER3, seeds=1))
    assert len(planned) == len(CHAPTER3)
    for job, override in zip(planned, CHAPTER3):
        assert dict(job.overrides) == override
        for name, value in override.items():
            if name in ("sizes", "init", "dtype", "expansion"):
                assert getattr(job.run, name) == value
            elif name == "eta":
                assert learning_rate(job.run.config.optimizer) == value
            else:
                assert getattr(job.run.config, name) == value
    varied = {name for override in CHAPTER3 for name in override}
    assert varied >= {"optimizer", "activation", "dropout", "l1", "schedule", "early_stop",
                      "expansion", "dtype", "init", "cost", "sizes"}
    assert varied <= set(RUN_SETTINGS)


@pytest.mark.parametrize("planning", [
    lambda own: make_sweep(BASE, grid={"optimizer": [momentum(eta=0.1), own]}),
    lambda own: make_sweep(BASE, overrides=[{"optimizer": own}]),
    lambda own: make_sweep(with_settings(BASE, optimizer=own)),
], ids=["grid", "overrides", "base"])
def test_a_users_own_optimizer_is_refused_by_make_sweep(planning):
    own = _own_optimizer()
    fnn.sgd(fnn.init_params([2, 2], seed=0), (np.eye(2), np.arange(2)), epochs=1,
            mini_batch_size=2, optimizer=own, cost=fnn.cross_entropy, seed=0)  # it trains
    with pytest.raises(ConfigError, match="is not one of fnn's own .* no name to write in a file"):
        planning(own)


def test_a_users_own_activation_or_schedule_is_refused_by_make_sweep():
    mine = fnn.Activation("mine", np.tanh, lambda z: 1 - np.tanh(z) ** 2)
    with pytest.raises(ConfigError, match="activation .* is not one of fnn's own"):
        make_sweep(BASE, grid={"activation": [fnn.RELU, mine]})
    with pytest.raises(ConfigError, match="schedule .* is not one of fnn's own"):
        make_sweep(BASE, overrides=[{"schedule": lambda _epoch, _history: 1.0}])


# --- bad plans ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: base_run(eta=float("nan")), ConfigError, "eta must be a finite number > 0, got nan"),
    (lambda: base_run(seed=1), ConfigError, "unknown setting 'seed'; expected one of"),
    (lambda: make_sweep(BASE, overrides=[{"seed": 1}]), ConfigError,
     "a sweep setting must be one of"),
    (lambda: make_sweep(BASE, grid={"seed": [1]}), ConfigError,
     "a sweep setting must be one of"),
    (lambda: base_run(cost=3), FnnTypeError,
     "cost must be an fnn Cost such as fnn.cross_entropy, got 3"),
    (lambda: base_run(epochs=True), FnnTypeError, "epochs must be an int >= 0, got True"),
    (lambda: base_run(dtype="float16"), ConfigError,
     "dtype must be one of ['float64', 'float32'], got 'float16'"),
    (lambda: base_run(expansion="shifts"), ConfigError,
     "expansion must be an fnn Expansion, got 'shifts'"),
    (lambda: make_sweep(BASE, grid={"eta": []}), ConfigError, "grid eta must be a non-empty list"),
    (lambda: make_sweep(BASE, grid={"eta": "0.1"}), ConfigError,
     "grid eta must be a non-empty list"),
    (lambda: make_sweep(BASE, grid={"dropout": [0.0, 1.0]}), ConfigError,
     "dropout must be a number in [0, 1), got 1.0"),
    (lambda: make_sweep(BASE, grid={"eta": [1]}, overrides=[{}]), ConfigError, "not both"),
    (lambda: make_sweep(BASE, overrides=[{"eta": 1}, {"eta": 1.0}]), ConfigError,
     "overrides give the same run twice: (('eta', 1.0),)"),
    (lambda: make_sweep(BASE, overrides=[{"optimizer": momentum(eta=0.1)},
                                         {"optimizer": momentum(eta=0.1, mu=0.9)}]),
     ConfigError, "overrides give the same run twice"),
    (lambda: make_sweep(BASE, overrides=[]), ConfigError,
     "overrides must be a non-empty list of dicts"),
    (lambda: make_sweep(BASE, overrides=[3]), FnnTypeError,
     "overrides[0] must be a dict of settings, got 3"),
    (lambda: make_sweep(BASE, seeds=0), ConfigError, "seeds must be an int >= 1, got 0"),
    (lambda: make_sweep(BASE, seeds=[1, 1]), ConfigError, "seeds must not repeat, got [1, 1]"),
    (lambda: make_sweep(BASE, seeds=[1], root_seed=2), ConfigError,
     "root_seed is only used with a count of seeds"),
    (lambda: make_sweep(BASE, root_seed=-1), ConfigError, "root_seed must be an int >= 0, got -1"),
    (lambda: make_sweep({"eta": 1}), FnnTypeError, "base must be a Run (see base_run), got dict"),
])
def test_bad_sweeps_name_the_argument_and_value(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# --- the names of fnn 0.1 ----------------------------------------------------------------------


def test_the_old_names_warn_and_still_work():
    import fnn.sweep

    with pytest.warns(DeprecationWarning, match=r"fnn\.sweep\.expand is deprecated; use "
                                                r"fnn\.sweep\.jobs"):
        expand = fnn.sweep.expand
    with pytest.warns(DeprecationWarning, match=r"seed_sequence is deprecated; use "
                                                r"JobSeed\.sequence\(\)"):
        seed_sequence = fnn.sweep.seed_sequence
    with pytest.warns(DeprecationWarning, match=r"sweep_config is deprecated; use "
                                                r"fnn\.sweep\.base_run"):
        sweep_config = fnn.sweep.sweep_config
    assert expand(make_sweep(BASE, grid=GRID, seeds=3)) == jobs(make_sweep(BASE, grid=GRID,
                                                                           seeds=3))
    assert (seed_sequence(JobSeed(7, 2)).generate_state(4)
            == JobSeed(7, 2).sequence().generate_state(4)).all()
    assert seed_sequence(JobSeed(3, None)) == 3
    assert sweep_config(sizes=[784, 10, 10], epochs=2) == BASE
    assert sweep_config(sizes=[784, 10, 10], epochs=2, activation="relu",
                        optimizer={"name": "momentum", "eta": 0.1, "mu": 0.9},
                        expansion={"shifts": True, "rotations": 0, "max_degrees": 10.0},
                        schedule="halve:2") == with_settings(
        BASE, activation=fnn.RELU, optimizer=momentum(eta=0.1, mu=0.9),
        expansion=Expansion(shifts=True), schedule=halve_on_plateau(patience=2))
    with pytest.raises(AttributeError, match="module 'fnn.sweep' has no attribute 'nothing'"):
        _ = fnn.sweep.nothing


@pytest.mark.parametrize(("settings", "error", "message"), [
    (dict(eta=float("nan")), ConfigError, "eta must be a finite number > 0, got nan"),
    (dict(seed=1), ConfigError, "unknown setting 'seed'; expected one of"),
    (dict(cost="hinge"), ConfigError,
     "unknown cost 'hinge'; expected one of ['cross_entropy', 'log_likelihood', 'quadratic']"),
    (dict(epochs=True), FnnTypeError, "epochs must be an int >= 0, got True"),
])
def test_the_old_sweep_config_still_checks_every_setting(settings, error, message):
    import fnn.sweep

    with pytest.warns(DeprecationWarning, match="sweep_config is deprecated"):
        sweep_config = fnn.sweep.sweep_config
    with pytest.raises(error) as info:
        sweep_config(**settings)
    assert message in str(info.value)
