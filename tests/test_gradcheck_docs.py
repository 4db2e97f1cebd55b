"""docs/testing.md runs: its code blocks in order, in one namespace, then its tests.

``python`` blocks are executed as they stand, ``pycon`` blocks are run as doctests (ELLIPSIS),
and every ``test_*`` function the page defines is then called, hypothesis and all.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parents[1] / "docs" / "testing.md"
BLOCK = re.compile(r"^```(python|pycon)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[str, str, int]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2)
            for m in BLOCK.finditer(text)]


def _run_doctest(source: str, line: int, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(source, namespace, f"{PAGE.name}:{line}",
                                               str(PAGE), line - 1)
    reports: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=reports.append)
    assert not runner.failures, "".join(reports)


def test_the_page_has_a_complete_example_and_a_doctest():
    kinds = [kind for kind, _, _ in _blocks()]
    assert kinds.count("python") >= 2 and "pycon" in kinds


def test_every_code_block_and_every_test_on_the_page_runs():
    namespace: dict[str, Any] = {"__name__": "docs_testing"}
    for kind, source, line in _blocks():
        if kind == "python":
            exec(compile(source, f"{PAGE}:{line}", "exec"), namespace)  # noqa: S102
        else:
            _run_doctest(source, line, namespace)
    tests = {name: f for name, f in namespace.items() if name.startswith("test_")}
    assert sorted(tests) == ["test_leaky_relu_and_my_cost", "test_relu_with_a_hinge_cost"]
    for test in tests.values():
        test()
