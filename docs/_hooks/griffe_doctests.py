"""A griffe extension: fnn's docstrings are plain text with doctests; render them as Markdown.

A run of lines starting at ``>>>`` (up to the next blank line) becomes a ``pycon`` code block,
and an indented block after a line ending in ``::`` becomes a ``text`` code block, so the
API reference shows examples as code instead of nested block quotes.
"""

from __future__ import annotations

from typing import Any

import griffe

_FENCE = "```"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _doctest(lines: list[str], i: int, out: list[str]) -> int:
    """Fence the doctest starting at lines[i]; return the index after it."""
    pad = " " * _indent(lines[i])
    if out and out[-1].strip():
        out.append("")
    out.append(pad + _FENCE + "pycon")
    while i < len(lines) and lines[i].strip():
        out.append(lines[i])
        i += 1
    out.append(pad + _FENCE)
    return i


def _literal(lines: list[str], i: int, out: list[str]) -> int:
    """Fence the indented block after an ``::`` line at lines[i - 1]; return the index after."""
    base = _indent(lines[i - 1])
    block: list[str] = []
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
        block.append(lines[i])
        i += 1
    while block and not block[-1].strip():
        block.pop()
        i -= 1
    cut = min(_indent(b) for b in block if b.strip())
    pad = " " * base
    out += ["", pad + _FENCE + "text", *(pad + b[cut:] for b in block), pad + _FENCE]
    return i


def to_markdown(text: str) -> str:
    """The docstring ``text`` with its doctests and ``::`` literal blocks fenced.

    >>> print(to_markdown("Add.\\n\\n>>> 1 + 1\\n2"))
    Add.
    <BLANKLINE>
    ```pycon
    >>> 1 + 1
    2
    ```
    """
    lines, out, i, fenced = text.splitlines(), [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(_FENCE):
            fenced = not fenced
        elif not fenced and line.lstrip().startswith(">>>"):
            i = _doctest(lines, i, out)
            continue
        elif (not fenced and line.rstrip().endswith("::") and i + 2 < len(lines)
              and not lines[i + 1].strip() and _indent(lines[i + 2]) > _indent(line)):
            out.append(line.rstrip()[:-1])
            i = _literal(lines, i + 2, out)
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Rewrite every docstring of the loaded package with ``to_markdown``."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader,  # noqa: ARG002
                  **kwargs: Any) -> None:  # noqa: ARG002  (griffe's hook signature)
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
