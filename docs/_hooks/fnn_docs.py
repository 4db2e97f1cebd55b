"""MkDocs hooks of fnn's site: the API reference must cover every public name, and the
results page shows every learning-curve figure ``bench/results.py --table`` has written.

``mkdocs build --strict`` turns each warning logged here into a failed build, so a public
module without an API page, a name in a module's ``__all__`` without a docstring, or a
public method without one stops the build (``tests/test_docs_site.py`` checks that it does).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.fnn_docs")

ROOT = Path(__file__).resolve().parents[2]
FIGURES = "figures"
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)", re.MULTILINE)
_FIGURES_MARKER = "<!-- fnn: learning curves -->"


def public_modules(package: Any) -> Iterator[Any]:
    """The package and each module below it whose path has no ``_name`` part (griffe objects),
    depth first, by name (griffe lists modules in the file system's order)."""
    yield package
    for _, module in sorted(package.modules.items()):
        if not module.is_alias and not module.name.startswith("_"):
            yield from public_modules(module)


def _target(member: Any) -> Any:
    return member.final_target if member.is_alias else member


def _public_methods(cls: Any) -> Iterator[Any]:
    for name, member in cls.members.items():
        if not name.startswith("_") and not member.is_alias and member.is_function:
            yield member


def undocumented(package: Any) -> list[str]:
    """Problems that leave a public name of ``package`` (a griffe module) undocumented.

    Every public module needs a docstring and an ``__all__``; every name in ``__all__`` must
    resolve to an object with a docstring, and every public method of an exported class too.
    """
    problems: list[str] = []
    seen: set[str] = set()
    for module in public_modules(package):
        if not module.docstring:
            problems.append(f"module {module.path} has no docstring")
        if module.exports is None:
            problems.append(f"module {module.path} has no __all__, so its public names are unknown")
            continue
        for export in sorted(str(e) if isinstance(e, str) else e.name for e in module.exports):
            where = f"{module.path}.{export}"
            try:
                obj = _target(module[export])
            except Exception as error:  # noqa: BLE001  (griffe raises several kinds)
                problems.append(f"{where} is in __all__ but cannot be resolved ({error})")
                continue
            if obj.path in seen:
                continue
            seen.add(obj.path)
            if not obj.docstring:
                problems.append(f"{where} ({obj.kind.value} {obj.path}) has no docstring")
            if obj.is_class:
                problems += [f"{m.path} (a public method) has no docstring"
                             for m in _public_methods(obj) if not m.docstring]
    return problems


def documented_modules(api_dir: Path) -> set[str]:
    """The objects named in ``::: identifier`` directives of the API pages."""
    return {m for page in api_dir.rglob("*.md") for m in _DIRECTIVE.findall(page.read_text())}


@functools.cache
def load_package(root: Path = ROOT) -> Any:
    """The fnn package under ``root`` as griffe sees it (loaded by path: never an installed
    fnn), once per build."""
    import griffe  # noqa: PLC0415  (mkdocstrings' dependency, only in the docs extra)

    return griffe.load(root / "fnn", search_paths=[str(root)], resolve_aliases=True,
                       resolve_external=False)


def coverage_problems(root: Path = ROOT) -> list[str]:
    """Every problem with the API reference of the fnn package under ``root``."""
    load_package.cache_clear()  # a new build (mkdocs serve) sees the files as they are now
    package = load_package(root)
    pages = documented_modules(root / "docs" / "api")
    missing = [f"public module {m.path} has no API page (a '::: {m.path}' in docs/api/)"
               for m in public_modules(package) if m.path not in pages]
    return missing + undocumented(package)


def on_pre_build(config: Any, **kwargs: Any) -> None:  # noqa: ARG001  (the hook's signature)
    """Warn (a failure under ``--strict``) for every gap in the API reference."""
    for problem in coverage_problems():
        log.warning("API reference: %s", problem)


def _summary(obj: Any) -> str:
    first = obj.docstring.value.strip().split("\n\n")[0] if obj.docstring else ""
    return " ".join(first.split()).replace("|", "\\|")


def exports_table(module_path: str, root: Path = ROOT) -> str:
    """A Markdown table of the names a package re-exports, each linked to where it is
    documented, with the first paragraph of its docstring."""
    module = load_package(root)
    for part in module_path.split(".")[1:]:
        module = module[part]
    rows = ["| name | what it is |", "|---|---|"]
    for name in sorted(str(e) if isinstance(e, str) else e.name for e in module.exports or ()):
        target = _target(module[name])
        private = any(part.startswith("_") for part in target.path.split(".")[:-1])
        where = f"{module.path}.{name}" if private else target.path  # rendered on this page
        rows.append(f"| [`{name}`][{where}] | {_summary(target)} |")
    return "\n".join(rows)


_EXPORTS = re.compile(r"^<!-- fnn: exports ([\w.]+) -->$", re.MULTILINE)


def figures_markdown(docs_dir: Path) -> str:
    """A section per PNG in ``docs/figures``, named after its results row."""
    pngs = sorted((docs_dir / FIGURES).glob("*.png"))
    if not pngs:
        log.warning("results page: no learning-curve figure in %s", docs_dir / FIGURES)
    return "\n\n".join(f"### {png.stem}\n\n![learning curves of {png.stem}]"
                       f"({FIGURES}/{png.name})" for png in pngs)


def on_page_markdown(markdown: str, page: Any, config: Any, **kwargs: Any) -> str:  # noqa: ARG001
    """Put the figures found at build time where the results page asks for them, and each
    package's table of re-exported names where its API page asks for it."""
    markdown = _EXPORTS.sub(lambda m: exports_table(m[1]), markdown)
    if _FIGURES_MARKER not in markdown:
        return markdown
    return markdown.replace(_FIGURES_MARKER, figures_markdown(Path(config["docs_dir"])))
