"""The ways an epoch can run, and how training chooses one.

An ``Engine`` declares what it covers (``supports``), runs an epoch (``epoch``) and can step
through one a mini-batch at a time (``steps``, to name the batch where training diverged).
Its ``family`` says which bits it gives: every engine of the ``numpy`` family gives the
reference fold's bytes; the ``numba`` family (the compiled epoch) gives its own, within
rounding of them (see ``fnn.training.compiled``). Records and checkpoints keep the family.

>>> [engine.name for engine in ENGINES]
['numba', 'numpy', 'reference']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from toolz import accumulate

from fnn.data import Batch
from fnn.errors import ConfigError
from fnn.params import Params
from fnn.training import compiled, fastpath
from fnn.training.config import TrainConfig
from fnn.training.reference import Carry, EpochStreams, epoch_items, run_epoch, stepper

__all__ = ["ENGINES", "FAMILIES", "NUMBA", "NUMPY", "REFERENCE", "Engine", "choose"]

FAMILIES = ("numpy", "numba")
"""The engine families: engines of one family give the same bytes."""


class Engine(NamedTuple):
    """A way to run one epoch (see the module docstring)."""

    name: str
    family: str
    supports: Callable[[Params, Batch, TrainConfig], bool]
    epoch: Callable[..., Carry]
    steps: Callable[[Carry, Batch, TrainConfig, EpochStreams], Iterator[Carry]]


def _always(params: Params, data: Batch, config: TrainConfig) -> bool:  # noqa: ARG001
    return True


def reference_steps(carry: Carry, data: Batch, config: TrainConfig,
                    streams: EpochStreams) -> Iterator[Carry]:
    """The carry before the epoch and after each of its mini-batches, by the reference fold."""
    step = stepper(config, data.x.shape[0], len(carry[0].weights) - 1)
    steps: Iterator[Carry] = accumulate(step, epoch_items(carry[0], data, config, streams),
                                        carry)
    return steps


REFERENCE = Engine("reference", "numpy", _always, run_epoch, reference_steps)
"""The pure fold of ``run_epoch``: runs anything, a user's own values included."""
NUMPY = Engine("numpy", "numpy", fastpath.supports, fastpath.fast_epoch, reference_steps)
"""``fastpath.fast_epoch``: fnn's own values, the reference's bytes, faster."""
NUMBA = Engine("numba", "numba", compiled.supports, compiled.compiled_epoch,
               compiled.compiled_steps)
"""``compiled.compiled_epoch`` (``fnn[jit]``): what NUMPY covers, compiled; its own bits."""
ENGINES: tuple[Engine, ...] = (NUMBA, NUMPY, REFERENCE)
"""The engines training tries, in order; the reference fold supports everything."""


def choose(params: Params, data: Batch, config: TrainConfig) -> Engine:
    """The engine for this run: the first that supports it, skipping the compiled one when
    ``config.jit`` is False; when it is True, the compiled one or a ``ConfigError`` saying
    why not."""
    if config.jit is True and not NUMBA.supports(params, data, config):
        why = ("numba is not installed (pip install 'fnn[jit]')" if not compiled.available()
               else "the compiled epoch covers fnn's own activations, costs and optimizers "
                    "on C-contiguous float arrays of one dtype, and this run is not one")
        raise ConfigError(f"jit=True, but {why}")
    return next(e for e in ENGINES if (config.jit is not False or e is not NUMBA)
                and e.supports(params, data, config))
