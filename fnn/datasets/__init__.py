"""MNIST from network2's ``mnist.pkl.gz``, from the four IDX files, or from the embedded sample.

Every loader returns ``MnistSplits(training, validation, test)``, each split a
``Labelled(x, labels)``: ``x`` is (n, 784) floats in [0, 1] (pixel / 256, exactly as in
network2's pickle) and ``labels`` int64 digits (n,). Files are checked as they are read;
anything wrong with one raises ``DatasetFormatError`` naming the file and the problem:

- ``safe_pickle``: a pickle goes through fnn's own interpreter (``pickle_machine``), whose
  only globals are stand-ins for the NumPy names an array needs; any other global raises
  ``UnsafeFileError`` before anything is called; at most ``MAX_PICKLE_BYTES`` (2 GiB)
  decompressed and ``MAX_OPCODES`` instructions, each distinct array built once;
- ``reading``: gzip is recognised by its magic bytes, and no file may hold more than
  ``MAX_DECOMPRESSED_BYTES`` (256 MiB) of data: all of an IDX file, a pickle's strings and
  arrays (network2's pickle has 210 MiB);
- ``splits``: shapes, dtypes, digits 0..9 and pixels in [0, 1] are checked in every split;
- ``idx``, ``sample``, ``locate``: the IDX files, the embedded sample, finding the data.

>>> sample = load_sample()
>>> sample.training.x.shape, sample.validation.x.shape, sample.test.labels.dtype
((10000, 784), (2000, 784), dtype('int64'))
"""

from fnn.datasets.idx import load_idx, read_idx
from fnn.datasets.locate import MNIST_ENV, find_mnist, load_mnist
from fnn.datasets.reading import MAX_DECOMPRESSED_BYTES
from fnn.datasets.safe_pickle import MAX_OPCODES, MAX_PICKLE_BYTES, load_pickle
from fnn.datasets.sample import load_sample
from fnn.datasets.splits import N_TRAINING, MnistSplits

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_OPCODES",
    "MAX_PICKLE_BYTES",
    "MNIST_ENV",
    "N_TRAINING",
    "MnistSplits",
    "find_mnist",
    "load_idx",
    "load_mnist",
    "load_pickle",
    "load_sample",
    "read_idx",
]
