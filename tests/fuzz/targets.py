"""One fuzz target per parser entry point, and one for the labels they load.

A target writes an input where its loader reads it (a pickle file, one of the four IDX files
beside three good ones, a model, a checkpoint, a results file), loads it and checks the
contract (``contract.check_load``) with the memory bound the README documents for that loader.
Seeds are valid files, made here from fnn's own writers and the helpers of the dataset tests,
so a run needs nothing but the repository. The ``labels`` target feeds label arrays of any
dtype, shape and value to ``cost``, ``backprop`` and ``sgd_step`` (issue 12's fourth point).
"""

from __future__ import annotations

import functools
import gzip
import io
import pickle
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any, NamedTuple

import numpy as np

import fnn
import fnn.errors
from fnn.checkpoint import read_checkpoint, sgd_checkpointed
from fnn.data import Labelled, one_hot
from fnn.datasets import load_idx, load_pickle
from fnn.errors import DataError, DatasetFormatError, FnnError, FnnTypeError, ModelFormatError
from fnn.optimizers import adam, momentum
from fnn.params import init_params, tree_equal
from fnn.serialization import load, save
from fnn.sweep import SweepData, base_run, make_sweep, read_results, run_sweep

from ..mnist_files import digits, idx_bytes, pixel_splits, py2_pickle
from . import mutators
from .contract import MESSAGE_LIMIT, Finding, check_load

__all__ = ["TARGETS", "Target"]

MiB = 2**20
# before issue 12 checkpoints and results raised ModelFormatError itself
CheckpointFormatError = getattr(fnn.errors, "CheckpointFormatError", ModelFormatError)
ResultsFormatError = getattr(fnn.errors, "ResultsFormatError", ModelFormatError)


class Target(NamedTuple):
    """A parser entry point under fuzzing."""

    name: str
    run: Callable[[bytes, Path, bool], str]  # load an input in a folder, memory exactly or not
    seeds: Callable[[], dict[str, bytes]]
    mutate: Callable[[bytes, int, int], bytes]
    max_len: int

    def check(self, data: bytes, folder: Path | None = None, *,
              exact: bool | None = None) -> str:
        """Load ``data`` in ``folder`` (emptied first; default a fresh temporary one) and check
        the contract; return the outcome (``"loaded"`` or the error's class name).

        Memory is measured ``exact``ly (tracemalloc) or as resident memory; by default
        exactly for a quarter of the inputs, chosen by their CRC so that a finding reproduces.
        """
        exact = zlib.crc32(data) % 4 == 0 if exact is None else exact
        if folder is None:
            with tempfile.TemporaryDirectory(prefix=f"fnn-fuzz-{self.name}-") as fresh:
                return self.run(data, Path(fresh), exact)
        for leftover in folder.iterdir():
            leftover.unlink()
        return self.run(data, folder, exact)


# --------------------------------------------------------------------------- memory bounds


def _decompressed_size(data: bytes, cap: int = 2**31) -> int:
    if data[:2] != b"\x1f\x8b":
        return len(data)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            size = 0
            while size <= cap and (chunk := stream.read(MiB)):
                size += len(chunk)
            return size
    except (OSError, EOFError, zlib.error):
        return len(data)


def _dataset_bound(data: bytes) -> int:
    # README "Loading files from elsewhere": a dataset load holds at most about twice the
    # bytes it decompresses (its data, then its arrays), plus the arrays it returns as floats
    # (up to 8 bytes per stored byte)
    return 10 * _decompressed_size(data)


def _json_bound(data: bytes) -> int:
    # README: parsing JSON costs at most about 40 bytes per byte of the file
    return 40 * len(data)


# --------------------------------------------------------------------------- the targets


def _run_pickle(data: bytes, folder: Path, exact: bool) -> str:
    path = folder / "mnist.pkl"
    path.write_bytes(data)
    return check_load(load_pickle, path, DatasetFormatError, _dataset_bound(data), exact=exact)


_IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte")


def _run_idx(data: bytes, folder: Path, exact: bool) -> str:
    selector, body = (data[0], data[1:]) if data else (0, b"")
    good = _idx_files()
    which = _IDX_NAMES[selector & 3]
    for name in _IDX_NAMES:
        if name != which:
            (folder / f"{name}.gz").write_bytes(good[name])
    (folder / (f"{which}.gz" if selector & 4 else which)).write_bytes(body)
    return check_load(load_idx, folder, DatasetFormatError, _dataset_bound(body), exact=exact)


def _run_model(data: bytes, folder: Path, exact: bool) -> str:
    path = folder / "model.json"
    path.write_bytes(data)
    return check_load(load, path, ModelFormatError, _json_bound(data), exact=exact)


def _run_checkpoint(data: bytes, folder: Path, exact: bool) -> str:
    path = folder / "run.ckpt"
    path.write_bytes(data)
    return check_load(read_checkpoint, path, CheckpointFormatError, _json_bound(data), exact=exact)


def _run_results(data: bytes, folder: Path, exact: bool) -> str:
    path = folder / "results.jsonl"
    path.write_bytes(data)
    return check_load(read_results, path, ResultsFormatError, _json_bound(data), exact=exact)


# --------------------------------------------------------------------------- labels

# what labels loaded from a file may be: any dtype, and shapes near (m,) and (m, n_out)
_LABEL_DTYPES = (np.int64, np.int32, np.uint8, np.int8, np.float64, np.float32, np.bool_,
                 np.int16)


def _labels_case(data: bytes) -> tuple[Any, Any, Any]:
    """(params, x, labels) from an input: 4 header bytes (batch size m and classes n_out, both
    1 to 6 so that m == n_out often; the labels' dtype; their shape), then the labels' bytes."""
    head = data[:4].ljust(4, b"\0")
    m, n_out = 1 + head[0] % 6, 1 + head[1] % 6
    dtype = np.dtype(_LABEL_DTYPES[head[2] % len(_LABEL_DTYPES)])
    shape = ((m,), (m, n_out), (m, 1), (m + 1,), (n_out, m), ())[head[3] % 6]
    count = int(np.prod(shape))
    body = data[4:].ljust(count * dtype.itemsize, b"\0")[: count * dtype.itemsize]
    labels = np.frombuffer(body, dtype).reshape(shape).copy()
    rng = np.random.default_rng(zlib.crc32(data))
    return init_params([3, 4, n_out], seed=int(rng.integers(2**32))), rng.random((m, 3)), labels


def _run_labels(data: bytes, _folder: Path, _exact: bool) -> str:
    """cost, backprop and sgd_step on labels loaded from anywhere: each refuses them with an
    fnn error, or gives, bit for bit, what the one-hot rows they stand for give."""
    params, x, labels = _labels_case(data)
    n_out = params.weights[-1].shape[0]
    calls = {
        "cost": lambda y: fnn.cost(params, x, y, cost=fnn.cross_entropy),
        "backprop": lambda y: fnn.backprop(params, x, y, fnn.quadratic),
        "sgd_step": lambda y: fnn.sgd_step(params, (x, y), eta=0.5, lmbda=1.0, n=10,
                                           cost=fnn.cross_entropy),
    }
    outcomes = set()
    for name, call in calls.items():
        try:
            with np.errstate(all="ignore"):  # NaN rows are soft targets: a NaN cost, no error
                got = call(labels)
        except (DataError, FnnTypeError) as e:
            if len(str(e)) > MESSAGE_LIMIT:
                raise Finding(f"{name}: a message of {len(str(e))} characters") from e
            outcomes.add(type(e).__name__)
            continue
        if labels.ndim == 1 and labels.dtype.kind not in "iu":
            raise Finding(f"{name} took a {labels.dtype} vector {labels!r} as labels")
        if labels.ndim == 1:  # integer labels: exactly what their one-hot rows give
            with np.errstate(all="ignore"):
                expected = call(one_hot(labels, n_out))
            if not (tree_equal(got, expected) if isinstance(got, tuple) else got == expected):
                raise Finding(f"{name}: labels {labels!r} and their one-hot rows differ")
        outcomes.add("loaded")
    return "/".join(sorted(outcomes))


@functools.cache
def _labels_seeds() -> dict[str, bytes]:
    seeds = {}
    for m, n_out in ((3, 3), (4, 2), (1, 1), (6, 6)):
        labels = np.arange(m, dtype=np.int64) % n_out
        seeds[f"int64-{m}-of-{n_out}"] = bytes([m - 1, n_out - 1, 0, 0]) + labels.tobytes()
        seeds[f"one-hot-{m}-of-{n_out}"] = (bytes([m - 1, n_out - 1, 4, 1])
                                           + one_hot(labels, n_out).tobytes())
    return seeds


def _mutate_labels(data: bytes, max_size: int, seed: int) -> bytes:
    rng = Random(seed)
    out = bytearray(data.ljust(4, b"\0"))
    for _ in range(rng.choice((1, 2, 3))):
        if rng.random() < 0.3:
            out[rng.randrange(4)] = rng.randrange(256)  # batch size, classes, dtype, shape
        elif len(out) > 4:
            at = rng.randrange(4, len(out))
            out[at] = rng.choice((0, 1, 2, 5, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    return mutators.byte_mutate(bytes(out), max_size, rng) if rng.random() < 0.2 \
        else bytes(out[:max_size])


# --------------------------------------------------------------------------- seeds


def _respelled(data: bytes) -> bytes:
    """A protocol 0-3 pickle with NumPy 1's module names (text lines, so no length changes)."""
    return data.replace(b"numpy._core.", b"numpy.core.")


@functools.cache
def _pickle_seeds() -> dict[str, bytes]:
    parts = pixel_splits(1)
    seeds = {f"protocol-{p}": pickle.dumps(parts, protocol=p) for p in range(6)}
    seeds.update({f"protocol-{p}-numpy1": _respelled(pickle.dumps(parts, protocol=p))
                  for p in range(4)})
    seeds["python2"] = py2_pickle(parts)
    seeds["python2-gz"] = gzip.compress(py2_pickle(parts), mtime=0)
    seeds["protocol-4-gz"] = gzip.compress(seeds["protocol-4"], mtime=0)
    halves = tuple((x.astype(np.float16), y.astype(np.uint8)) for x, y in parts)
    seeds["float16-uint8"] = pickle.dumps(halves, protocol=2)
    return seeds


@functools.cache
def _idx_files() -> dict[str, bytes]:
    made = {"train": digits(3, 1), "t10k": digits(2, 2)}  # (images, labels) per prefix
    return {name: gzip.compress(idx_bytes(made[name.split("-")[0]][0 if "images" in name
                                                                    else 1]), mtime=0)
            for name in _IDX_NAMES}


@functools.cache
def _idx_seeds() -> dict[str, bytes]:
    files = _idx_files()
    seeds = {}
    for i, name in enumerate(_IDX_NAMES):
        seeds[f"{name}.gz"] = bytes([i | 4]) + files[name]
        seeds[name] = bytes([i]) + gzip.decompress(files[name])
    return seeds


def _small_data(n: int = 12, width: int = 4, seed: int = 0) -> Labelled:
    rng = np.random.default_rng(seed)
    return Labelled(rng.random((n, width)), rng.integers(0, 2, n))


@functools.cache
def _model_seeds() -> dict[str, bytes]:
    seeds = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, sizes, kwargs in (
                ("sigmoid", [3, 2], {}),
                ("relu-float32", [4, 3, 2], dict(activation=fnn.RELU, dtype=np.float32)),
                ("tanh-log-likelihood", [2, 3, 3, 2], dict(activation=(fnn.TANH, fnn.RELU),
                                                           cost=fnn.log_likelihood))):
            dtype = kwargs.pop("dtype", np.float64)
            params = init_params(sizes, seed=len(name), dtype=dtype)
            path = save(Path(folder, name), params, metadata={"seed": 0, "note": name},
                        **{"cost": fnn.cross_entropy, **kwargs})
            seeds[name] = path.read_bytes()
    seeds["network2"] = (b'{"sizes": [2, 1], "weights": [[[0.5, -0.25]]], "biases": [[[0.125]]], '
                         b'"cost": "CrossEntropyCost"}')
    return seeds


@functools.cache
def _checkpoint_seeds() -> dict[str, bytes]:
    data, evaluation = _small_data(), _small_data(6, seed=1)
    runs: dict[str, dict[str, Any]] = {
        "network2": dict(eta=0.5),
        "momentum": dict(optimizer=momentum(eta=0.5, mu=0.9)),
        "adam-float32": dict(optimizer=adam(eta=0.05)),
        "early-stop": dict(eta=0.5, early_stop=1, evaluation_data=evaluation,
                           monitor_evaluation_accuracy=True, monitor_training_cost=True),
    }
    seeds = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, kwargs in runs.items():
            dtype = np.float32 if "float32" in name else np.float64
            path = Path(folder, name)
            sgd_checkpointed(init_params([4, 3, 2], seed=0, dtype=dtype), data,
                             checkpoint=path, epochs=2, mini_batch_size=4, lmbda=1.0,
                             cost=fnn.cross_entropy, seed=0, **kwargs)
            seeds[name] = path.read_bytes()
    return seeds


@functools.cache
def _results_seeds() -> dict[str, bytes]:
    data = SweepData(_small_data(), _small_data(6, seed=1))
    seeds = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, sweep in (
                ("ok-and-diverged", make_sweep(base_run(sizes=(4, 3, 2), epochs=2,
                                                        mini_batch_size=4),
                                               grid={"eta": [0.5, 1e200]}, seeds=1)),
                ("chapter3", make_sweep(base_run(sizes=(4, 2), epochs=1, mini_batch_size=4),
                                        overrides=[{"optimizer": adam(eta=0.01)},
                                                   {"dtype": "float32", "activation": fnn.RELU,
                                                    "sizes": (4, 3, 2)}], seeds=2))):
            path = Path(folder, name)
            run_sweep(sweep, data, results=path)
            seeds[name] = path.read_bytes()
    lines = seeds["ok-and-diverged"].split(b"\n")
    seeds["torn"] = lines[0] + b"\n" + lines[1][:100]
    return seeds


TARGETS = {target.name: target for target in (
    Target("pickle", _run_pickle, _pickle_seeds, mutators.mutate_pickle, 128 * 1024),
    Target("idx", _run_idx, _idx_seeds, mutators.mutate_idx, 16 * 1024),
    Target("model", _run_model, _model_seeds, mutators.mutate_json, 64 * 1024),
    Target("checkpoint", _run_checkpoint, _checkpoint_seeds, mutators.mutate_json, 64 * 1024),
    Target("results", _run_results, _results_seeds, mutators.mutate_json_lines, 64 * 1024),
    Target("labels", _run_labels, _labels_seeds, _mutate_labels, 512),
)}
"""The five parser entry points, and the functions that take the labels they load."""

assert all(issubclass(e, FnnError) for e in (CheckpointFormatError, ResultsFormatError))
