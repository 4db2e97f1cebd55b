"""Every bad argument of item 8 raises before any work, naming argument, constraint and value."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
import fnn.training.engines
from fnn.costs import cross_entropy
from fnn.errors import ConfigError, DataError, FnnError, FnnTypeError
from fnn.optimizers import GradientTransformation, adam, momentum
from fnn.params import init_params
from fnn.training import sgd

from .conftest import separable

DATA = separable(20, seed=0)
LABELS = DATA.y.argmax(1)
GOOD = dict(epochs=1, mini_batch_size=4, eta=0.5, lmbda=1.0, cost=cross_entropy, seed=0)
USER_OPTIMIZER = GradientTransformation(lambda p: (), lambda g, s, p: (g, s))


def _with(**changes):
    return {**GOOD, **changes}


def _nan_x():
    x = DATA.x.copy()
    x[3, 1] = np.nan
    return x


def _inf_x():
    x = DATA.x.copy()
    x[0, 0] = -np.inf
    return x


def _bad_one_hot():
    y = DATA.y.copy()
    y[5] = [1.0, 1.0]
    return y


SGD_CASES = [
    # (id, kwargs, training data, evaluation data, error type, message fragment)
    ("batch 0", _with(mini_batch_size=0), None, None, ConfigError, "mini_batch_size must be an int >= 1, got 0"),
    ("batch -1", _with(mini_batch_size=-1), None, None, ConfigError, "mini_batch_size must be an int >= 1, got -1"),
    ("batch 1.5", _with(mini_batch_size=1.5), None, None, FnnTypeError, "mini_batch_size must be an int >= 1, got 1.5"),
    ("batch True", _with(mini_batch_size=True), None, None, FnnTypeError, "mini_batch_size must be an int >= 1, got True"),
    ("batch n+1", _with(mini_batch_size=21), None, None, ConfigError, "mini_batch_size must be <= the 20 training examples, got 21"),
    ("eta 0", _with(eta=0), None, None, ConfigError, "eta must be a finite number > 0, got 0"),
    ("eta -0.1", _with(eta=-0.1), None, None, ConfigError, "eta must be a finite number > 0, got -0.1"),
    ("eta nan", _with(eta=float("nan")), None, None, ConfigError, "eta must be a finite number > 0, got nan"),
    ("eta inf", _with(eta=float("inf")), None, None, ConfigError, "eta must be a finite number > 0, got inf"),
    ("eta str", _with(eta="0.5"), None, None, FnnTypeError, "eta must be a finite number > 0, got '0.5'"),
    ("lmbda -1", _with(lmbda=-1.0), None, None, ConfigError, "lmbda must be a finite number >= 0, got -1.0"),
    ("lmbda nan", _with(lmbda=float("nan")), None, None, ConfigError, "lmbda must be a finite number >= 0, got nan"),
    ("lmbda inf", _with(lmbda=float("inf")), None, None, ConfigError, "lmbda must be a finite number >= 0, got inf"),
    ("epochs -1", _with(epochs=-1), None, None, ConfigError, "epochs must be an int >= 0, got -1"),
    ("epochs 2.5", _with(epochs=2.5), None, None, FnnTypeError, "epochs must be an int >= 0, got 2.5"),
    ("epochs True", _with(epochs=True), None, None, FnnTypeError, "epochs must be an int >= 0, got True"),
    ("seed -1", _with(seed=-1), None, None, ConfigError, "seed must be an int >= 0 or a numpy SeedSequence, got -1"),
    ("seed True", _with(seed=True), None, None, FnnTypeError, "seed must be an int >= 0 or a numpy SeedSequence, got True"),
    ("seed 1.0", _with(seed=1.0), None, None, FnnTypeError, "seed must be an int >= 0 or a numpy SeedSequence, got 1.0"),
    ("cost object", _with(cost=len), None, None, FnnTypeError, "cost must be an fnn Cost such as fnn.cross_entropy, got <built-in function len>"),
    ("no eta, no optimizer", {k: v for k, v in GOOD.items() if k != "eta"}, None, None, ConfigError, "give eta (the learning rate of network2's update) or an optimizer"),
    ("eta and optimizer", _with(optimizer=adam()), None, None, ConfigError, "eta is the shorthand for optimizer=gradient_descent(eta); give eta or an optimizer"),
    ("optimizer kind", _with(eta=None, optimizer=len), None, None, FnnTypeError, "optimizer must be a GradientTransformation such as fnn.optimizers.momentum(eta=0.1), got <built-in function len>"),
    ("settings alone", _with(optimizer_settings={"mu": 0.5}), None, None, ConfigError, "optimizer_settings only go with an optimizer name"),
    ("activation kind", _with(activation=[len]), None, None, FnnTypeError, "activation must be an fnn Activation such as fnn.RELU"),
    ("activation count", _with(activation=(fnn.RELU, fnn.TANH)), None, None, ConfigError, "activation needs one entry per hidden layer (1), got ['relu', 'tanh']"),
    ("dropout 1", _with(dropout=1.0), None, None, ConfigError, "dropout must be a number in [0, 1), got 1.0"),
    ("l1 -1", _with(l1=-1), None, None, ConfigError, "l1 must be a finite number >= 0, got -1"),
    ("early stop 0", _with(early_stop=0), None, None, ConfigError, "early_stop must be an int >= 1, got 0"),
    ("schedule kind", _with(schedule=3), None, None, FnnTypeError, "schedule must be a function of (epoch, history)"),
    ("schedule, user optimizer", _with(eta=None, optimizer=USER_OPTIMIZER, schedule=fnn.schedules.halve_on_plateau(patience=2)), None, None, ConfigError, "has no learning rate eta fnn can scale"),
    ("x NaN", GOOD, (_nan_x(), DATA.y), None, DataError, "training_data x contains NaN or inf"),
    ("x inf", GOOD, (_inf_x(), DATA.y), None, DataError, "training_data x contains NaN or inf"),
    ("x width", GOOD, (np.ones((20, 3)), DATA.y), None, DataError, "training_data x must have 2 columns (the input layer), got shape (20, 3)"),
    ("x 1-D", GOOD, (np.ones(20), LABELS), None, DataError, "training_data x must be 2-D (examples as rows), got shape (20,)"),
    ("x 0 rows", GOOD, (np.ones((0, 2)), LABELS[:0]), None, DataError, "training_data has 0 rows"),
    ("x/y length", GOOD, (DATA.x, DATA.y[:19]), None, DataError, "training_data has 20 rows of x but 19 rows of y"),
    ("x/labels length", GOOD, (DATA.x, LABELS[:5]), None, DataError, "training_data has 20 rows of x but 5 labels"),
    ("one-hot sum", GOOD, (DATA.x, _bad_one_hot()), None, DataError, "one-hot rows must be 0/1 summing to 1, row 5 is [1.0, 1.0]"),
    ("label range", GOOD, (DATA.x, LABELS + 1), None, DataError, "training_data labels must be in 0..1, got 2"),
    ("data not a pair", GOOD, DATA.x, None, FnnTypeError, "training_data must be a pair (x, y) of arrays"),
    ("eval labels", _with(monitor_evaluation_accuracy=True), None, (DATA.x, LABELS * 3), DataError, "evaluation_data labels must be in 0..1, got 3 at row"),
    ("eval NaN", _with(monitor_evaluation_accuracy=True), None, (_nan_x(), LABELS), DataError, "evaluation_data x contains NaN or inf"),
    ("eval missing", _with(monitor_evaluation_cost=True), None, None, ConfigError, "needs evaluation_data, got None"),
    ("monitor flag", _with(monitor_training_cost="yes"), None, None, FnnTypeError, "monitor_training_cost must be a bool, got 'yes'"),
    ("params kind", None, None, None, FnnTypeError, "params must be a (weights, biases) pair of sequences of numpy arrays, got a list of 0"),
]


@pytest.mark.parametrize(("kwargs", "data", "evaluation", "error", "message"),
                         [c[1:] for c in SGD_CASES], ids=[c[0] for c in SGD_CASES])
def test_bad_training_calls_raise_before_any_step(monkeypatch, kwargs, data, evaluation, error,
                                                  message):
    def no_epoch(*args, **kw):  # a validation error must come before the first epoch
        raise AssertionError("a training epoch ran")
    engine = fnn.training.engines.Engine("none", "none", lambda *args: True, no_epoch, no_epoch)
    monkeypatch.setattr(fnn.training.engines, "ENGINES", (engine,))
    params = [] if kwargs is None else init_params([2, 3, 2], seed=0)
    data = (DATA.x, DATA.y) if data is None else data
    with pytest.raises(error) as info:
        sgd(params, data, evaluation_data=evaluation, **(kwargs or GOOD))
    assert message in str(info.value)
    assert isinstance(info.value, FnnError)


SIZES_CASES = [
    ([784], ConfigError, "sizes needs an input and an output layer, got [784]"),
    ([], ConfigError, "sizes needs an input and an output layer, got []"),
    ([784, 0, 10], ConfigError, "sizes[1] must be an int >= 1, got 0 in [784, 0, 10]"),
    ([784, 30.5, 10], FnnTypeError, "sizes[1] must be an int >= 1, got 30.5 in [784, 30.5, 10]"),
    ([784, True, 10], FnnTypeError, "sizes[1] must be an int >= 1, got True"),
    ("784,30,10", FnnTypeError, "sizes must be a sequence of ints such as [784, 30, 10], got '784,30,10'"),
]


@pytest.mark.parametrize(("sizes", "error", "message"), SIZES_CASES,
                         ids=[repr(c[0]) for c in SIZES_CASES])
def test_bad_sizes(sizes, error, message):
    with pytest.raises(error) as info:
        init_params(sizes, seed=0)
    assert message in str(info.value)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(seed=-3), ConfigError, "seed must be an int >= 0 or a numpy SeedSequence, got -3"),
    (dict(seed=False), FnnTypeError, "seed must be an int >= 0 or a numpy SeedSequence, got False"),
    (dict(seed=0, init="xavier"), FnnTypeError, "init must be an fnn Initializer such as fnn.he_init, got 'xavier'"),
    (dict(seed=0, dtype=np.float16), ConfigError, "dtype must be float32 or float64"),
    (dict(seed=0, dtype="banana"), FnnTypeError, "dtype must be float32 or float64, got 'banana'"),
])
def test_bad_init_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        init_params([3, 2], **kwargs)
    assert message in str(info.value)


def test_errors_are_also_the_builtins_users_expect():
    assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(FnnTypeError, TypeError)


def test_inconsistent_or_non_finite_params_are_refused():
    good = init_params([2, 3, 2], seed=0)
    swapped = good._replace(weights=good.weights[::-1])
    with pytest.raises(ConfigError, match=r"inconsistent layer shapes: weights \(\(2, 3\), \(3, 2\)\)"):
        sgd(swapped, (DATA.x, DATA.y), **GOOD)
    nan = good._replace(biases=(np.array([0.0, np.nan, 0.0]), good.biases[1]))
    with pytest.raises(ConfigError, match="params contain NaN or inf"):
        sgd(nan, (DATA.x, DATA.y), **GOOD)


def test_names_where_values_belong_still_work_with_a_warning():
    params = init_params([2, 3, 2], seed=0)
    data = (DATA.x, DATA.y)
    with pytest.warns(DeprecationWarning, match="deprecated") as caught:
        named = sgd(params, data, **_with(cost="cross_entropy", activation="tanh",
                                          optimizer="momentum", optimizer_settings={"mu": 0.5},
                                          schedule="constant"))
    assert len(caught) == 4  # cost, activation, optimizer, schedule
    assert "pass the value" in str(caught[0].message)
    valued = sgd(params, data, **_with(eta=None, activation=fnn.TANH,
                                       optimizer=momentum(eta=0.5, mu=0.5)))
    assert fnn.tree_equal(named[0], valued[0]) and named[1] == valued[1]
    with pytest.warns(DeprecationWarning, match="cost='hinge'"), pytest.raises(
            ConfigError, match="unknown cost 'hinge'"):
        sgd(params, data, **_with(cost="hinge"))
