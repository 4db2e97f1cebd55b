"""Names every doctest in fnn/ may use without importing them; what to leave uncollected;
and, for .ci/run, a record of the tests that skipped."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import fnn

# The compiled kernel imports numba and SciPy when imported (fnn[jit]); without them
# --doctest-modules could not import it. Its tests skip, naming the extra.
collect_ignore = ([] if all(importlib.util.find_spec(m) for m in ("numba", "scipy"))
                  else ["fnn/training/_kernel.py"])


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["fnn"] = fnn


def _note_skipped(report: pytest.TestReport | pytest.CollectReport) -> None:
    """With $FNN_SKIPPED set, append the id of each skipped test or module to that file.

    .ci/run first runs the tests with the test extra only, where the tests of the other
    extras skip; once every extra is installed it runs the ids noted here.
    """
    path = os.environ.get("FNN_SKIPPED")
    if path and report.skipped and not hasattr(report, "wasxfail"):
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(report.nodeid + "\n")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note a skipped test (see ``_note_skipped``)."""
    _note_skipped(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Note a skipped module (see ``_note_skipped``)."""
    _note_skipped(report)
