"""The fast paths, the only place threads appear.

Each layer file in :mod:`barenet.nn.layers` starts with its textbook version; what makes
it fast lives here, as functions of arrays with documented shapes: ``conv.py``
(convolution over im2col columns), ``maxpool.py``, ``batchnorm.py``, the windows they
share (``im2col.py``), and the thread pool (``parallel.py``).
"""
