"""The results table's commands still run: each row, one epoch, a few hundred examples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _results():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import results
    finally:
        sys.path.remove(str(REPO / "bench"))
    return results


@pytest.mark.slow
def test_every_results_command_runs_on_a_few_hundred_examples():
    pytest.importorskip("sklearn", reason="the Fashion-MNIST rows compare with scikit-learn "
                                          "(pip install 'fnn[results]')")
    done = subprocess.run([sys.executable, str(REPO / "bench" / "results.py"), "--smoke",
                           "--jobs", "2"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    expected = {(name, implementation) for name, row in _results().ROWS.items()
                for implementation in row.implementations}
    ran = {tuple(line.split()[:2]) for line in lines if " seed 0: final validation " in line}
    assert ran == expected


def test_the_table_goes_between_the_readmes_markers_and_nowhere_else():
    results = _results()
    start, end = results.MARKERS
    readme = f"# fnn\n{start}\nold table\n{end}\nafter\n"
    assert results.with_table(readme, "| new |") == f"# fnn\n{start}\n\n| new |\n\n{end}\nafter\n"
    assert results.with_table("no markers\n", "| new |") == "no markers\n"
    assert results.with_table(f"{end}\n{start}\n", "| new |") == f"{end}\n{start}\n"
    text = REPO.joinpath("README.md").read_text()
    assert text.count(start) == 1 and text.count(end) == 1 and text.index(start) < text.index(end)


def test_the_stored_tables_are_what_the_runs_say():
    results = _results()
    stored = results._load()
    text = results.tables(stored)
    assert REPO.joinpath("bench", "results", "table.md").read_text() == text + "\n"
    assert text in REPO.joinpath("README.md").read_text()
