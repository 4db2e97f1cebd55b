"""Run fnn's fuzz targets under atheris (libFuzzer), one after another, each for a given time.

    python tests/fuzz/run.py --seconds 60                 # every target, 60 s each
    python tests/fuzz/run.py pickle idx --seconds 600 --work /tmp/fuzz   # keep the corpora
    python tests/fuzz/run.py --one pickle -- -runs=1000   # one target in this process
    coverage run tests/fuzz/run.py --replay /tmp/fuzz     # the corpora once, for coverage.py

Each target runs in its own process, seeded with its valid files (``targets``) and with the
corpus already in ``--work`` (default: a new temporary folder, kept and named at the end). Only fnn's modules are
instrumented, so libFuzzer's ``cov`` counts edges in fnn's code. A finding is any exception
outside the contract (``contract``), a hang (``-timeout``, 20 s per input) or memory above the
bound; its input is kept in ``WORK/TARGET/artifacts``. Prints one line per target (seconds,
executions, coverage edges ``cov``, features ``ft``, corpus size, peak RSS, findings) and exits
1 if any target found something. Needs the ``fuzz`` extra (``pip install -e ".[fuzz]"``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
_STATS = re.compile(r"stat::(\w+):\s+(\d+)")
_COVERAGE = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)/")


def _fuzz_one(name: str, libfuzzer_args: list[str]) -> None:
    """Fuzz ``name`` in this process (atheris takes over; it exits when done)."""
    import atheris

    with atheris.instrument_imports(include=["fnn"]):
        import fnn.checkpoint
        import fnn.datasets
        import fnn.serialization
        import fnn.sweep.results  # noqa: F401 - imported here to be instrumented
    from tests.fuzz import mutators
    from tests.fuzz.targets import TARGETS

    def libfuzzer_mutate(data: bytes, max_size: int) -> bytes:
        # looked up at each call: atheris rebinds atheris.Mutate when fuzzing starts, and the
        # function it had before ends the process
        return bytes(atheris.Mutate(data, max_size))

    mutators.use_libfuzzer(libfuzzer_mutate)
    target = TARGETS[name]
    scratch = Path(tempfile.mkdtemp(prefix=f"fnn-fuzz-{name}-",
                                    dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    atheris.Setup([sys.argv[0], *libfuzzer_args], lambda data: target.check(data, scratch),
                  custom_mutator=target.mutate)
    atheris.Fuzz()


def _campaign(name: str, seconds: int, work: Path, extra: list[str]) -> dict[str, object]:
    """Run target ``name`` for ``seconds`` in a child process; its figures from libFuzzer."""
    from tests.fuzz.targets import TARGETS

    target = TARGETS[name]
    seeds, corpus, artifacts = (work / name / part for part in ("seeds", "corpus", "artifacts"))
    for folder in (seeds, corpus, artifacts):
        folder.mkdir(parents=True, exist_ok=True)
    for seed_name, data in target.seeds().items():
        (seeds / seed_name).write_bytes(data)
    before = set(artifacts.iterdir())
    command = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--",
               str(corpus), str(seeds), f"-max_total_time={seconds}",
               f"-max_len={target.max_len}", "-timeout=20", "-rss_limit_mb=4096",
               f"-artifact_prefix={artifacts}/", "-print_final_stats=1", *extra]
    started = time.monotonic()
    with (work / name / "log.txt").open("w") as log:
        try:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=_ROOT,
                                  timeout=seconds + 300, check=False).returncode
        except subprocess.TimeoutExpired:
            code = -1
    text = (work / name / "log.txt").read_text(errors="replace")
    stats = {k: int(v) for k, v in _STATS.findall(text)}
    coverage = _COVERAGE.findall(text)
    cov, ft, corp = map(int, coverage[-1]) if coverage else (0, 0, 0)
    found = sorted(p.name for p in set(artifacts.iterdir()) - before)
    return {"target": name, "seconds": round(time.monotonic() - started),
            "executions": stats.get("number_of_executed_units", 0),
            "exec_per_second": stats.get("average_exec_per_sec", 0), "cov": cov, "ft": ft,
            "corpus": corp, "peak_rss_mb": stats.get("peak_rss_mb", 0), "exit_code": code,
            "findings": found}


def _replay(work: Path, names: list[str]) -> int:
    """Run every kept input of ``work`` (seeds, corpus, findings) through its target once,
    without atheris: for coverage.py (``coverage run tests/fuzz/run.py --replay WORK``)."""
    from tests.fuzz.targets import TARGETS

    failed = 0
    for name in names or TARGETS:
        inputs = sorted(p for part in ("seeds", "corpus", "artifacts")
                        for p in (work / name / part).glob("*") if p.is_file())
        for path in inputs:
            try:
                TARGETS[name].check(path.read_bytes())
            except Exception as e:  # noqa: BLE001 - a finding, reported and counted
                failed += 1
                print(f"{name}: {path.name}: {type(e).__name__}: {str(e)[:200]}")
        print(f"{name}: {len(inputs)} inputs replayed")
    return int(failed > 0)


def main(argv: list[str] | None = None) -> int:
    """Run the targets named (default: all) and print their figures; 1 if any found something."""
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    parser.add_argument("--seconds", type=int, default=60, help="time per target")
    parser.add_argument("--work", type=Path, help="keep corpora, logs and findings here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--replay", type=Path, metavar="WORK",
                        help="run the inputs kept in WORK once, without atheris")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # before anything imports fnn, so that atheris instruments it
        _fuzz_one(args.one, extra)
        return 0
    from tests.fuzz.targets import TARGETS

    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; expected some of {list(TARGETS)}")
    if args.replay:
        return _replay(args.replay, args.targets)
    work = args.work or Path(tempfile.mkdtemp(prefix="fnn-fuzz-"))  # kept: it holds findings
    rows = [_campaign(name, args.seconds, work, extra) for name in args.targets or TARGETS]
    print(f"{'target':<11}{'s':>5}{'execs':>10}{'exec/s':>8}{'cov':>6}{'ft':>7}{'corpus':>8}"
          f"{'MiB':>6}  findings")
    for r in rows:
        print(f"{r['target']:<11}{r['seconds']:>5}{r['executions']:>10}{r['exec_per_second']:>8}"
              f"{r['cov']:>6}{r['ft']:>7}{r['corpus']:>8}{r['peak_rss_mb']:>6}  "
              f"{', '.join(r['findings']) or ('none' if r['exit_code'] == 0 else 'exit ' + str(r['exit_code']))}")
    print(f"corpora, logs (TARGET/log.txt) and findings (TARGET/artifacts): {work}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return int(any(r["findings"] or r["exit_code"] != 0 for r in rows))


if __name__ == "__main__":
    if str(_ROOT) not in sys.path:  # run as a script: make the tests package importable
        sys.path.insert(0, str(_ROOT))
    sys.exit(main())
