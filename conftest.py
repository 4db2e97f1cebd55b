"""Names every doctest in fnn/ may use without importing them."""

import numpy as np
import pytest

import fnn


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["fnn"] = fnn
