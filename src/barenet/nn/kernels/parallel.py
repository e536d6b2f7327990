"""Channel slices of a layer's work, and batches of a prediction, on several threads.

Only the matrix products use more than one core through BLAS; pooling,
batch norm and im2col are NumPy loops, which release the interpreter lock. A
layer hands :func:`over_channels` a function of a channel slice; it runs the
slices on a small pool of threads, and itself on the first one. Each channel's
numbers are computed exactly as on one thread, so results do not depend on the
thread count (the tests check it bit for bit). Prediction instead runs whole batches
on several threads at once (:func:`over_batches`), each with its own copies of the
layers' working state.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from ...errors import BarenetError

#: Below this many values a layer's work stays on one thread: handing it out costs more.
MIN_VALUES = 1 << 17
#: Matrix products are sliced at multiples of this many columns...
BLOCK = 256
#: ...into at most this many slices, each of at least this many multiply-adds (a small
#: product gains nothing from being cut).
MAX_SLICES = 4
SMALL_PRODUCT = 1 << 22

#: Most threads barenet starts: more than a machine's cores only slow the work down.
MAX_THREADS = 256
#: Environment variable setting the thread count (``--threads`` on the command line).
THREADS_ENV = "BARENET_THREADS"

T = TypeVar("T")

_state = threading.local()  # each caller thread has its own setting (predict's workers: 1)
_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def default_threads() -> int:
    """Threads for training and prediction: ``$BARENET_THREADS``, else the cores this process
    may use.

    Raises
    ------
    BarenetError
        ``$BARENET_THREADS`` is set but not a whole number from 1 to :data:`MAX_THREADS`.
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        if not (env.isascii() and env.isdigit() and 1 <= int(env) <= MAX_THREADS):
            raise BarenetError(f"${THREADS_ENV} must be a whole number of threads from 1 to "
                               f"{MAX_THREADS}, got {env!r}; set it so, or unset it to use one "
                               "thread per core")
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def threads() -> int:
    """Threads a layer may use for its work in this thread (1 unless :func:`set_threads`)."""
    return getattr(_state, "threads", 1)


def set_threads(count: int) -> None:
    """Let layers called from this thread split their work over ``count`` threads."""
    if int(count) < 1:
        raise ValueError(f"threads must be >= 1, got {count}")
    _state.threads = int(count)


def _pool(count: int) -> ThreadPoolExecutor:
    with _lock:
        if count not in _pools:
            _pools[count] = ThreadPoolExecutor(count - 1, thread_name_prefix="barenet")
        return _pools[count]


def over_channels(work: Callable[[slice], None], channels: int, values: int) -> None:
    """Call ``work(slice)`` for slices that cover ``range(channels)``, in parallel.

    ``values`` is how much data the work touches: small work runs as one slice.
    """
    count = min(threads(), channels) if values >= MIN_VALUES else 1
    if count <= 1:
        work(slice(0, channels))
        return
    bounds = [round(i * channels / count) for i in range(count + 1)]
    slices = [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
    futures = [_pool(count).submit(work, s) for s in slices[1:]]
    work(slices[0])
    for future in futures:
        future.result()


def matmul(a, b, out, *, rows: bool = False) -> None:
    """``out[...] = a @ b`` with the columns of ``b`` and ``out`` (``rows``: the rows of
    ``a`` and ``out``) cut into slices that the threads share.

    Used when BLAS itself has one thread (``barenet train --threads N`` gives its
    threads to these slices instead: two thread pools on two cores only fight).
    Where the cuts fall depends on the shapes only, never on the thread count:
    BLAS may sum a slice in another order than the whole product (OpenBLAS on AMD
    EPYC does, for every slice size), so one thread computes the same slices, one
    after the other, and the numbers are the same bits on any number of threads.
    Slices start at multiples of :data:`BLOCK` columns (16 rows).
    """
    size = out.shape[0] if rows else out.shape[1]
    step, least = (16, 64) if rows else (BLOCK, BLOCK)
    count = min(MAX_SLICES, size // least, out.size * a.shape[1] // max(SMALL_PRODUCT, 1))
    if count <= 1:
        np.matmul(a, b, out=out)
        return
    blocks = -(-size // step)
    bounds = [min(size, step * round(i * blocks / count)) for i in range(count + 1)]

    def part(first: int, every: int) -> None:
        for i in range(first, count, every):
            s = slice(bounds[i], bounds[i + 1])
            if rows:
                np.matmul(a[s], b, out=out[s])
            else:
                np.matmul(a, b[:, s], out=out[:, s])

    workers = min(threads(), count)
    futures = [_pool(workers).submit(part, i, workers) for i in range(1, workers)]
    part(0, workers)
    for future in futures:
        future.result()


@contextlib.contextmanager
def training_threads(count: int) -> Iterator[None]:
    """Within the block, layers use ``count`` threads and BLAS one.

    BLAS keeps one thread whatever ``count`` is, so that the numbers do not depend
    on it (two BLAS threads sum some products in another order).

    Two BLAS threads *and* two layer threads were slower than either (OpenBLAS's idle
    threads spin, taking the core the layer slices need): docs/results.md.
    """
    from threadpoolctl import threadpool_limits

    previous = threads()
    set_threads(count)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        set_threads(previous)


def over_batches(work: Callable[[list[int]], list[T]], starts: list[int],
                 count: int) -> list[T]:
    """``work`` over ``starts`` cut into ``count`` runs, the runs at once; results in order.

    Each run is a thread with one BLAS thread, so the numbers do not depend on
    ``count``: the same batches are computed the same way, only side by side.
    """
    if count == 1:
        return work(starts)
    from threadpoolctl import threadpool_limits

    runs = [list(run) for run in np.array_split(starts, count)]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(count) as pool:
        return [out for outs in pool.map(work, runs) for out in outs]
