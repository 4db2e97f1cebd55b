"""``python -m fnn``: the same as the ``fnn`` command."""

from fnn.cli import main_exit

main_exit()
