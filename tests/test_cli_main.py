"""The ``fnn`` command as a whole: its sub-commands, ``--version``, ``python -m fnn``, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fnn
from fnn.cli import COMMANDS, main, main_exit


def test_python_dash_m_fnn_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "fnn", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert sorted(COMMANDS) == ["evaluate", "plot", "sweep", "train"]
    for command in COMMANDS:
        assert command in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"fnn {fnn.__version__}\n"


@pytest.mark.parametrize(("argv", "fragment"), [
    ([], "the following arguments are required: command"),
    (["fit"], "argument command: invalid choice: 'fit'"),
])
def test_a_missing_or_unknown_command_is_a_usage_error(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("fnn: error: ") and fragment in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_the_console_script_exits_with_mains_code(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fnn", "evaluate", "nope.json"])
    with pytest.raises(SystemExit) as info:
        main_exit()
    assert info.value.code == 1 and "nope.json" in capsys.readouterr().err
