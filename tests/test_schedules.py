"""Schedules as values: epoch schedules give a factor of eta (or stop), step schedules a factor."""

from __future__ import annotations

import pytest

from fnn.errors import ConfigError
from fnn.history import EpochRecord, History
from fnn.schedules import (
    constant,
    cosine_decay,
    epochs_without_improvement,
    halve_on_plateau,
    is_constant,
    step_decay,
)


def _history(accuracies):
    return History(tuple(EpochRecord(e, evaluation_accuracy=a) for e, a in enumerate(accuracies)))


def test_halve_rule_counts_anew_after_each_halving():
    rule = halve_on_plateau(patience=2)
    flat = _history([0.5] * 15)
    assert [rule(e, flat[:e]) for e in range(16)] == [
        1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625, 0.0625, 0.03125, 0.03125,
        0.015625, 0.015625, None]


def test_halving_needs_evaluation_accuracy_every_epoch():
    with pytest.raises(ConfigError, match="needs evaluation accuracy monitored every epoch"):
        halve_on_plateau(patience=1)(1, History((EpochRecord(0),)))


def test_constant_and_step_decay():
    assert constant()(99, _history([0.1])) == 1.0 and is_constant(constant())
    assert not is_constant(halve_on_plateau()) and not is_constant(lambda e, h: 1.0)
    rule = step_decay(3, factor=0.5)
    assert [rule(e, History()) for e in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_cosine_decay_runs_from_one_to_alpha_and_stays():
    rule = cosine_decay(4, alpha=0.2)
    assert [round(rule(c), 12) for c in range(6)] == [1.0, 0.882842712475, 0.6, 0.317157287525,
                                                      0.2, 0.2]


def test_epochs_without_improvement_counts_from_the_first_best():
    assert epochs_without_improvement(History()) == 0
    assert epochs_without_improvement(_history([0.5, 0.7, 0.7, 0.6])) == 2


def test_schedules_built_alike_are_equal_values():
    assert halve_on_plateau(patience=3) == halve_on_plateau(patience=3)
    assert halve_on_plateau(patience=3) != halve_on_plateau(patience=4)
    assert repr(step_decay(2)) == "step_decay(every=2, factor=0.5)"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: halve_on_plateau(patience=0), "patience must be an int >= 1, got 0"),
    (lambda: halve_on_plateau(min_factor=0), "min_factor must be a finite number > 0, got 0"),
    (lambda: step_decay(0), "every must be an int >= 1, got 0"),
    (lambda: step_decay(2, factor=1.5), "factor must be a number in [0, 1], got 1.5"),
    (lambda: cosine_decay(10, alpha=-1), "alpha must be a number in [0, 1], got -1"),
])
def test_bad_settings_are_refused(call, message):
    with pytest.raises(ConfigError) as caught:
        call()
    assert message in str(caught.value)


def test_the_old_eta_argument_warns_and_the_factor_is_unchanged():
    with pytest.warns(DeprecationWarning, match="halve_on_plateau takes no eta"):
        old = halve_on_plateau(0.5, patience=2)
    assert old == halve_on_plateau(patience=2)
    with pytest.warns(DeprecationWarning, match="constant\\(\\) takes no eta"):
        assert constant(0.5)(0, History()) == 1.0
