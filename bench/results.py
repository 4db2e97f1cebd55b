"""fnn's results table: every row, its command, its runs over seeds, and its figures.

    python bench/results.py --rows book-ce-30,book-l2-30 [--seeds 0,1,2,3,4] [--jobs 2]
    python bench/results.py --table            # the table and figures of the stored runs
    python bench/results.py --merge ../other/bench/results/results.json   # runs from elsewhere
    python bench/results.py --smoke            # every command on a few hundred examples

A row is a training setting on a dataset; it is run by one or more implementations, each a
command line run in a fresh process with one BLAS thread:

- ``fnn``: ``fnn train ...`` (the command the table prints), its per-epoch validation
  accuracy read from its ``--history`` file and its test accuracy, measured once after the
  last epoch, from its output;
- ``network2``: ``python bench/network2_run.py ...``, network2's algorithm with network2's
  own random streams (the book's rows): its update summed over each mini-batch's examples,
  the sums taken by matrix products (``--per-example`` runs the book's loop; a test holds the
  two to 1e-12);
- ``sklearn``: ``python bench/sklearn_run.py ...``, scikit-learn's ``MLPClassifier`` on the
  same split (the Fashion-MNIST rows).

Data: network2's split of MNIST (``mnist.pkl.gz``: 50,000 training, 10,000 validation,
10,000 test images) and Fashion-MNIST's IDX files (the last 10,000 training images are the
validation set, the 10,000 test images the test set). Validation chooses epochs and
settings; the test set is read once per finished run and never chooses anything.

Every run is stored in ``bench/results/results.json`` (one entry per row, implementation and
seed; rows can be run apart and re-run; ``--merge`` adds the runs of batches run in other
checkouts). ``--table`` writes the tables in Markdown (``bench/results/table.md``, also
printed, and into the README between its MARKERS) and the learning curves (``fnn plot`` of
each fnn row's seed-0 history, ``docs/figures/ROW.png``). ``--smoke`` runs each row's
commands for one epoch on 300 training and 100 held-out examples made from fnn's embedded
sample, so the commands cannot rot (tests/test_results_smoke.py runs it; CI runs the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
STORE = REPO / "bench" / "results" / "results.json"
TABLE = REPO / "bench" / "results" / "table.md"
FIGURES = REPO / "docs" / "figures"
README = REPO / "README.md"
MARKERS = ("<!-- results table: bench/results.py --table writes what follows -->",
           "<!-- end of the results table -->")
DATASETS = {"mnist": Path(os.environ.get("FNN_MNIST", REPO.parent / "shared" / "data" / "mnist"
                                         / "mnist.pkl.gz")),
            "fashion": Path(os.environ.get("FNN_FASHION_MNIST",
                                           "/usr/share/datasets/fashion-mnist"))}
SHOWN = {"mnist": "../shared/data/mnist/mnist.pkl.gz",  # as a reader's checkout has them
         "fashion": "/usr/share/datasets/fashion-mnist"}
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Row(NamedTuple):
    """One line of the table: a setting (``fnn train`` options) on a dataset."""

    title: str
    dataset: str
    settings: dict[str, Any]
    implementations: tuple[str, ...] = ("fnn",)
    book: float | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    group: str = "fnn"


# The book's chapter-3 runs call net.large_weight_initializer() first (the better initializer
# comes later in the chapter) and print the accuracy on the test data after each epoch.
BOOK = dict(sizes="784,30,10", epochs=30, mini_batch_size=10, eta=0.5, lmbda=0.0, init="large")
BEST = dict(sizes="784,800,10", epochs=30, mini_batch_size=50, eta=0.01, lmbda=5.0, init="he",
            output="softmax", activation="relu", optimizer="momentum", mu=0.9,
            schedule="halve:3", dtype="float32")
ELASTIC = dict(BEST, epochs=420, schedule="step_decay(every=60, factor=0.5)",
               augment="compose(affine, elastic(alpha=34, sigma=4))")
FIVE = (0, 1, 2, 3, 4)
ROWS: dict[str, Row] = {
    "book-ce-30": Row("784-30-10 sigmoid, cross-entropy, eta 0.5, batch 10, 30 epochs",
                      "mnist", BOOK, ("fnn", "network2"), 95.49, FIVE, "book"),
    "book-l2-30": Row("784-30-10 as above, L2 lmbda 5", "mnist", dict(BOOK, lmbda=5.0),
                      ("fnn", "network2"), 96.49, FIVE, "book"),
    "book-l2-100": Row("784-100-10, lmbda 5", "mnist",
                       dict(BOOK, sizes="784,100,10", lmbda=5.0), ("fnn", "network2"), 97.92,
                       FIVE, "book"),
    "book-l2-100-60": Row("784-100-10, lmbda 5, eta 0.1, 60 epochs", "mnist",
                          dict(BOOK, sizes="784,100,10", lmbda=5.0, eta=0.1, epochs=60),
                          ("fnn", "network2"), 98.04, FIVE, "book"),
    "default-30": Row("784-30-10 sigmoid, cross-entropy, eta 0.5, lmbda 5, batch 10, 30 "
                      "epochs, network2's default init N(0,1)/sqrt(n_in)", "mnist",
                      dict(BOOK, lmbda=5.0, init="default")),
    "default-100": Row("784-100-10 as default-30", "mnist",
                       dict(BOOK, sizes="784,100,10", lmbda=5.0, init="default")),
    "default-30-f32": Row("784-30-10 as default-30, in float32", "mnist",
                          dict(BOOK, lmbda=5.0, init="default", dtype="float32")),
    "softmax-100": Row("784-100-10 sigmoid hidden, softmax + log-likelihood, eta 0.5, lmbda 5, "
                       "batch 10, 30 epochs", "mnist",
                       dict(BOOK, sizes="784,100,10", lmbda=5.0, init="default",
                            output="softmax")),
    "best-800": Row("784-800-10 ReLU, softmax, momentum 0.9, eta 0.01, lmbda 5, batch 50, "
                    "the book's shifts (x5, 250,000 images), halve:3, 30 epochs, float32",
                    "mnist", dict(BEST, expand=True)),
    "elastic-800": Row("784-800-10 as best-800 without the shifts; affine and elastic "
                       "distortions (alpha 34, sigma 4) drawn afresh every epoch, eta halved "
                       "every 60 epochs, 420 epochs", "mnist", ELASTIC),
    "elastic-400x2": Row("784-400-400-10 (two ReLU hidden layers, 478,410 parameters against "
                         "elastic-800's 636,010: about its time per epoch), otherwise as "
                         "elastic-800", "mnist", dict(ELASTIC, sizes="784,400,400,10")),
    "elastic-800-600": Row("784-800-10 as elastic-800, eta halved every 100 epochs instead of "
                           "60, 600 epochs (a seed-0 candidate, not continued: its "
                           "validation did not improve on elastic-800's)", "mnist",
                           dict(ELASTIC, epochs=600,
                                schedule="step_decay(every=100, factor=0.5)")),
    "elastic-only-800-600": Row("784-800-10 as elastic-800-600 with elastic distortions only "
                                "(Simard et al.'s 99.3% setting: no affine part)", "mnist",
                                dict(ELASTIC, epochs=600,
                                     schedule="step_decay(every=100, factor=0.5)",
                                     augment="elastic(alpha=34, sigma=4)")),
    "fashion-100": Row("Fashion-MNIST, 784-100-10 sigmoid, cross-entropy, eta 0.5, lmbda 5, "
                       "batch 10, 30 epochs (the book's setting, default init)", "fashion",
                       dict(BOOK, sizes="784,100,10", lmbda=5.0, init="default"),
                       ("fnn", "sklearn"), group="fashion"),
    "fashion-800": Row("Fashion-MNIST, 784-800-10 ReLU, softmax, momentum 0.9, eta 0.01, "
                       "lmbda 5, batch 50, halve:3, 30 epochs, float32 (best-800 without "
                       "the shifts)", "fashion", BEST, ("fnn", "sklearn"), group="fashion"),
}
ORDER = {name: i for i, name in enumerate(ROWS)}


# --------------------------------------------------------------------------- the commands


def _flags(settings: dict[str, Any], names: Sequence[str]) -> list[str]:
    return [f"--{k.replace('_', '-')}={settings[k]}" for k in names if k in settings]


def fnn_command(row: Row, data: Path, seed: int, out: Path) -> list[str]:
    """``fnn train`` of one run, writing its history to ``out``."""
    s = row.settings
    flags = _flags(s, ["sizes", "epochs", "mini_batch_size", "eta", "lmbda", "init", "output",
                       "activation", "optimizer", "mu", "schedule", "dtype", "augment"])
    return [sys.executable, "-m", "fnn", "train", f"--data={data}", *flags,
            *(["--expand"] if s.get("expand") else []),
            f"--seed={seed}", "--monitor=evaluation_accuracy", f"--history={out}",
            "--no-progress"]


def network2_command(row: Row, data: Path, seed: int, out: Path) -> list[str]:
    """network2's algorithm of one run, writing its figures to ``out``."""
    s = row.settings
    return [sys.executable, str(REPO / "bench" / "network2_run.py"), f"--data={data}",
            *_flags(s, ["sizes", "epochs", "mini_batch_size", "eta", "lmbda", "init"]),
            f"--seed={seed}", f"--result={out}"]


def sklearn_command(row: Row, data: Path, seed: int, out: Path) -> list[str]:
    """scikit-learn's MLPClassifier in the row's setting, writing its figures to ``out``."""
    s = row.settings
    return [sys.executable, str(REPO / "bench" / "sklearn_run.py"), f"--data={data}",
            *_flags(s, ["sizes", "epochs", "mini_batch_size", "eta", "lmbda", "activation",
                        "optimizer", "mu", "dtype"]), f"--seed={seed}", f"--result={out}"]


COMMANDS = {"fnn": fnn_command, "network2": network2_command, "sklearn": sklearn_command}


def shown(command: list[str], dataset: str) -> str:
    """The command as a reader types it: no output files, the interpreter as ``python``,
    the data where a checkout beside ../shared (or Debian's package) has them."""
    hidden = ("--history=", "--result=", "--no-progress", "--checkpoint=", "--resume")
    kept = [f"--data={SHOWN[dataset]}" if c.startswith("--data=") else c for c in command
            if not c.startswith(hidden)]
    if kept[:3] == [sys.executable, "-m", "fnn"]:
        kept = ["fnn", *kept[3:]]
    elif kept[0] == sys.executable:
        kept = ["python", str(Path(kept[1]).relative_to(REPO)), *kept[2:]]
    return shlex.join(kept)


# --------------------------------------------------------------------------- running


def run(name: str, implementation: str, seed: int, data: Path, *, smoke: bool = False,
        checkpoints: Path | None = None) -> dict[str, Any]:
    """Run one command; its figures (validation curve, test accuracy, wall time). With
    ``checkpoints``, an fnn run writes its checkpoint there after every epoch and resumes
    from it if it exists (a long batch survives being stopped; the result is the same)."""
    row = ROWS[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = COMMANDS[implementation](row, data, seed, out)
        if checkpoints is not None and implementation == "fnn":
            command += [f"--checkpoint={checkpoints / f'{name}-seed{seed}.json'}", "--resume"]
        if smoke:
            command = [re.sub(r"^--epochs=\d+$", "--epochs=1", c) for c in command]
            command += ["--limit=300"] if implementation != "fnn" else []
        code, stdout, stderr, wall, cpu = measured(
            command, env={**os.environ, **ONE_THREAD, "PYTHONPATH": str(REPO)})
        if code:
            raise RuntimeError(f"{shlex.join(command)} failed ({code}):\n"
                               f"{stdout[-2000:]}{stderr[-4000:]}")
        figures = (_fnn_figures(out, stdout) if implementation == "fnn"
                   else json.loads(out.read_text()))
        history = out.read_text() if implementation == "fnn" else None
    curve = figures["validation_curve"]
    best = max(range(len(curve)), key=curve.__getitem__)
    return {"row": name, "implementation": implementation, "seed": seed,
            "final_validation": curve[-1], "best_validation": curve[best], "best_epoch": best + 1,
            "epochs_run": len(curve), "test": figures["test"], "wall_s": wall, "cpu_s": cpu,
            "validation_curve": curve, "command": shown(command, row.dataset),
            "history": history}


def measured(command: list[str], env: dict[str, str]) -> tuple[int, str, str, float, float]:
    """Run ``command``: its exit code, output, error output, wall seconds and CPU seconds
    (user + system, from the kernel's accounting of that process: unlike the wall time, not
    stretched by other work on a shared machine)."""
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=REPO, env=env) as proc, ThreadPoolExecutor(2) as readers:
        stdout_pipe, stderr_pipe = proc.stdout, proc.stderr  # PIPE: both are files
        out = readers.submit(stdout_pipe.read)  # type: ignore[union-attr]
        err = readers.submit(stderr_pipe.read)  # type: ignore[union-attr]
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = out.result(), err.result()
    return (proc.returncode, stdout, stderr, time.perf_counter() - start,
            usage.ru_utime + usage.ru_stime)


def _fnn_figures(history: Path, stdout: str) -> dict[str, Any]:
    records = json.loads(history.read_text())["records"]
    found = re.search(r"final test accuracy: (\d+)/(\d+)", stdout)
    if found is None:
        raise RuntimeError(f"no test accuracy in fnn train's output:\n{stdout[-2000:]}")
    return {"validation_curve": [r["evaluation_accuracy"] for r in records],
            "test": int(found[1]) / int(found[2])}


# --------------------------------------------------------------------------- the tables


def stats(values: Sequence[float]) -> str:
    """'mean ± sd (min–max)' of fractions, in percent."""
    pct = [100 * v for v in values]
    sd = statistics.stdev(pct) if len(pct) > 1 else 0.0
    return f"{statistics.fmean(pct):.2f} ± {sd:.2f} ({min(pct):.2f}–{max(pct):.2f})"


def _cell(runs: list[dict[str, Any]], key: str) -> str:
    return stats([r[key] for r in runs]) if runs else ""


def book_table(by: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    """The book's rows: the book's figure, network2's algorithm and fnn, over the same seeds."""
    header = ("| setting | book | network2: final validation % | fnn: final validation % | "
              "network2: best validation % (epoch) | fnn: best validation % (epoch) | "
              "network2: test % | fnn: test % |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for name, row in ROWS.items():
        if row.group != "book":
            continue
        n2, ours = by.get((name, "network2"), []), by.get((name, "fnn"), [])
        lines.append(f"| {row.title} | {row.book:.2f} | {_cell(n2, 'final_validation')} | "
                     f"{_cell(ours, 'final_validation')} | {_best(n2)} | {_best(ours)} | "
                     f"{_cell(n2, 'test')} | {_cell(ours, 'test')} |")
    return "\n".join(lines)


def _best(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return ""
    epochs = sorted(r["best_epoch"] for r in runs)
    return f"{_cell(runs, 'best_validation')} ({epochs[0]}–{epochs[-1]})"


def _time(runs: list[dict[str, Any]]) -> str:
    """Minutes per run: CPU time where it was measured (one thread: the time on an idle
    machine), else wall time (marked)."""
    if all("cpu_s" in r for r in runs):
        return f"{statistics.fmean(r['cpu_s'] for r in runs) / 60:.1f} min CPU"
    return f"{statistics.fmean(r['wall_s'] for r in runs) / 60:.1f} min wall"


def rows_table(by: dict[tuple[str, str], list[dict[str, Any]]], group: str) -> str:
    """Every implementation of the group's rows: validation, test, time, the command."""
    header = ("| setting | implementation | seeds | final validation % | best validation % "
              "(epoch) | test % | time / run | command (seed 0) |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for name, row in ROWS.items():
        if row.group != group:
            continue
        for implementation in row.implementations:
            runs = by.get((name, implementation), [])
            if runs:
                lines.append(f"| {row.title} | {implementation} | {len(runs)} | "
                             f"{_cell(runs, 'final_validation')} | {_best(runs)} | "
                             f"{_cell(runs, 'test')} | {_time(runs)} | "
                             f"`{_as_shown(runs[0]['command'], row.dataset)}` |")
    return "\n".join(lines)


def _as_shown(command: str, dataset: str) -> str:
    """A stored command with its data where a reader's checkout has them (runs stored before
    ``shown`` did this name the machine's own path)."""
    return re.sub(r"--data[= ]\S+", f"--data={SHOWN[dataset]}", command)


def tables(stored: dict[str, Any]) -> str:
    """All tables, in Markdown."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in sorted(stored["runs"], key=lambda r: (ORDER.get(r["row"], 99), r["seed"])):
        by.setdefault((r["row"], r.get("implementation", "fnn")), []).append(r)
    return "\n\n".join([
        "### The book's chapter-3 runs, as distributions over 5 seeds\n\n" + book_table(by),
        "### The book's rows, each implementation: time per run and command\n\n"
        + rows_table(by, "book"),
        "### fnn on MNIST\n\n" + rows_table(by, "fnn"),
        "### Fashion-MNIST\n\n" + rows_table(by, "fashion")])


def with_table(readme: str, text: str) -> str:
    """``readme`` with ``text`` between the MARKERS (unchanged without them).

    >>> with_table(f"a\\n{MARKERS[0]}\\nold\\n{MARKERS[1]}\\nb", "new").splitlines()[3]
    'new'
    """
    start, end = readme.find(MARKERS[0]), readme.find(MARKERS[1])
    if start < 0 or end < start:
        return readme
    return f"{readme[:start + len(MARKERS[0])]}\n\n{text}\n\n{readme[end:]}"


def figures(stored: dict[str, Any], out: Path) -> list[Path]:
    """``fnn plot`` of each fnn row's seed-0 history (needs matplotlib)."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for r in stored["runs"]:
        if r.get("implementation", "fnn") == "fnn" and r["seed"] == 0 and r.get("history"):
            with tempfile.TemporaryDirectory() as tmp:
                history = Path(tmp) / "history.json"
                history.write_text(r["history"])
                png = out / f"{r['row']}.png"
                subprocess.run([sys.executable, "-m", "fnn", "plot", str(history), "-o",
                                str(png)], check=True, capture_output=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
                made.append(png)
    return made


# --------------------------------------------------------------------------- smoke data


def smoke_data(directory: Path) -> dict[str, Path]:
    """A tiny mnist.pkl.gz in network2's layout (300/100/100 examples of fnn's embedded
    sample), standing in for every dataset: a smoke run checks the commands, not the data
    (the IDX loader has its own tests, on the real Fashion-MNIST files too)."""
    import gzip
    import pickle

    import numpy as np

    from fnn.datasets import load_sample
    sample = load_sample()
    x, labels = sample.training.x, sample.training.labels
    parts = [(x[a:b].astype(np.float32), labels[a:b].astype(np.int64))
             for a, b in ((0, 300), (300, 400), (400, 500))]
    pkl = directory / "mnist.pkl.gz"
    with gzip.open(pkl, "wb") as f:
        pickle.dump(tuple(parts), f, protocol=2)
    return dict.fromkeys(DATASETS, pkl)


# --------------------------------------------------------------------------- main


def _load() -> dict[str, Any]:
    return json.loads(STORE.read_text()) if STORE.exists() else {"runs": []}


def _save(stored: dict[str, Any], done: list[dict[str, Any]]) -> None:
    new = {(r["row"], r.get("implementation", "fnn"), r["seed"]) for r in done}
    keep = [r for r in stored["runs"]
            if (r["row"], r.get("implementation", "fnn"), r["seed"]) not in new]
    stored = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                          "platform": platform.platform()}, "runs": keep + done}
    STORE.write_text(json.dumps(stored, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default="", help=f"comma list of {', '.join(ROWS)}")
    p.add_argument("--implementations", default="",
                   help="comma list of fnn, network2, sklearn (default: each row's own)")
    p.add_argument("--seeds", default="", help="comma list (default: each row's own)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time, one thread each")
    p.add_argument("--table", action="store_true",
                   help="write the tables and figures of the stored runs")
    p.add_argument("--checkpoints", type=Path, default=None, metavar="DIR",
                   help="fnn runs checkpoint every epoch in DIR and resume from it")
    p.add_argument("--merge", type=Path, nargs="+", default=[], metavar="FILE",
                   help="add the runs stored in other results.json files (batches run in other "
                        "checkouts); a run of the same row, implementation and seed is replaced")
    p.add_argument("--smoke", action="store_true",
                   help="run every row's commands for one epoch on a few hundred examples")
    args = p.parse_args(argv)
    for other in args.merge:
        runs = json.loads(other.read_text())["runs"]
        _save(_load(), runs)
        print(f"merged {len(runs)} runs from {other}")
    names = [n for n in args.rows.split(",") if n] or (list(ROWS) if args.smoke else [])
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        p.error(f"unknown row {unknown[0]!r}; expected one of {list(ROWS)}")
    wanted = {i for i in args.implementations.split(",") if i}
    jobs = [(n, i, s) for n in names for i in ROWS[n].implementations
            if not wanted or i in wanted
            for s in ([int(x) for x in args.seeds.split(",")] if args.seeds else
                      ROWS[n].seeds[:1] if args.smoke else ROWS[n].seeds)]
    with tempfile.TemporaryDirectory() as tmp:
        data = smoke_data(Path(tmp)) if args.smoke else DATASETS
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run, n, i, s, data[ROWS[n].dataset], smoke=args.smoke,
                                   checkpoints=args.checkpoints) for n, i, s in jobs]
            done = []
            for (n, i, s), future in zip(jobs, futures):
                result = future.result()
                done.append(result)
                if not args.smoke:  # stored as each run ends: a long batch can be stopped
                    _save(_load(), [result])
                print(f"{n} {i} seed {s}: final validation "
                      f"{100 * result['final_validation']:.2f}%, test "
                      f"{100 * result['test']:.2f}% [{result['wall_s']:.0f} s wall, "
                      f"{result['cpu_s']:.0f} s CPU]", flush=True)
    if args.smoke:
        return 0
    if args.table or not (done or args.merge):
        stored = _load()
        text = tables(stored)
        TABLE.write_text(text + "\n")
        if README.exists():
            README.write_text(with_table(README.read_text(), text))
        print(text)
        for png in figures(stored, FIGURES):
            print(f"wrote {png.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
