"""Every file barenet writes, and every file it reads from a folder it does not trust.

Writing: a file is written to a temporary file in the same folder, flushed to
disk and then renamed over the target, so a crash at any moment leaves either the
old file or the new one, never half of one. A file barenet did not make is never
replaced: :func:`write_new` links the finished file into place, which fails if
the name is taken, and :func:`write_beside` picks a free name.

Reading from run and sample folders: :func:`read_regular` follows no symbolic
link, reads only regular files and at most a stated number of bytes;
:func:`real_folder` refuses a symbolic link where a folder is expected.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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
def atomic_write(path: str | os.PathLike, mode: str = "wb", *,
                 replace: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success move it to ``path``.

    With ``replace`` the move is a rename over whatever ``path`` was (a file of
    barenet's own, such as a run's checkpoint). Without it the finished file is
    hard-linked to ``path``, which fails with :class:`FileExistsError` if the name
    is taken, by a file, a folder or a symbolic link, even one made a moment ago.

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
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, FileExistsError):
            raise
        if isinstance(exc, OSError):
            if exc.errno == errno.ENOSPC:
                raise BarenetError(f"disk full while writing {path}; free some space "
                                   "and run again (the previous file is intact)") from None
            raise BarenetError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _link_new(tmp: str, path: Path) -> None:
    """Give the finished temporary file ``tmp`` the name ``path`` only if it is free."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:  # a file system without hard links: create exclusively, copy
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                out.write(block)
    os.unlink(tmp)


def write_bytes(path: str | os.PathLike, data: bytes, *, replace: bool = True) -> None:
    """Atomically write ``data`` to ``path`` (``replace``: see :func:`atomic_write`)."""
    with atomic_write(path, "wb", replace=replace) as handle:
        handle.write(data)


def write_new(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``, which must not exist.

    Raises
    ------
    BarenetError
        ``path`` exists: barenet never replaces a file it did not make.
    """
    try:
        write_bytes(path, data, replace=False)
    except FileExistsError:
        raise BarenetError(f"{shown(path)} already exists and barenet replaces no file it did "
                           "not make; move it away or choose another name") from None


#: Most tries of :func:`write_beside` at finding a free name.
MAX_NAME_TRIES = 1000


def write_beside(folder: str | os.PathLike, stem: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` as a new file ``folder/<stem><suffix>``, or ``<stem>-2<suffix>``,
    ``-3``... if the name is taken: never over an existing file. Returns the path written.
    """
    for n in range(1, MAX_NAME_TRIES + 1):
        path = Path(folder) / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            write_bytes(path, data, replace=False)
        except FileExistsError:
            continue
        return path
    raise BarenetError(f"{shown(folder)} already holds {stem}{suffix} and "
                       f"{MAX_NAME_TRIES - 1} numbered copies; choose another folder")


def real_folder(path: str | os.PathLike, what: str) -> Path:
    """``path`` if it is a real folder or does not exist yet, never a symbolic link.

    Raises
    ------
    BarenetError
        ``path`` is a symbolic link, or exists and is not a folder.
    """
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise BarenetError(f"cannot use the {what} {shown(path)} ({exc.strerror or exc})") \
            from None
    if stat.S_ISLNK(mode):
        raise BarenetError(f"the {what} {shown(path)} is a symbolic link, and barenet follows "
                           "none inside a run or samples folder; replace it with a real folder")
    if not stat.S_ISDIR(mode):
        raise BarenetError(f"the {what} {shown(path)} is not a folder; move it away")
    return path


def open_regular(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    """``os.open`` that follows no symbolic link at the last step and accepts only a regular
    file. Returns the descriptor.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (and ``flags`` has no ``O_CREAT``).
    BarenetError
        ``path`` is a symbolic link, a folder, a device, a FIFO or a socket.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BarenetError(f"{shown(path)} is a symbolic link, and barenet follows none "
                               "inside a run or samples folder; replace it with the file "
                               "itself") from None
        if isinstance(exc, FileNotFoundError):
            raise
        raise BarenetError(f"cannot open {shown(path)} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BarenetError(f"{shown(path)} is not a regular file; move it away")
    return fd


def read_regular(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, following no
    symbolic link (:func:`open_regular`).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    BarenetError
        Not a regular file, a symbolic link, unreadable, or larger than ``limit``.
    """
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        try:  # the size first: a sparse file of gigabytes is refused without reading it
            data = handle.read(limit + 1) if os.fstat(fd).st_size <= limit else None
        except OSError as exc:
            raise BarenetError(f"cannot read {shown(path)} ({exc.strerror or exc})") from None
    if data is None or len(data) > limit:
        raise BarenetError(f"{shown(path)} is larger than the {limit:,} bytes a {what} may "
                           "have; it was not written by barenet")
    return data


def shown(path: str | os.PathLike) -> str:
    """A path as it may be printed: control characters (ESC, CR, LF...) and bytes that are
    not UTF-8 escaped as ``\\xNN``, so a file name can neither forge an output line nor
    fail on a strict UTF-8 terminal."""
    return printable(os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path))


def printable(text: str) -> str:
    """``text`` with control characters, lone surrogates (undecodable bytes of a file name)
    and other unprintable characters replaced by ``\\xNN`` / ``\\uNNNN`` escapes."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


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
        with tempfile.TemporaryFile(dir=folder):  # a fresh name: no file of the user's is touched
            pass
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
