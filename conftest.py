"""Names every doctest in fnn/ may use without importing them."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_numpy(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["np"] = np
