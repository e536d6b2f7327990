"""What NumPy's BLAS is, for the benchmarks' reports: library, kernels and threads.

The kernels matter as much as the thread count: OpenBLAS picks them for the
CPU when NumPy loads, and ``OPENBLAS_CORETYPE`` overrides the choice. Some of
the project's machines set ``OPENBLAS_CORETYPE=Haswell`` (with
``OPENBLAS_L2_SIZE``) for the sake of older OpenBLAS builds; on their AVX-512
CPUs NumPy's own OpenBLAS would pick its "SkylakeX" kernels, 1.5 times faster
on these convolutions. The figures of docs/results.md were measured with both variables
unset for the benchmark command alone::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py
"""

from __future__ import annotations

import os


def _blas_pools() -> list[dict]:
    import numpy  # noqa: F401  (loads the BLAS library that threadpoolctl inspects)
    from threadpoolctl import threadpool_info

    return [info for info in threadpool_info() if info["user_api"] == "blas"]


def blas_threads() -> int:
    """Threads NumPy's BLAS uses now (its default, or what the environment set)."""
    pools = _blas_pools()
    return pools[0]["num_threads"] if pools else 1


def blas_in_use() -> str:
    """E.g. ``"openblas 0.3.31 SkylakeX kernels, 1 thread"``, plus any override in force."""
    parts = []
    for info in _blas_pools():
        kernels = f" {info['architecture']} kernels" if info.get("architecture") else ""
        threads = info["num_threads"]
        parts.append(f"{info['internal_api']} {info['version']}{kernels}, "
                     f"{threads} thread{'s' * (threads != 1)}")
    forced = [f"{name}={os.environ[name]}" for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
              if name in os.environ]
    if forced:
        parts.append(f"set by the environment: {' '.join(forced)}")
    return "; ".join(parts) or "no BLAS found by threadpoolctl"
