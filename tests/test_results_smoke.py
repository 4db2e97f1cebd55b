"""The results table's commands still run: each row, one epoch, a few hundred examples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_results_command_runs_on_a_few_hundred_examples():
    pytest.importorskip("sklearn", reason="the Fashion-MNIST rows compare with scikit-learn "
                                          "(pip install 'fnn[results]')")
    done = subprocess.run([sys.executable, str(REPO / "bench" / "results.py"), "--smoke",
                           "--jobs", "2"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from results import ROWS
    finally:
        sys.path.remove(str(REPO / "bench"))
    expected = {(name, implementation) for name, row in ROWS.items()
                for implementation in row.implementations}
    ran = {tuple(line.split()[:2]) for line in lines if " seed 0: final validation " in line}
    assert ran == expected
