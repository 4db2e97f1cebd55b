"""Size, save time and load time of a 784-800-10 model file: JSON against safetensors.

    python bench/model_files.py [--repeats 9] [--json bench/results/model-files.json]

The model (issue 13): 784-800-10, ReLU hidden layer, softmax output (cost fnn.log_likelihood),
He-initialized with seed 0 (636,010 parameters; a JSON file's size depends on the digits of
each number, and random normal weights need as many as trained ones), in float32 and in
float64. For each dtype and format it measures, with ``fnn.save`` and ``fnn.load`` only:

- the file's size in bytes;
- save: ``fnn.save`` in this process, best of --repeats;
- load, cold: ``fnn.load`` in a fresh Python process (``fnn`` imported before the clock
  starts, so what is timed is the first load, which also imports the safetensors package),
  after asking the kernel to drop the file's pages from the page cache
  (``posix_fadvise(POSIX_FADV_DONTNEED)``), best of --repeats processes;
- load, warm: ``fnn.load`` again in this process, the file cached, best of --repeats.

Each loaded model is checked equal, bit for bit, to the one saved. Times are wall-clock
(``time.perf_counter``): best-of-N because other work on a shared machine only ever adds
time. The machine's 1-minute load average is recorded at the start and at the end; it is in
the caption printed above the Markdown table, and in the JSON file with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import fnn

SIZES = (784, 800, 10)
FORMATS = ("json", "safetensors")
DTYPES = ("float32", "float64")

# Run in a fresh interpreter: import fnn, drop the file's cached pages, time one load.
_COLD = """
import os, sys, time
import fnn
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
start = time.perf_counter()
model = fnn.load(path)
print(time.perf_counter() - start)
"""


def model(dtype: str) -> fnn.Model:
    """The benchmark's model: 784-800-10, ReLU, softmax with log-likelihood, seed 0."""
    params = fnn.init_params(SIZES, seed=0, init=fnn.he_init, dtype=np.dtype(dtype))
    return fnn.Model(params, (fnn.RELU,), fnn.log_likelihood, {"seed": 0})


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The shortest of ``repeats`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cold_load(path: Path, repeats: int) -> float:
    """The shortest first ``fnn.load`` of ``path`` over ``repeats`` fresh processes."""
    runs = [subprocess.run([sys.executable, "-c", _COLD, str(path)], capture_output=True,
                           text=True, check=True) for _ in range(repeats)]
    return min(float(run.stdout) for run in runs)


def measure(dtype: str, fmt: str, folder: Path, repeats: int) -> dict[str, Any]:
    """One row: size, save, cold and warm load of the model in ``dtype`` as ``fmt``."""
    saved = model(dtype)
    path = folder / f"model-{dtype}.{fmt}"
    save = best_of(repeats, lambda: fnn.save(path, saved))
    loaded = fnn.load(path)
    if not (fnn.tree_equal(loaded.params, saved.params)
            and loaded.params.weights[0].dtype == np.dtype(dtype)):
        raise AssertionError(f"{path}: the loaded model differs from the saved one")
    return {"dtype": dtype, "format": fmt, "bytes": path.stat().st_size, "save_s": save,
            "load_cold_s": cold_load(path, repeats),
            "load_warm_s": best_of(repeats, lambda: fnn.load(path))}


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.0995 else f"{seconds * 1e3:.1f} ms"


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of ``rows``; each safetensors row also shows JSON ÷ safetensors."""
    lines = ["| dtype | format | file size | save | load, cold | load, warm |",
             "|---|---|---|---|---|---|"]
    json_rows = {r["dtype"]: r for r in rows if r["format"] == "json"}
    for r in rows:
        cells = [_mb(r["bytes"]), _time(r["save_s"]), _time(r["load_cold_s"]),
                 _time(r["load_warm_s"])]
        if r["format"] == "safetensors" and r["dtype"] in json_rows:
            j = json_rows[r["dtype"]]
            ratios = [j["bytes"] / r["bytes"], j["save_s"] / r["save_s"],
                      j["load_cold_s"] / r["load_cold_s"], j["load_warm_s"] / r["load_warm_s"]]
            cells = [f"{c} (÷{q:.0f})" if q >= 10 else f"{c} (÷{q:.1f})"
                     for c, q in zip(cells, ratios)]
        lines.append(f"| {r['dtype']} | {r['format']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"python": platform.python_version(), "numpy": np.__version__,
            "fnn": fnn.__version__, "safetensors": version("safetensors")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timings per figure (best of)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(dtype, fmt, Path(folder), args.repeats)
                for dtype in DTYPES for fmt in FORMATS]
    load_end = os.getloadavg()[0]
    n = sum(w.size + b.size for w, b in zip(*model("float32").params))
    caption = (f"784-800-10 ReLU/softmax model ({n} parameters), best of {args.repeats}; "
               f"1-minute load average {load_start:.2f} at the start, {load_end:.2f} at the end; "
               f"{os.cpu_count()} CPUs")
    print(caption + "\n")
    print(table(rows))
    if args.json:
        record = {"command": " ".join(["python", *sys.argv]), "caption": caption,
                  "repeats": args.repeats, "loadavg_1min": [load_start, load_end],
                  "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
                  "versions": _versions(), "rows": rows}
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
