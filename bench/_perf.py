"""Where the compiled epoch's time goes, by ``perf``: shares per library (BLAS, numba's JIT
code, Python, NumPy, the kernel), the hottest BLAS functions, and how concentrated the JIT
code's samples are.

``perf record`` starts with recording off (``-D -1``) and the worker switches it on only
around the timed epochs through perf's control fifos, so start-up, data generation and
compilation are not in the profile. numba's JIT code has no symbols here: perf reports it
as ``[JIT] tid N`` with raw addresses, which are grouped into 256-byte windows (one hot
inner loop falls in one or two).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

GROUPS = (("BLAS (OpenBLAS gemm)", ("openblas",)), ("numba JIT code", ("[JIT]",)),
          ("Python interpreter", ("libpython", "python3")),
          ("NumPy (incl. random)", ("_multiarray", "_generator", "_pcg64", "bit_generator",
                                    "_umath", "numpy")),
          ("numba runtime helpers", ("_helperlib", "numba")), ("OS kernel", ("[kernel",)),
          ("C library", ("libc.so", "libm.so", "ld-linux")))
_LINE = re.compile(r"^\s*([\d.]+)%\s+(.+?)\s*$")
_SYMBOL = re.compile(r"^\s*([\d.]+)%\s+(\S.*?)\s+\[[.k]\]\s+(\S+)")


def available() -> bool:
    """Whether ``perf`` can be run."""
    return shutil.which("perf") is not None


def record(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command`` (a perf worker taking ``--perf-fifo CTL,ACK``) under perf record;
    the shares by library and the hottest symbols, or why not."""
    with tempfile.TemporaryDirectory() as folder:
        ctl, ack, data = (str(Path(folder) / name) for name in ("ctl", "ack", "perf.data"))
        for fifo in (ctl, ack):
            subprocess.run(["mkfifo", fifo], check=True)
        done = subprocess.run(["perf", "record", "-q", "-o", data, "--control",
                               f"fifo:{ctl},{ack}", "-D", "-1", "--", *command,
                               "--perf-fifo", f"{ctl},{ack}"],
                              capture_output=True, text=True, env=env, check=False)
        if done.returncode:
            return {"status": "failed", "error": done.stderr.strip()[-500:]}
        return {"status": "ok", "by_library": _by_library(_report(data, "dso")),
                **_symbols(_report(data, "dso,sym"))}


def _report(data: str, sort: str) -> str:
    return subprocess.run(["perf", "report", "-i", data, "--sort", sort, "--stdio"],
                          capture_output=True, text=True, check=False).stdout


def _group(dso: str) -> str:
    return next((name for name, keys in GROUPS if any(k in dso for k in keys)), "other")


def _by_library(text: str) -> dict[str, float]:
    """Percent of samples per group of ``GROUPS``, from ``perf report --sort dso``.

    >>> _by_library("  60.00%  libscipy_openblas-1.so\\n  40.00%  [JIT] tid 7\\n")
    {'BLAS (OpenBLAS gemm)': 60.0, 'numba JIT code': 40.0}
    """
    shares: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            shares[_group(match.group(2))] += float(match.group(1))
    return dict(shares)


def _symbols(text: str) -> dict:
    """The hottest BLAS functions, and the JIT samples per 256-byte window of code."""
    blas: dict[str, float] = defaultdict(float)
    windows: dict[int, float] = defaultdict(float)
    for line in text.splitlines():
        match = _SYMBOL.match(line)
        if not match:
            continue
        share, dso, symbol = float(match.group(1)), match.group(2), match.group(3)
        if "openblas" in dso:
            blas[symbol] += share
        elif "[JIT]" in dso and symbol.startswith("0x"):
            windows[int(symbol, 16) // 256] += share
    jit = sorted(windows.values(), reverse=True)
    return {"blas_top": dict(sorted(blas.items(), key=lambda kv: -kv[1])[:4]),
            "jit_hottest_window": jit[0] if jit else 0.0,
            "jit_two_hottest_windows": sum(jit[:2])}
