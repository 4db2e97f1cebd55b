"""Fuzzing fnn's file loaders: atheris harnesses with structure-aware mutators.

``targets`` defines one target per parser entry point (``load_pickle``, ``load_idx``,
``serialization.load``, ``read_checkpoint``, ``read_results``): its seeds (valid files), its
mutator and the contract every input must keep (``contract``). ``run`` runs them under atheris
(``python tests/fuzz/run.py --seconds 60``); ``test_targets`` replays the seeds, every finding
kept in ``regressions/`` and a few hundred mutated inputs in the ordinary test run.
"""
