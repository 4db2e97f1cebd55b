"""Each loader on the worst inputs known for it, at full size: peak memory and time.

    python tests/fuzz/worst.py                 # every case (needs about 4 GB and 5 minutes)
    python tests/fuzz/worst.py json-nested-pairs pickle-memo-bomb

A case writes its file, then a fresh process loads it and reports the outcome, the seconds
taken and how far its resident memory rose (Linux: the peak is reset through
``/proc/self/clear_refs`` after the imports). These are the figures of the README's "Loading
files from elsewhere"; the tests check the same bounds at smaller sizes. The ``mnist-*`` cases
need the full MNIST pickle (``$FNN_MNIST_DIR`` or ``../shared/data/mnist``).
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[2]
MiB = 2**20

_CHILD = """
import json, re, sys, time
from pathlib import Path
import fnn.checkpoint, fnn.datasets, fnn.serialization, fnn.sweep.results
LOADERS = {"pickle": fnn.datasets.load_pickle, "idx": fnn.datasets.load_idx,
           "model": fnn.serialization.load, "checkpoint": fnn.checkpoint.read_checkpoint,
           "results": fnn.sweep.results.read_results}
def kib(field):
    return int(re.search(field + r":\\s+(\\d+)", Path("/proc/self/status").read_text())[1])
loader, path = LOADERS[sys.argv[1]], sys.argv[2]
Path("/proc/self/clear_refs").write_text("5")
start, began = kib("VmRSS"), time.perf_counter()
try:
    loader(path)
    outcome = "loaded"
except Exception as e:
    outcome = f"{type(e).__name__}: {str(e).replace(path, 'FILE')[:90]}"
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - began,
                  "rss_growth": (kib("VmHWM") - start) * 1024}))
"""


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _mnist_like(rows: int, protocol: int) -> bytes:
    x = (np.arange(rows * 784, dtype=np.uint32) % 256).astype(np.float32).reshape(rows, 784)
    x /= 256
    labels = np.arange(rows, dtype=np.int64) % 10
    return pickle.dumps(((x, labels),) * 3, protocol=protocol)


def _cases() -> dict[str, tuple[str, Callable[[Path], tuple[Path, int]]]]:
    """name -> (loader, write(folder) -> (path, bytes the loader reads, decompressed))."""
    def pickle_memo_bomb(folder):  # the file
        a = np.zeros(200 * MiB, np.uint8)
        data = pickle.dumps(((a,) * 5000,), protocol=4)
        return _write(folder, "bomb.pkl.gz", gzip.compress(data)), len(data)

    def pickle_largest(folder):  # 256 MiB of arrays, the most MAX_DECOMPRESSED_BYTES admits
        data = _mnist_like(85_000, 4)
        return _write(folder, "big.pkl.gz", gzip.compress(data, 1)), len(data)

    def pickle_protocol0_text_bomb(folder):  # 2 GiB of six-byte escapes: the slowest refusal
        head = b"cnumpy\ndtype\n(V"
        body = b"\\u0000" * ((2 * 2**30 - 64) // 6)
        data = head + body + b"\ntR."
        return _write(folder, "text.pkl.gz", gzip.compress(data, 1)), len(data)

    def idx_largest(folder):  # 256 MiB of images: returned as 1 GiB of float32
        n = (256 * MiB - 16) // 784
        images = struct.pack(">IIII", 2051, n, 28, 28) + bytes(n * 784)
        labels = struct.pack(">II", 2049, n) + bytes(n)
        for prefix in ("train", "t10k"):
            _write(folder, f"{prefix}-images-idx3-ubyte", images)
            _write(folder, f"{prefix}-labels-idx1-ubyte", labels)
        return folder, 2 * (len(images) + len(labels))

    def json_shape(unit: bytes, name: str):
        # as many units as MAX_JSON_VALUES admits: values = 2 + the unit's , : [ { per unit
        per_unit = sum(map(unit.count, (b",", b":", b"[", b"{")))
        def write(folder):
            data = b"[" + unit * ((2**24 - 2) // per_unit) + b"0]\n"
            return _write(folder, name, data), len(data)
        return write

    def model_largest(folder):  # a real model of 11.8 million parameters: a 250 MB file
        import fnn
        from fnn.params import init_params
        from fnn.serialization import save
        path = save(folder / "model.json", init_params([784, 15_000, 10], seed=0),
                    cost=fnn.cross_entropy)
        return path, path.stat().st_size

    def real_mnist(protocol: int | None):  # network2's file, or its arrays re-pickled
        def write(folder):
            source = Path(os.environ.get("FNN_MNIST_DIR", _ROOT.parent / "shared" / "data" /
                                         "mnist")) / "mnist.pkl.gz"
            if protocol is None:
                return source, 220_080_342
            with gzip.open(source) as file:
                arrays = pickle.load(file, encoding="latin1")  # the trusted original
            path = folder / f"mnist-{protocol}.pkl"
            with path.open("wb") as file:
                pickle.dump(arrays, file, protocol=protocol)
            return path, path.stat().st_size
        return write

    mnist = {"mnist-network2": ("pickle", real_mnist(None))}
    mnist.update({f"mnist-protocol-{p}": ("pickle", real_mnist(p)) for p in range(6)})
    return {
        **mnist,
        "pickle-memo-bomb": ("pickle", pickle_memo_bomb),
        "pickle-largest": ("pickle", pickle_largest),
        "pickle-protocol0-text-bomb": ("pickle", pickle_protocol0_text_bomb),
        "idx-largest": ("idx", idx_largest),
        "json-nested-pairs": ("model", json_shape(b"[[]],", "pairs.json")),
        "json-one-key-objects": ("model", json_shape(b'{"":0},', "objects.json")),
        "json-floats": ("checkpoint", json_shape(b"0.5,", "floats.json")),
        "json-duplicate-keys": ("results", json_shape(b'{"a":0,"a":0},', "dup.jsonl")),
        "model-largest": ("model", model_largest),
    }


def measure(name: str, folder: Path) -> dict[str, object]:
    """Write case ``name`` in ``folder`` and load it in a fresh process."""
    loader, write = _cases()[name]
    path, size = write(folder)
    on_disk = (sum(p.stat().st_size for p in path.iterdir()) if path.is_dir()
               else path.stat().st_size)
    out = subprocess.run([sys.executable, "-c", _CHILD, loader, str(path)], cwd=_ROOT,
                         capture_output=True, text=True, check=True, timeout=1800)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {"case": name, "loader": loader, "file_bytes": on_disk, "read_bytes": size,
            **figures}


def main(argv: list[str] | None = None) -> int:
    names = (sys.argv[1:] if argv is None else argv) or list(_cases())
    print(f"{'case':<28}{'loader':<11}{'file MiB':>9}{'read MiB':>9}{'s':>7}{'peak MiB':>9}"
          f"{'x read':>7}  outcome")
    for name in names:
        with tempfile.TemporaryDirectory(prefix="fnn-worst-") as folder:
            r = measure(name, Path(folder))
        print(f"{r['case']:<28}{r['loader']:<11}{r['file_bytes'] / MiB:>9.1f}"
              f"{r['read_bytes'] / MiB:>9.1f}{r['seconds']:>7.1f}{r['rss_growth'] / MiB:>9.0f}"
              f"{r['rss_growth'] / r['read_bytes']:>7.2f}  {r['outcome']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
