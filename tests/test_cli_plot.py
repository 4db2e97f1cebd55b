"""``fnn plot`` through ``main([...])``: learning curves from a history or a sweep's results."""

from __future__ import annotations

import sys

import pytest

from fnn.cli import main
from fnn.sweep import make_sweep, run_sweep

from .sweep_runs import BASE, sweep_data

FAST = ["--sizes", "784,10,10", "--epochs", "2", "--no-progress"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_plot_writes_a_png(tmp_path, capsys, suffix):
    history = tmp_path / f"h{suffix}"
    assert main(["train", *FAST, "--monitor", "all", "--history", str(history)]) == 0
    assert main(["plot", str(history), "-o", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    assert f"wrote {tmp_path / 'curves.png'}" in capsys.readouterr().out


def test_plot_without_matplotlib_is_a_clear_runtime_error(tmp_path, capsys, monkeypatch):
    history = tmp_path / "h.json"
    history.write_text('{"format": "fnn.history", "records": []}')
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(history), "-o", str(tmp_path / "c.png")]) == 1
    assert "matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_plotting_a_sweeps_results_file(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (fnn[plot])")
    results = tmp_path / "r.jsonl"
    run_sweep(make_sweep(BASE, grid={"eta": [0.1, 0.5]}, seeds=2), sweep_data(), results=results)
    image = tmp_path / "curves.png"
    assert main(["plot", str(results), "-o", str(image)]) == 0
    assert image.read_bytes().startswith(PNG) and "wrote" in capsys.readouterr().out
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    image.unlink()
    assert main(["plot", str(empty), "-o", str(image)]) == 1
    err = capsys.readouterr().err
    assert err == f"fnn: error: {empty} holds no finished jobs\n" and not image.exists()


def test_a_missing_input_or_output_folder_exits_1(tmp_path, capsys):
    history = tmp_path / "h.json"
    history.write_text('{"format": "fnn.history", "records": []}')
    assert main(["plot", str(history), "-o", str(tmp_path / "no" / "c.png")]) == 1
    assert f"folder {tmp_path / 'no'} does not exist" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "nope.json"), "-o", str(tmp_path / "c.png")]) == 1
    assert "nope.json" in capsys.readouterr().err and not (tmp_path / "c.png").exists()
    assert main(["plot", str(history)]) == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err
