"""The version of fnn, in a module of its own so that any layer can read it."""

__version__ = "0.2.0"
"""fnn's version (written into model files, checkpoints and sweep records)."""
