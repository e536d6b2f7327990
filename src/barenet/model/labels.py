"""Class names as folder names: where a class's pictures are kept in a samples folder.

Kept apart from :mod:`barenet.data.folder` so that model files, which check their
class names with it, import nothing of the picture pipeline.
"""

from __future__ import annotations

import unicodedata

from ..errors import BarenetError

#: Characters of a class name that a folder name may not hold on Linux, macOS or Windows,
#: written ``%XX`` in the class's folder name, and ``%`` itself: no two names share a folder.
_ESCAPED = '%/\\:*?"<>|'
#: Longest folder name most file systems take, in bytes.
_MAX_NAME_BYTES = 255


def label_folder(name: str) -> str:
    """The name of class ``name``'s folder: ``name`` with ``/``, ``\\``, the other characters
    no file name may hold and ``%`` written ``%XX`` ("T-shirt/top" -> ``T-shirt%2Ftop``).

    The one rule the app's writer and every reader of a samples folder
    (:mod:`barenet.data.folder`) follow, and model files too (their class names
    are checked with it when saved and loaded). Different names give different
    folders.

    Raises
    ------
    BarenetError
        ``name`` is empty, ``.`` or ``..``, holds control characters, or makes a
        folder name longer than 255 bytes.
    """
    if name in ("", ".", "..") or any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise BarenetError(f"class name {name!r} cannot name a folder (empty, '.', '..' and "
                           "control characters cannot); give the class another name")
    folder = "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in name)
    if len(folder.encode("utf-8")) > _MAX_NAME_BYTES:
        raise BarenetError(f"class name {name[:20]!r}... is too long to name a folder (at "
                           f"most {_MAX_NAME_BYTES} bytes); give the class a shorter name")
    return folder
