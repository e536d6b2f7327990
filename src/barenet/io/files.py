"""Atomic file writing: every file barenet writes goes through here.

A file is written to a temporary file in the same folder, flushed to disk and
then renamed over the target, so a crash at any moment leaves either the old
file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..errors import BarenetError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is untouched.
    A full disk or a folder that cannot be written raises :class:`BarenetError`.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a file should get the usual mode
    except OSError as exc:
        raise BarenetError(f"cannot write {path}: {exc.strerror or exc}; "
                           "choose a folder you can write to") from None
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            if exc.errno == errno.ENOSPC:
                raise BarenetError(f"disk full while writing {path}; free some space "
                                   "and run again (the previous file is intact)") from None
            raise BarenetError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def ensure_writable_dir(path: str | os.PathLike, what: str, hint: str) -> None:
    """Create the folder ``path`` if needed and prove a file can be written in it.

    Raises
    ------
    BarenetError
        ``cannot write to the <what> <path> (<reason>); <hint>``.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        write_bytes(probe, b"ok")
        probe.unlink()
    except OSError as exc:
        raise BarenetError(f"cannot write to the {what} {folder} ({exc.strerror or exc}); "
                           f"{hint}") from None


#: A temporary file of :func:`atomic_write` this old (seconds) was left by a killed process.
STALE_SECONDS = 600


def remove_stale_temporaries(folder: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Delete what :func:`atomic_write` left behind when its process was killed (SIGKILL,
    power loss): ``.<name>.<random>.tmp`` files for the given ``names``, older than
    :data:`STALE_SECONDS` (a write in progress, by another process, is never that old).

    Returns the files removed.
    """
    removed = []
    now = time.time()
    for name in names:
        for tmp in Path(folder).glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > STALE_SECONDS:
                    tmp.unlink()
                    removed.append(tmp)
    return removed
