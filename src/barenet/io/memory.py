"""Memory: what the machine has (or the user allows), and what a model will need.

Memory, not counts, bounds what can be built: :func:`training_bytes` and
:func:`inference_bytes` estimate it before anything is allocated,
:func:`memory_budget` is what is available, :func:`check_memory` refuses in one line.
"""

from __future__ import annotations

import math
import os

from ..errors import BarenetError

#: The memory budget when the machine's available memory cannot be read.
FALLBACK_BUDGET = 2 << 30
#: Environment variable setting the memory budget (``--max-memory`` on the command line),
#: and the most it may say: a petabyte, far beyond any machine, well within an int64.
MEMORY_ENV = "BARENET_MAX_MEMORY"
MAX_MEMORY_SETTING = 1 << 50


def memory_budget(override: int | None = None) -> int:
    """Bytes a model may need: ``override`` if given, else the machine's available memory.

    Linux: ``MemAvailable`` of /proc/meminfo; elsewhere the physical memory;
    :data:`FALLBACK_BUDGET` when neither can be read. ``BARENET_MAX_MEMORY``
    (bytes, or with a K/M/G suffix) overrides it, as ``--max-memory`` does.
    """
    if override is not None:
        return int(override)
    env = os.environ.get(MEMORY_ENV)
    if env:
        return parse_bytes(env, f"${MEMORY_ENV}")
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return FALLBACK_BUDGET


def parse_bytes(text: str, name: str = "--max-memory") -> int:
    """``"512M"`` -> 536870912; plain numbers are bytes. Suffixes K, M, G, T (powers of 1024).

    Raises
    ------
    BarenetError
        Not a positive number, or more than :data:`MAX_MEMORY_SETTING`; the message
        names the setting ``name`` (a flag or an environment variable).
    """
    given = str(text)
    text = given.strip().upper().removesuffix("B")
    scale = 1
    if text[-1:] in "KMGT" and text[-1:]:
        scale = 1024 ** ("KMGT".index(text[-1]) + 1)
        text = text[:-1]
    try:
        value = float(text) * scale
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 1 <= value <= MAX_MEMORY_SETTING):
        raise BarenetError(f"{name} must be a memory size such as 512M or 4G, from 1 byte to "
                           f"{format_bytes(MAX_MEMORY_SETTING)}, got {given!r}")
    return int(value)


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024, up to TB)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def training_bytes(parameters: int, state_arrays: int, sample_values: int, batch_size: int,
                   itemsize: int) -> int:
    """Memory one training step needs, estimated.

    The weights, their gradients and ``state_arrays`` optimizer arrays per
    weight (Adam: 2), and for each of ``batch_size`` samples the activations
    kept for backward (``sample_values``) about twice over: once forward, once
    as their gradients on the way back.
    """
    return itemsize * (parameters * (2 + state_arrays) + 2 * batch_size * sample_values)


def inference_bytes(parameters: int, sample_values: int, itemsize: int,
                    batch_size: int) -> int:
    """Memory predicting one batch of ``batch_size`` images needs, estimated."""
    return itemsize * (parameters + batch_size * sample_values)


def check_memory(what: str, needed: int, budget: int,
                 remedy: str = "use smaller layers or a smaller batch") -> None:
    """Refuse ``needed`` bytes over ``budget`` in one line: ``remedy``, or allow more."""
    if needed > budget:
        raise BarenetError(f"{what} needs about {format_bytes(needed)} of memory, more than "
                           f"the {format_bytes(budget)} available; {remedy}, or allow more "
                           f"with --max-memory (or ${MEMORY_ENV})")
