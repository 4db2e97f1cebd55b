"""The package's promises about itself: light imports, a complete public API."""

from __future__ import annotations

import subprocess
import sys

import fnn


def test_import_fnn_does_not_import_optional_extras():
    code = ("import sys, fnn; bad = [m for m in ('hypothesis', 'scipy', 'matplotlib', 'tqdm', "
            "'dask', 'threadpoolctl') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_public_api_is_listed_and_importable():
    assert len(set(fnn.__all__)) == len(fnn.__all__)
    missing = [name for name in fnn.__all__ if not hasattr(fnn, name)]
    assert missing == []
