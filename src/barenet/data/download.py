"""Downloading dataset files: mirrors in order, SHA-256 checked, atomic.

Each file is streamed into a temporary file beside its destination while its
SHA-256 is computed; only a complete file with the expected digest is renamed
into place. A refused connection, an HTTP error, a transfer cut short, too slow
or too long, or a wrong digest moves on to the next mirror, and a failure on
every mirror raises one :class:`BarenetError` that names each mirror's problem.

Two bounds hold whatever a mirror does: a transfer stops at the file's size
(``max_bytes``), and at a deadline for the whole transfer (:func:`deadline`),
checked after every read, each of which waits at most :data:`TIMEOUT`: a mirror
sending a byte now and then, each before the socket's timeout, is cut off too.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import BarenetError
from ..io.files import atomic_write
from ..io.progress import progress_bar

#: Seconds to wait for a mirror to connect or to send the next block.
TIMEOUT = 30.0
#: Bytes per second a transfer must average (counted over the file's size): slower than
#: any mobile data link still in service.
MIN_RATE = 10_000
#: The deadline of a file of unknown size.
UNSIZED_DEADLINE = 3600.0
_BLOCK = 1 << 16


def deadline(size: int | None) -> float:
    """Seconds a whole transfer of ``size`` bytes may take: :data:`TIMEOUT` plus the file at
    :data:`MIN_RATE` (MNIST's training images: 1,021 s), or :data:`UNSIZED_DEADLINE`."""
    return UNSIZED_DEADLINE if size is None else TIMEOUT + size / MIN_RATE


class _MirrorFailed(Exception):
    """One mirror could not deliver one file (never escapes this module)."""


def _fetch(url: str, dest: Path, sha256: str, progress: bool, max_bytes: int | None,
           seconds: float | None) -> None:
    """Stream ``url`` into ``dest`` atomically; raise :class:`_MirrorFailed` on any problem.

    A mirror announcing or sending more than ``max_bytes`` is cut off there: a
    stream without Content-Length must not fill the disk. The whole transfer
    may take ``seconds`` (``None``: :func:`deadline` of the file's size).
    """
    started = time.monotonic()
    try:
        response = urllib.request.urlopen(
            url, timeout=TIMEOUT if seconds is None else min(TIMEOUT, seconds))
    except urllib.error.HTTPError as exc:
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _MirrorFailed(str(getattr(reason, "strerror", None) or reason)) from None
    with response, atomic_write(dest, "wb") as handle:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if max_bytes is not None and total is not None and total > max_bytes:
            raise _MirrorFailed(f"it announces {total} bytes, more than the {max_bytes} the "
                                "file has")
        if seconds is None:
            seconds = deadline(max_bytes if max_bytes is not None else total)
        bar = progress_bar(total, dest.name, enabled=True, unit="B", unit_scale=True,
                           unit_divisor=1000) if progress else None
        digest = hashlib.sha256()
        received = 0
        try:
            # read1: whatever one read of the socket gives, so the deadline is checked
            # between reads (read() would wait for a whole block, however slowly it came)
            while block := response.read1(_BLOCK):
                if max_bytes is not None and received + len(block) > max_bytes:
                    raise _MirrorFailed(f"it sent more than the {max_bytes} bytes the file "
                                        "has; stopped there")
                handle.write(block)
                digest.update(block)
                received += len(block)
                if bar:
                    bar.update(len(block))
                if time.monotonic() - started > seconds:
                    raise _MirrorFailed(f"too slow: {received} bytes in "
                                        f"{time.monotonic() - started:.1f} s, more than the "
                                        f"{seconds:g} s the whole transfer may take; stopped "
                                        "there")
        except (OSError, http.client.HTTPException) as exc:
            raise _MirrorFailed(f"transfer failed after {received} bytes ({exc})") from None
        finally:
            if bar:
                bar.close()
        if total is not None and received != total:
            raise _MirrorFailed(f"transfer cut short: got {received} of {total} bytes")
        if digest.hexdigest() != sha256:
            raise _MirrorFailed(f"SHA-256 mismatch: expected {sha256[:12]}..., "
                                f"got {digest.hexdigest()[:12]}...")


def download_file(filename: str, sha256: str, base_urls: Sequence[str],
                  dest_dir: str | os.PathLike, *, progress: bool | None = None,
                  max_bytes: int | None = None, seconds: float | None = None) -> Path:
    """Download one file from the first mirror that delivers it intact.

    Parameters
    ----------
    filename : str
        File name, appended to each base URL.
    sha256 : str
        Expected hex SHA-256 digest of the file.
    base_urls : sequence of str
        Mirrors to try in order, e.g. ``["https://example.org/mnist/"]``.
    dest_dir : str or os.PathLike
        Folder the file lands in (created if missing).
    progress : bool or None
        Draw a progress bar on stderr (redrawn in place on a terminal, else only its
        final line); ``None`` draws one only when stderr is a terminal.
    max_bytes : int, optional
        The file's size: a mirror sending more is cut off there and counts as failed.
    seconds : float, optional
        How long the whole transfer from one mirror may take; a slower one is cut
        off and counts as failed. ``None``: :func:`deadline` of the file's size.

    Returns
    -------
    pathlib.Path
        The downloaded file, ``dest_dir / filename``.

    Raises
    ------
    BarenetError
        If no mirror delivered the file with the expected digest; nothing is
        left behind in ``dest_dir`` then.
    """
    dest = Path(dest_dir) / filename
    if progress is None:
        progress = sys.stderr.isatty()
    problems = []
    for base in base_urls:
        url = base.rstrip("/") + "/" + filename
        print(f"downloading {url}", file=sys.stderr)
        try:
            _fetch(url, dest, sha256, progress, max_bytes, seconds)
        except _MirrorFailed as exc:
            print(f"  failed: {exc}", file=sys.stderr)
            problems.append(f"{url}: {exc}")
            continue
        return dest
    tried = "; ".join(problems) if problems else "no mirrors configured"
    raise BarenetError(f"could not download {filename} ({tried})")


def download_files(files: dict[str, str], base_urls: Sequence[str],
                   dest_dir: str | os.PathLike, *, progress: bool | None = None,
                   max_bytes: dict[str, int] | None = None) -> list[Path]:
    """Download every file of ``files`` (name -> SHA-256) not already in ``dest_dir``.

    Files already present are kept as they are. ``max_bytes`` (name -> size)
    caps each download. See :func:`download_file`.

    Returns
    -------
    list of pathlib.Path
        The paths of all the files, in the order of ``files``.
    """
    paths = []
    for filename, sha256 in files.items():
        path = Path(dest_dir) / filename
        if not path.is_file():
            download_file(filename, sha256, base_urls, dest_dir, progress=progress,
                          max_bytes=(max_bytes or {}).get(filename))
        paths.append(path)
    return paths
