#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2025.2.9"]
# ///
"""Task runner for contributors: ``nox -s tests`` and ``nox -s lint`` (nox is not required)."""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """Install with the test extra and run the test command of the README."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict and the import layers, as CI runs them."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "fnn", "tests", "bench", "tools")
    session.run("mypy")
    session.run("lint-imports")


@nox.session
def fuzz(session: nox.Session) -> None:
    """Each loader's fuzz target under atheris: ``nox -s fuzz -- --seconds 600 pickle``."""
    session.install("-e", ".[test,fuzz]")
    session.run("python", "tests/fuzz/run.py", *(session.posargs or ["--seconds", "60"]))


if __name__ == "__main__":
    nox.main()
