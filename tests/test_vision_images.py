"""Decoding picture files (issue 30): file objects that hold no image (item 15); every problem
a one-line BarenetError."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest

from barenet.errors import BarenetError
from barenet.vision.images import load_image

MB = 1 << 20


def seven(height: int = 300, width: int = 200, ink: float = 0.1, paper: float = 0.9
          ) -> np.ndarray:
    """A float picture of a thick "7", upright."""
    picture = np.full((height, width), paper, np.float32)
    top, left, bar = height // 6, width // 5, max(2, height // 12)
    picture[top:top + bar, left:width - left] = ink
    for i in range(top, height - top):
        x = width - left - bar - int((i - top) * (width - 2 * left - 2 * bar) / (height - 2 * top))
        picture[i, x:x + bar] = ink
    return picture


def as_uint8(picture: np.ndarray) -> np.ndarray:
    return np.round(picture * 255).astype(np.uint8)


def traced_peak(call, *args):
    """``call(*args)`` and the peak of the memory Python and NumPy allocated meanwhile."""
    tracemalloc.start()
    try:
        result = call(*args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def one_line_error(call, *args) -> str:
    with pytest.raises(BarenetError) as caught:
        call(*args)
    message = str(caught.value)
    assert message.strip() and "\n" not in message
    return message


# --- item 15: file objects ------------------------------------------------------------------

@pytest.mark.parametrize("data, words", [(b"", "empty"), (b"hello, not an image", "not an image"),
                                         (b"\x89PNG\r\n\x1a\n", "not an image")])
def test_a_file_object_holding_no_image_is_a_one_line_error(data, words):
    """The UnidentifiedImageError branch asked os.path.getsize for the size of a file object:
    TypeError."""
    assert words in one_line_error(load_image, io.BytesIO(data))


def test_an_open_file_that_is_no_image_is_named_in_the_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a picture")
    with open(tmp_path / "notes.txt", "rb") as file:
        message = one_line_error(load_image, file)
    assert message.startswith(str(tmp_path / "notes.txt")) and "not an image" in message
