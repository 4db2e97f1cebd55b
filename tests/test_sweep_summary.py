"""Summaries of a sweep: per run, mean ± std, min and max over seeds, as text, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import statistics

import pytest

import fnn
from fnn.optimizers import momentum
from fnn.sweep import (
    ConfigSummary,
    config_id,
    config_label,
    group_by_config,
    make_sweep,
    run_sweep,
    summarize,
    summary_csv,
    summary_json,
    summary_text,
)
from fnn.sweep.summary import setting_text
from fnn.training.run import RUN_SETTINGS

from .sweep_runs import BASE, CHAPTER3, GRID, sweep_data


@pytest.fixture(scope="module")
def data():
    return sweep_data()


@pytest.fixture(scope="module")
def serial(data):
    """The results of the 2 × 2 × 3 sweep, run in this process."""
    return run_sweep(make_sweep(BASE, grid=GRID, seeds=3), data)


@pytest.fixture(scope="module")
def chapter3(data):
    """The results of every chapter-3 override of ``BASE``, one seed each."""
    return run_sweep(make_sweep(BASE, overrides=CHAPTER3, seeds=1), data)


def test_summary_figures_equal_hand_computed_ones(serial):
    results = serial
    rows = summarize(results)
    assert [s.label for s in rows] == ["eta=0.1 lmbda=1.0", "eta=0.1 lmbda=5.0",
                                       "eta=0.5 lmbda=1.0", "eta=0.5 lmbda=5.0"]
    assert summarize(reversed(results)) == rows  # the order of completion does not matter
    for row, group in zip(rows, (results[i:i + 3] for i in range(0, 12, 3))):
        histories = [r.history for r in group]
        by_metric = {
            "final_accuracy": [h[-1].evaluation_accuracy for h in histories],
            "best_accuracy": [max(e.evaluation_accuracy for e in h) for h in histories],
            "best_epoch": [1 + [e.evaluation_accuracy for e in h].index(
                max(e.evaluation_accuracy for e in h)) for h in histories],
            "final_cost": [h[-1].evaluation_cost for h in histories],
            "best_cost": [min(e.evaluation_cost for e in h) for h in histories],
        }
        assert (row.runs, row.ok, row.diverged, row.failed) == (3, 3, 0, 0)
        assert row.run == group[0].job.run and row.config_id == config_id(group[0].job.run)
        for metric, values in by_metric.items():
            stats = getattr(row, metric)
            assert stats.mean == pytest.approx(sum(values) / 3, rel=1e-12)
            assert stats.std == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-15)
            assert (stats.min, stats.max) == (min(values), max(values))


def test_summary_as_text_csv_and_json(serial):
    rows = summarize(serial)
    text = summary_text(rows)
    assert text.splitlines()[0].split() == ["config", "runs", "ok", "diverged", "failed",
                                            "metric", "mean", "std", "min", "max"]
    assert len(text.splitlines()) == 2 + 4 * 5
    table = list(csv.DictReader(io.StringIO(summary_csv(rows))))
    assert [r["config"] for r in table] == [s.label for s in rows]
    assert float(table[2]["final_accuracy_mean"]) == rows[2].final_accuracy.mean
    doc = json.loads(summary_json(rows))
    assert doc[3]["overrides"] == {"eta": 0.5, "lmbda": 5.0}
    assert doc[3]["best_cost"]["max"] == rows[3].best_cost.max
    assert doc[0]["settings"]["sizes"] == [784, 10, 10]
    assert doc[0]["settings"]["optimizer"] == {"name": "gradient_descent", "eta": 0.1}
    assert "seed" not in doc[0]["settings"]


def test_one_seed_has_no_standard_deviation(data):
    [row] = summarize(run_sweep(make_sweep(BASE, seeds=1), data))
    assert row.final_accuracy.std is None and row.final_accuracy.min == row.final_accuracy.max
    assert "-" in summary_text([row]).splitlines()[2]
    assert row.label == "(base)"


def test_groups_are_ordered_by_their_overrides_numbers_numerically(serial):
    rows = summarize(serial)
    assert [tuple(r.overrides) for r in rows] == sorted(tuple(r.overrides) for r in rows)
    widened = make_sweep(BASE, grid={"eta": [10.0, 0.5, 2.0]}, seeds=1)
    ran = run_sweep(widened, sweep_data())
    assert [s.label for s in summarize(ran)] == ["eta=0.5", "eta=2.0", "eta=10.0"]
    groups = group_by_config(reversed(serial))
    assert [[r.job.seed.spawn_index for r in g] for g in groups] == [[0, 1, 2]] * 4


def test_chapter3_runs_are_labelled_in_command_line_text(chapter3):
    rows = summarize(chapter3)
    assert all(isinstance(s, ConfigSummary) and s.ok == 1 for s in rows)
    labels = {s.label for s in rows}
    assert "optimizer=momentum(eta=0.1, mu=0.9) activation=relu init=he" in labels
    assert "expansion=shifts sizes=784-20-10" in labels
    assert "dtype=float32 activation=[relu,tanh] sizes=784-10-10-10" in labels
    assert ("optimizer=chain(clip_by_global_norm(max_norm=1.0), nesterov(eta=0.1, mu=0.9)) "
            "l1=0.1 lmbda=0.0") in labels
    assert "cost=log_likelihood eta=0.1" in labels
    for override in CHAPTER3:  # each text reads back, as --grid reads it, to the value
        for name, value in override.items():
            assert RUN_SETTINGS[name].from_text(setting_text(name, value)) == value


def test_config_label_and_setting_text():
    assert config_label(()) == "(base)"
    assert config_label((("eta", 0.5), ("sizes", (784, 30, 10)),
                         ("optimizer", momentum(eta=0.1, mu=0.9)))) == (
        "eta=0.5 sizes=784-30-10 optimizer=momentum(eta=0.1, mu=0.9)")
    assert setting_text("activation", (fnn.RELU, fnn.SIGMOID)) == "[relu,sigmoid]"
    assert setting_text("activation", fnn.TANH) == "tanh"
    assert setting_text("init", fnn.he_init) == "he"
    assert setting_text("dtype", "float32") == "float32"


def test_chapter3_json_keeps_each_setting_in_its_file_form(chapter3):
    doc = json.loads(summary_json(summarize(chapter3)))
    by_label = {row["config"]: row for row in doc}
    row = by_label["optimizer=momentum(eta=0.1, mu=0.9) activation=relu init=he"]
    assert row["overrides"] == {"optimizer": {"name": "momentum", "eta": 0.1, "mu": 0.9},
                                "activation": "relu", "init": "he"}
    assert row["settings"]["optimizer"] == {"name": "momentum", "eta": 0.1, "mu": 0.9}
    assert row["settings"]["init"] == "he" and row["settings"]["activation"] == "relu"
    expanded = by_label["expansion=shifts sizes=784-20-10"]
    assert expanded["settings"]["expansion"] == {"shifts": True, "rotations": 0,
                                                 "max_degrees": 10.0}
