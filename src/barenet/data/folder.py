"""Folders of labelled pictures, as torchvision's ImageFolder: ``<root>/<label>/<name>.png``.

The drawing app saves the user's corrected drawings this way (:func:`add_sample`,
:func:`remove_last_sample`), ``barenet finetune`` learns from such a folder and
``barenet evaluate --images`` tests on one (:func:`read_folder`). Each picture is
kept as it was taken (the app's raw canvas, a photo); the 28x28 the network sees
is derived from it again by :func:`barenet.vision.preprocess`.

The writer and every reader follow the same rules:

- a class's folder is named by :func:`label_folder` ("T-shirt/top" ->
  ``T-shirt%2Ftop``), never by the class name itself;
- no symbolic link is followed: a label folder or picture that is one is left
  out with a warning, and never written through;
- a picture file holds at most :data:`MAX_PICTURE_BYTES`, and is read once: its
  bytes are hashed and decoded, so a picture deleted or replaced meanwhile cannot
  make the two disagree (a deleted one is left out with a warning).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BarenetError
from ..io.files import ensure_writable_dir, read_regular, real_folder, shown, write_bytes
from ..io.memory import format_bytes
from ..model.labels import label_folder

#: Picture files read from a folder (by suffix, any case).
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Most pictures read from one folder (a bound on time and memory).
MAX_PICTURES = 100_000
#: Largest picture file written to or read from a folder: a drawing's PNG takes a few kB,
#: a phone's photo a few MB (the decoder bounds the pixels, this the bytes read whole).
MAX_PICTURE_BYTES = 64 << 20
#: Most tries of :func:`add_sample` at finding a free name.
_MAX_NAME_TRIES = 1000
_LINK = "a symbolic link, and barenet follows none inside a samples folder"


@dataclass
class LabelledPictures:
    """Pictures of a folder, preprocessed: what the network sees, their labels and files.

    Attributes
    ----------
    images : ndarray float32, shape (N, 28, 28)
        In [0, 1], bright ink on black, as :func:`barenet.vision.preprocess` makes them.
    labels : ndarray int64, shape (N,)
        Indices into ``class_names``.
    files : list of Path
    class_names : list of str
    fingerprint : str
        SHA-256 over the class name, file name and bytes of every picture, in the
        order of ``files`` (recorded by ``finetune``): of the bytes decoded, read once.
    skipped : list of (Path, str)
        Pictures left out and why, each message starting with the path: links,
        folders inside label folders, pictures deleted while the folder was read,
        and (``skip=True``) pictures that cannot be read.
    """

    images: np.ndarray
    labels: np.ndarray
    files: list[Path]
    class_names: list[str]
    fingerprint: str
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Pictures per class name."""
        found = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, found, strict=True)}


class _Picture(io.BytesIO):
    """A picture's bytes, for the decoder, named (as a file object is) by the file they were
    read from, which its messages name."""

    def __init__(self, data: bytes, path: Path) -> None:
        super().__init__(data)
        self.name = shown(path)


def _scan(root: Path) -> tuple[list[tuple[str, Path]], list[tuple[Path, str]]]:
    """``(label folder, file)`` for every picture in the label folders of ``root``, sorted,
    and what was left out, with why: symbolic links, folders inside label folders, label
    folders that cannot be listed. Nothing when ``root`` is not a folder; BarenetError
    when it cannot be listed."""
    found: list[tuple[str, Path]] = []
    skipped: list[tuple[Path, str]] = []

    def left_out(path: Path, why: str) -> None:
        skipped.append((path, f"{shown(path)}: {why}"))

    if not root.is_dir():
        return found, skipped
    for folder in _entries(root):
        if folder.is_symlink():
            left_out(Path(folder.path), _LINK)
            continue
        if not folder.is_dir(follow_symlinks=False):
            continue
        try:
            entries = _entries(Path(folder.path))
        except BarenetError as exc:
            skipped.append((Path(folder.path), str(exc)))
            continue
        for entry in entries:
            if entry.is_symlink():
                left_out(Path(entry.path), _LINK)
            elif entry.is_dir(follow_symlinks=False):
                left_out(Path(entry.path), f"a folder inside the label folder {folder.name!r}; "
                                           "pictures go in the label folder itself")
            elif entry.is_file(follow_symlinks=False) and \
                    os.path.splitext(entry.name)[1].lower() in PICTURE_SUFFIXES:
                found.append((folder.name, Path(entry.path)))
    return found, skipped


def _entries(folder: Path) -> list[os.DirEntry]:
    """The entries of ``folder``, sorted by name."""
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as exc:
        raise BarenetError(f"{shown(folder)}: cannot list it ({exc.strerror or exc})") from None


def picture_files(root: Path) -> tuple[list[tuple[str, Path]], list[tuple[Path, str]]]:
    """``(label folder, file)`` for every picture in the label folders of ``root``, sorted,
    and what was left out with why (symbolic links, folders in label folders).

    Raises
    ------
    BarenetError
        ``root`` is missing or not a folder, holds pictures outside label folders,
        or holds no pictures at all.
    """
    root = Path(root)
    if not root.is_dir():
        raise BarenetError(f"{shown(root)}: no such folder (expected <folder>/<label>/<name>.png, "
                           "e.g. samples/7/one.png)")
    loose = [entry.name for entry in _entries(root) if entry.is_file(follow_symlinks=False)
             and os.path.splitext(entry.name)[1].lower() in PICTURE_SUFFIXES]
    if loose:
        raise BarenetError(f"{shown(root)} holds pictures outside label folders ({loose[0]}, "
                           f"...); put each in a folder named after its class, e.g. "
                           f"{shown(root / '7' / loose[0])}")
    found, skipped = _scan(root)
    if not found:
        raise BarenetError(f"{shown(root)} holds no pictures (expected <label>/<name>.png "
                           f"files, e.g. {shown(root / '7' / 'one.png')})")
    if len(found) > MAX_PICTURES:
        raise BarenetError(f"{shown(root)} holds {len(found):,} pictures, more than the "
                           f"{MAX_PICTURES:,} barenet reads from one folder")
    return found, skipped


def read_folder(root: str | os.PathLike, class_names: Sequence[str],
                skip: bool = False) -> LabelledPictures:
    """Read and preprocess every picture of an ImageFolder whose labels are ``class_names``.

    Each class's pictures are in its :func:`label_folder`. Each file is read once
    (at most :data:`MAX_PICTURE_BYTES`, no symbolic link), and those bytes are
    hashed and decoded. ``skipped`` lists what was left out: links, folders in label
    folders, pictures deleted while the folder was read, and, with ``skip=True``,
    pictures that cannot be read or hold no digit.

    Raises
    ------
    BarenetError
        A layout problem (:func:`picture_files`), a label folder that is not one
        of the classes', a class name no folder can have, or (without ``skip``) a
        picture that cannot be read or holds no digit (the message names the
        file); no picture left.
    """
    from ..vision import preprocess

    names = [str(n) for n in class_names]
    folders = {label_folder(name): label for label, name in enumerate(names)}
    files, skipped = picture_files(Path(root))
    unknown = sorted({folder for folder, _ in files} - set(folders))
    if unknown:
        raise BarenetError(f"{shown(root)}: folder {unknown[0]!r} is not one of the model's "
                           f"classes (their folders: {', '.join(folders)}); rename or remove it")
    digest = hashlib.sha256()
    images, labels, kept = [], [], []
    for folder, path in files:
        try:
            data = read_regular(path, MAX_PICTURE_BYTES, "picture in a samples folder")
            images.append(preprocess(_decode(data, path)))
        except FileNotFoundError:
            skipped.append((path, f"{shown(path)}: deleted while the folder was read"))
            continue
        except BarenetError as exc:
            message = str(exc) if str(exc).startswith(shown(path)) else f"{shown(path)}: {exc}"
            if not skip:
                raise BarenetError(f"{message}; remove or replace it") from None
            skipped.append((path, message))
            continue
        labels.append(folders[folder])
        kept.append(path)
        digest.update(f"{names[folders[folder]]}/{path.name}\0".encode())
        digest.update(data)
    if not kept:
        raise BarenetError(f"{shown(root)}: none of its {len(files)} pictures holds a readable "
                           "digit")
    return LabelledPictures(np.stack(images), np.array(labels, np.int64), kept, names,
                            digest.hexdigest(), skipped)


def _decode(data: bytes, path: Path) -> np.ndarray:
    """The picture ``data`` read from ``path``, decoded; errors name ``path``."""
    from ..vision.images import load_image

    return load_image(_Picture(data, path))


def add_sample(root: str | os.PathLike, label: str, picture: np.ndarray) -> Path:
    """Save ``picture`` (a uint8 array) as a new PNG in the :func:`label_folder` of class
    ``label`` in ``root``; returns its path.

    Names are the time to the microsecond, so samples sort in the order taken; no
    file is ever replaced.

    Raises
    ------
    BarenetError
        A class name no folder can have, a label folder that is a symbolic link or
        cannot be written, a PNG larger than :data:`MAX_PICTURE_BYTES`.
    """
    from PIL import Image

    folder = real_folder(Path(root) / label_folder(str(label)), "label folder")
    ensure_writable_dir(folder, "samples folder", "choose another folder")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, "PNG")
    if buffer.tell() > MAX_PICTURE_BYTES:
        raise BarenetError(f"the sample takes {format_bytes(buffer.tell())} as a PNG, more than "
                           f"the {format_bytes(MAX_PICTURE_BYTES)} a picture in a samples "
                           "folder may take; draw on a smaller board")
    # one reading of the clock (two could straddle a second and sort out of order), and a
    # name not taken yet (two samples saved in the same microsecond must not overwrite)
    micros = time.time_ns() // 1000
    stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(micros // 1_000_000)) + \
        f"-{micros % 1_000_000:06d}"
    for taken in range(_MAX_NAME_TRIES):
        path = folder / (f"{stem}.png" if taken == 0 else f"{stem}_{taken:03d}.png")
        try:
            write_bytes(path, buffer.getvalue(), replace=False)
        except FileExistsError:
            continue
        return path
    raise BarenetError(f"{shown(folder)} already holds {_MAX_NAME_TRIES} samples taken in the "
                       "same microsecond; save it again")


def remove_last_sample(root: str | os.PathLike) -> Path | None:
    """Delete the most recently written sample under ``root``; returns it (None if none).

    Only pictures :func:`read_folder` would read are candidates: nothing is
    deleted through a symbolic link.
    """
    written = {}
    for _, path in _scan(Path(root))[0]:
        with contextlib.suppress(FileNotFoundError):
            written[path] = (path.lstat().st_mtime_ns, path.name)
    if not written:
        return None
    last = max(written, key=written.__getitem__)
    last.unlink(missing_ok=True)
    return last


def count_samples(root: str | os.PathLike, class_names: Sequence[str]) -> dict[str, int]:
    """Pictures per class in ``root``, as :func:`read_folder` would find them (0 for a
    class without a folder)."""
    found = Counter(folder for folder, _ in _scan(Path(root))[0])
    return {str(name): found[label_folder(str(name))] for name in class_names}
