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
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (fnn[plot])")
    history = tmp_path / f"h{suffix}"
    assert main(["train", *FAST, "--monitor", "all", "--history", str(history)]) == 0
    assert main(["plot", str(history), "-o", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    assert f"wrote {tmp_path / 'curves.png'}" in capsys.readouterr().out


def _png_width(path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR chunk's width


@pytest.mark.parametrize(("monitor", "width"), [("all", 1000), ("evaluation_accuracy", 500),
                                                ("training_cost", 500)])
def test_a_panel_is_drawn_only_for_what_was_monitored(tmp_path, monitor, width):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (fnn[plot])")
    history = tmp_path / "h.json"
    assert main(["train", *FAST, "--monitor", monitor, "--history", str(history)]) == 0
    assert main(["plot", str(history), "-o", str(tmp_path / "curves.png")]) == 0
    assert _png_width(tmp_path / "curves.png") == width  # 100 dpi, 5 inches a panel


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


@pytest.mark.parametrize(("argv", "fragment"), [
    (["h.txt", "-o", "c.png"], "argument history: must end in .json, .csv or .jsonl, got 'h.txt'"),
    (["h.csv", "-o", "c.jpg"], "argument --output: must end in .png, .svg or .pdf, got 'c.jpg'"),
])
def test_a_wrong_suffix_is_a_usage_error(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", *argv]) == 2
    assert capsys.readouterr().err == f"fnn: error: {fragment}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("nope.csv", None, "history {path}: no such file"),
    ("folder.json", "dir", "history {path}: is a folder, not a file"),
    ("h.json", "{bad", "{path}: not a history file of fnn train --history (JSON: Expecting"),
    ("h.csv", "a,b\n1,2\n", "{path}: not a history file of fnn train --history (history: "),
    ("h.csv", "epoch,training_cost\n", "{path}: the history holds no epochs"),
    ("h.json", '{"format": "fnn.history", "records": []}', "{path}: the history holds no epochs"),
])
def test_a_bad_history_file_exits_1_naming_it(tmp_path, capsys, name, content, fragment):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (fnn[plot])")
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    assert main(["plot", str(path), "-o", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fnn: error: ") and err.count("\n") == 1 and "Errno" not in err
    assert fragment.format(path=path) in err and "Traceback" not in err
    assert not (tmp_path / "c.png").exists()
