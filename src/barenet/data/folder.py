"""Folders of labelled pictures, as torchvision's ImageFolder: ``<root>/<label>/<name>.png``.

The drawing app saves the user's corrected drawings this way (:func:`add_sample`,
:func:`remove_last_sample`), ``barenet finetune`` learns from such a folder and
``barenet evaluate --images`` tests on one (:func:`read_folder`). Each picture is
kept as it was taken (the app's raw canvas, a photo); the 28x28 the network sees
is derived from it again by :func:`barenet.vision.preprocess`.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BarenetError
from ..io.files import ensure_writable_dir, write_bytes

#: Picture files read from a folder (by suffix, any case).
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Most pictures read from one folder (a bound on time and memory).
MAX_PICTURES = 100_000


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
    skipped : list of (Path, str)
        Pictures left out (``skip=True``) and why.
    """

    images: np.ndarray
    labels: np.ndarray
    files: list[Path]
    class_names: list[str]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Pictures per class name."""
        found = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, found, strict=True)}

    def fingerprint(self) -> str:
        """SHA-256 over the labels and bytes of every picture (recorded by ``finetune``)."""
        digest = hashlib.sha256()
        for path, label in sorted(zip(self.files, self.labels.tolist(), strict=True)):
            digest.update(f"{self.class_names[label]}/{path.name}\0".encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def picture_files(root: Path) -> list[tuple[str, Path]]:
    """``(label, file)`` for every picture in the label folders of ``root``, sorted.

    Raises
    ------
    BarenetError
        ``root`` is missing or not a folder, holds pictures outside label folders,
        or holds no pictures at all.
    """
    root = Path(root)
    if not root.is_dir():
        raise BarenetError(f"{root}: no such folder (expected <folder>/<label>/<name>.png, "
                           "e.g. samples/7/one.png)")
    loose = [p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in
             PICTURE_SUFFIXES]
    if loose:
        raise BarenetError(f"{root} holds pictures outside label folders ({loose[0]}, ...); put "
                           f"each in a folder named after its class, e.g. {root}/7/{loose[0]}")
    found = [(folder.name, path) for folder in sorted(root.iterdir()) if folder.is_dir()
             for path in sorted(folder.iterdir())
             if path.is_file() and path.suffix.lower() in PICTURE_SUFFIXES]
    if not found:
        raise BarenetError(f"{root} holds no pictures (expected <label>/<name>.png files, "
                           f"e.g. {root}/7/one.png)")
    if len(found) > MAX_PICTURES:
        raise BarenetError(f"{root} holds {len(found):,} pictures, more than the "
                           f"{MAX_PICTURES:,} barenet reads from one folder")
    return found


def read_folder(root: str | os.PathLike, class_names: Sequence[str],
                skip: bool = False) -> LabelledPictures:
    """Read and preprocess every picture of an ImageFolder whose labels are ``class_names``.

    ``skip=True`` leaves out pictures that cannot be read or hold no digit (listed
    in ``skipped``) instead of refusing the folder.

    Raises
    ------
    BarenetError
        A layout problem (:func:`picture_files`), a label folder that is not one
        of ``class_names``, or (without ``skip``) a picture that cannot be read or
        holds no digit (the message names the file); no picture left.
    """
    from ..vision import preprocess
    from ..vision.images import load_image

    names = [str(n) for n in class_names]
    files = picture_files(Path(root))
    unknown = sorted({label for label, _ in files} - set(names))
    if unknown:
        raise BarenetError(f"{root}: folder {unknown[0]!r} is not one of the model's classes "
                           f"({', '.join(names)}); rename or remove it")
    images, kept, skipped = [], [], []
    for label, path in files:
        try:
            images.append(preprocess(load_image(path)))
            kept.append((label, path))
        except BarenetError as exc:
            message = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            if not skip:
                raise BarenetError(f"{message}; remove or replace it") from None
            skipped.append((path, message))
    if not kept:
        raise BarenetError(f"{root}: none of its {len(files)} pictures holds a readable digit")
    labels = np.array([names.index(label) for label, _ in kept], np.int64)
    return LabelledPictures(np.stack(images), labels, [p for _, p in kept], names, skipped)


def add_sample(root: str | os.PathLike, label: str, picture: np.ndarray) -> Path:
    """Save ``picture`` (a uint8 array) as a new PNG in ``root/label/``; returns its path.

    Names are the time to the microsecond, so samples sort in the order taken.
    """
    from PIL import Image

    folder = Path(root) / str(label)
    ensure_writable_dir(folder, "samples folder", "choose another folder")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, "PNG")
    # one reading of the clock (two could straddle a second and sort out of order), and a
    # name not taken yet (two samples saved in the same microsecond must not overwrite)
    micros = time.time_ns() // 1000
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(micros // 1_000_000))
    path = folder / f"{stamp}-{micros % 1_000_000:06d}.png"
    taken = 0
    while path.exists():
        taken += 1
        path = folder / f"{stamp}-{micros % 1_000_000:06d}_{taken:03d}.png"
    try:
        write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise BarenetError(f"cannot save the sample to {path} ({exc.strerror or exc})") from None
    return path


def remove_last_sample(root: str | os.PathLike) -> Path | None:
    """Delete the most recently written sample under ``root``; returns it (None if none)."""
    root = Path(root)
    if not root.is_dir():
        return None
    samples = [p for p in root.glob("*/*") if p.is_file() and p.suffix.lower() in
               PICTURE_SUFFIXES]
    if not samples:
        return None
    last = max(samples, key=lambda p: (p.stat().st_mtime_ns, p.name))
    last.unlink()
    return last


def count_samples(root: str | os.PathLike, class_names: Sequence[str]) -> dict[str, int]:
    """Pictures per class in ``root`` (0 for a class without a folder)."""
    root = Path(root)
    return {str(name): sum(1 for p in (root / str(name)).glob("*") if p.is_file()
                           and p.suffix.lower() in PICTURE_SUFFIXES)
            if (root / str(name)).is_dir() else 0 for name in class_names}
