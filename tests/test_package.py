"""The package's promises about itself: light imports, a complete public API."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import fnn

PACKAGE = Path(fnn.__file__).parent


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


def _submodules() -> set[str]:
    return {p.stem if p.name != "__init__.py" else p.parent.name
            for p in PACKAGE.rglob("*.py")}


def test_nothing_inside_the_package_imports_the_package_root():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import) and any(a.name == "fnn" for a in node.names):
                offenders.append(f"{path.relative_to(PACKAGE)}: import fnn")
            elif isinstance(node, ast.ImportFrom) and node.module == "fnn":
                names = [a.name for a in node.names if a.name not in _submodules()]
                offenders += [f"{path.relative_to(PACKAGE)}: from fnn import {n}" for n in names]
    assert offenders == []


@pytest.mark.parametrize(("name", "new"), [("ACTIVATIONS", "fnn.registry.ACTIVATIONS"),
                                           ("COSTS", "fnn.registry.COSTS"),
                                           ("INITIALIZERS", "fnn.registry.INITIALIZERS"),
                                           ("get_activation", "fnn.registry.activation"),
                                           ("get_cost", "fnn.registry.cost")])
def test_names_of_fnn_0_1_warn_and_still_work(name, new):
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(fnn, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        fnn.nonesuch  # noqa: B018


def test_no_two_public_things_share_a_name():
    from fnn import optimizers, sweep
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "sgd" not in optimizers.__all__ and "expand" not in sweep.__all__
