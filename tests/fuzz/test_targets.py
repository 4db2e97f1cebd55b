"""The fuzz targets in the ordinary test run: seeds, kept findings, mutators and the contract.

atheris is not needed here: every seed and every input in ``regressions/`` is loaded and
checked, and a few hundred inputs per target are made by the targets' own mutators (without
libFuzzer's coverage feedback) and checked too.
"""

from __future__ import annotations

from pathlib import Path
from random import Random

import pytest

from fnn.errors import DatasetFormatError, ModelFormatError

from .contract import MESSAGE_LIMIT, Finding, check_load
from .targets import TARGETS

REGRESSIONS = Path(__file__).parent / "regressions"
KEPT = sorted((name, path) for name in TARGETS for path in (REGRESSIONS / name).glob("*"))


@pytest.mark.parametrize("name", TARGETS)
def test_every_seed_is_a_file_its_loader_reads(name):
    target = TARGETS[name]
    for seed_name, data in target.seeds().items():
        assert len(data) <= target.max_len, seed_name
        assert target.check(data) == "loaded", seed_name


@pytest.mark.parametrize(("name", "path"), KEPT, ids=[f"{n}/{p.name}" for n, p in KEPT])
def test_every_kept_finding_now_keeps_the_contract(name, path):
    for exact in (True, False):
        TARGETS[name].check(path.read_bytes(), exact=exact)


@pytest.mark.parametrize("name", TARGETS)
def test_the_mutators_are_deterministic_and_keep_to_the_size_limit(name):
    target = TARGETS[name]
    for data in target.seeds().values():
        for seed in range(20):
            out = target.mutate(data, target.max_len, seed)
            assert isinstance(out, bytes) and len(out) <= target.max_len
            assert out == target.mutate(data, target.max_len, seed)


@pytest.mark.parametrize("name", TARGETS)
def test_a_few_hundred_mutated_inputs_keep_the_contract(name, tmp_path):
    target, rng = TARGETS[name], Random(12)
    seeds = list(target.seeds().values())
    pool, outcomes = list(seeds), set()
    for _ in range(300):  # mutations of a seed, or of an earlier mutation
        data = target.mutate(rng.choice(rng.choice((seeds, pool))), target.max_len,
                             rng.randrange(2**32))
        outcomes.add(target.check(data, tmp_path))
        pool.append(data)
    assert outcomes - {"loaded"}, outcomes  # the mutations reach the loaders' errors


def _loader(raise_: BaseException | None = None, allocate: int = 0):
    def load(path):
        kept = bytearray(allocate)  # noqa: F841 - held while the load runs
        if raise_ is not None:
            raise raise_
    return load


@pytest.mark.parametrize(("load", "finding"), [
    (_loader(KeyError("k")), KeyError),
    (_loader(ModelFormatError("x.json: wrong class")), Finding),
    (_loader(DatasetFormatError("no file name here")), Finding),
    (_loader(DatasetFormatError("PATH " + "m" * (MESSAGE_LIMIT + 1))), Finding),
    (_loader(allocate=20 * 2**20), Finding),
], ids=["stray", "other-fnn-error", "unnamed", "long-message", "memory"])
def test_the_contract_reports_what_it_should(tmp_path, load, finding):
    path = tmp_path / "f"

    def named(p):  # messages of the fake loaders name the file
        try:
            load(p)
        except DatasetFormatError as e:
            raise DatasetFormatError(str(e).replace("PATH", str(p))) from None
    with pytest.raises(finding):
        check_load(named, path, DatasetFormatError, memory_bound=0, exact=True)


def test_the_contract_reports_the_safety_net_catching_a_bug(tmp_path):
    def load(path):
        try:
            {}["missing"]
        except KeyError as e:
            raise DatasetFormatError(f"{path}: could not be read") from e
    with pytest.raises(Finding, match="the safety net caught KeyError"):
        check_load(load, tmp_path / "f", DatasetFormatError, memory_bound=0, exact=False)
    assert check_load(lambda p: None, tmp_path / "f", DatasetFormatError, memory_bound=0,
                      exact=True) == "loaded"
