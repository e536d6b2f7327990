"""Mini-batches: shuffled with a seeded generator, gathered into reused buffers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import BarenetError


class Batches:
    """Iterable over the mini-batches ``(x_batch, y_batch)`` of one epoch.

    Each ``iter()`` starts a new epoch: with ``shuffle`` it draws a fresh
    permutation from ``rng``, so the same seed gives the same batches epoch
    after epoch of the same run. The last, partial batch is kept.

    Shuffled batches are gathered with ``np.take`` into two buffers allocated
    once per epoch and overwritten by the next batch: use (or copy) a batch
    before asking for the next one. Unshuffled batches are views of ``x``/``y``.

    Parameters
    ----------
    x : numpy.ndarray
        Inputs, shape (N, ...).
    y : numpy.ndarray
        Labels, shape (N,) or targets (N, K).
    batch_size : int
        Examples per batch, at least 1.
    rng : numpy.random.Generator or None
        Source of the shuffling; required when ``shuffle`` is true.
    shuffle : bool
        Visit the examples in a new random order each epoch; false keeps the
        order (for evaluation).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> for xb, yb in Batches(x_train, y_train, 128, rng):  # doctest: +SKIP
    ...     loss = step(xb, yb)
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                 rng: np.random.Generator | None = None, *, shuffle: bool = True) -> None:
        if len(x) != len(y):
            raise BarenetError(f"{len(x)} inputs but {len(y)} labels; "
                               "they must pair up one to one")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise BarenetError(f"batch size must be a positive integer, got {batch_size!r}")
        if shuffle and rng is None:
            raise ValueError("shuffled batches need a numpy.random.Generator (rng)")
        self.x = x
        self.y = y
        self.batch_size = int(batch_size)
        self.rng = rng
        self.shuffle = shuffle

    def __len__(self) -> int:
        """Number of batches per epoch, the partial one included."""
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n, size = len(self.x), self.batch_size
        if not self.shuffle:
            for start in range(0, n, size):
                yield self.x[start:start + size], self.y[start:start + size]
            return
        order = self.rng.permutation(n)
        rows = min(size, n)
        x_buf = np.empty((rows,) + self.x.shape[1:], dtype=self.x.dtype)
        y_buf = np.empty((rows,) + self.y.shape[1:], dtype=self.y.dtype)
        for start in range(0, n, size):
            index = order[start:start + size]
            k = len(index)
            # mode="clip" lets np.take write straight into ``out`` (indices are valid).
            np.take(self.x, index, axis=0, out=x_buf[:k], mode="clip")
            np.take(self.y, index, axis=0, out=y_buf[:k], mode="clip")
            yield x_buf[:k], y_buf[:k]
