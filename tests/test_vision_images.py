"""Decoding picture files (issue 30): large pictures in bounded memory (item 7), EXIF
orientation (item 12), float pictures with infinite or NaN pixels (item 13), and file objects
that hold no image (item 15); every problem a one-line BarenetError."""

from __future__ import annotations

import io
import json
import math
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from barenet.errors import BarenetError
from barenet.vision import extract, preprocess
from barenet.vision import images as images_module
from barenet.vision.images import MAX_SIDE, load_image

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


# --- item 7: large pictures -----------------------------------------------------------------

def converted_whole(image: Image.Image) -> np.ndarray:
    """What the decoder made of a picture before it was converted in bands: the whole picture
    as an array, then averaged down (the reference for finite pictures)."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        gray = np.asarray(image)
        high = 65535 if gray.max(initial=0) > 255 or mode.startswith("I;16") else 255
        array = np.clip(gray, 0, high).astype(np.uint16 if high > 255 else np.uint8)
    elif mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = values.min(initial=0), values.max(initial=0)
        span = high - low if high > low else 1.0
        array = np.round((values - low) / span * 65535).astype(np.uint16)
    else:
        if mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif mode not in ("L", "LA", "RGB", "RGBA"):
            image = image.convert({"1": "L", "CMYK": "RGB"}.get(mode, "RGB"))
        array = np.asarray(image)
    factor = math.ceil(max(array.shape[:2]) / MAX_SIDE)
    if factor == 1:
        return array
    fy, fx = min(factor, array.shape[0]), min(factor, array.shape[1])
    h, w = array.shape[0] // fy, array.shape[1] // fx
    blocks = array[:h * fy, :w * fx].reshape(h, fy, w, fx, *array.shape[2:])
    return np.round(blocks.mean(axis=(1, 3))).astype(array.dtype)


def pictures_of_every_mode(rng: np.random.Generator, size: tuple[int, int]) -> list[Image.Image]:
    w, h = size
    grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    palette = Image.fromarray(grey).convert("P")
    palette.info["transparency"] = 3
    return [Image.fromarray(grey), Image.fromarray(rgba[..., :2], "LA"),
            Image.fromarray(rgba[..., :3]), Image.fromarray(rgba), palette,
            Image.fromarray(grey).convert("1"), Image.fromarray(rgba).convert("CMYK"),
            Image.fromarray(grey.astype(np.uint16) * 257),
            Image.fromarray(grey.astype(np.int32) * 3, "I"),
            Image.fromarray(rng.normal(0, 10, (h, w)).astype(np.float32), "F")]


@pytest.mark.parametrize("size", [(2101, 37), (300, 200), (5000, 3)])
def test_a_picture_converted_in_bands_is_the_whole_picture_converted(monkeypatch, tmp_path,
                                                                      size):
    """Bands of a few rows (a hundredth of what the decoder uses) give the same pixels as the
    whole picture converted at once, in every mode, shrunk or not."""
    monkeypatch.setattr(images_module, "BAND_PIXELS", 10_000)
    rng = np.random.default_rng(0)
    for image in pictures_of_every_mode(rng, size):
        path = tmp_path / f"{image.mode}.{'tif' if image.mode in ('F', 'I', 'CMYK') else 'png'}"
        image.save(path)
        with Image.open(path) as saved:
            saved.load()
            expected = converted_whole(saved)
        got = load_image(path)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), image.mode


def test_a_large_float_tiff_is_converted_without_full_size_float_copies(tmp_path):
    """3000x3000 float pixels: 36 MB in Pillow, and every step of the conversion made a
    float64 copy of them, 72 MB each (an 8000x8000 one peaked at 2.5 GB)."""
    picture = np.full((3000, 3000), 0.9, np.float32)
    picture[500:2500, 1400:1600] = 0.1
    Image.fromarray(picture, "F").save(tmp_path / "big.tif", compression="tiff_adobe_deflate")
    image, peak = traced_peak(load_image, tmp_path / "big.tif")
    assert image.shape == (1500, 1500) and image.dtype == np.uint16
    assert peak < 32 * MB, f"{peak / MB:.0f} MB"
    assert image[250:1250, 700:800].max() < image.max() // 8  # the ink, a tenth of the paper


def test_a_large_rgba_png_is_converted_without_a_full_size_copy(tmp_path):
    """3000x3000 RGBA: a full-size array of it (36 MB) and its float64 mean."""
    picture = np.zeros((3000, 3000, 4), np.uint8)
    picture[500:2500, 1400:1600] = (20, 20, 20, 255)
    Image.fromarray(picture).save(tmp_path / "big.png", compress_level=1)
    image, peak = traced_peak(load_image, tmp_path / "big.png")
    assert image.shape == (1500, 1500, 4)
    assert peak < 32 * MB, f"{peak / MB:.0f} MB"


@pytest.mark.parametrize("size", [(0, 5), (5, 0), (3000, 0)])
def test_a_picture_of_no_pixels_is_a_one_line_error(monkeypatch, tmp_path, size):
    """Converted in bands, a picture 0 pixels high or wide divided by zero."""
    Image.fromarray(as_uint8(seven())).save(tmp_path / "seven.png")
    empty = Image.new("L", size)
    monkeypatch.setattr(Image, "open", lambda path: empty)
    assert "no pixels" in one_line_error(load_image, tmp_path / "seven.png")


def test_running_out_of_memory_is_a_one_line_error_for_that_file(monkeypatch, tmp_path):
    Image.fromarray(as_uint8(seven())).save(tmp_path / "seven.png")

    def exhausted(image):
        raise MemoryError

    monkeypatch.setattr(images_module, "_to_array", exhausted)
    message = one_line_error(load_image, tmp_path / "seven.png")
    assert message.startswith(str(tmp_path / "seven.png")) and "memory" in message


# --- item 12: EXIF orientation --------------------------------------------------------------

def with_orientation(array: np.ndarray, orientation: int, fmt: str = "PNG") -> bytes:
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("orientation", range(0, 10))
def test_the_exif_orientation_is_applied_as_viewers_do(orientation):
    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = with_orientation(pixels, orientation)
    with Image.open(io.BytesIO(data)) as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    assert np.array_equal(load_image(io.BytesIO(data)), expected)


def sideways_photo(tmp_path: Path, size: tuple[int, int] = (300, 200)) -> tuple[Path, Path]:
    """A phone photo of a "7": stored turned a quarter anticlockwise, with Orientation=6
    (turn it a quarter clockwise to show it); and the same photo stored upright."""
    upright = as_uint8(seven(*size))
    (tmp_path / "upright.jpg").write_bytes(with_orientation(upright, 1, "JPEG"))
    (tmp_path / "sideways.jpg").write_bytes(with_orientation(np.rot90(upright), 6, "JPEG"))
    return tmp_path / "upright.jpg", tmp_path / "sideways.jpg"


def test_a_phone_photo_stored_sideways_is_read_upright(tmp_path):
    upright, sideways = sideways_photo(tmp_path)
    seen = preprocess(load_image(sideways))
    assert load_image(sideways).shape == (300, 200)
    assert np.abs(seen - preprocess(load_image(upright))).mean() < 0.02


def test_a_large_photo_is_turned_after_it_is_shrunk(tmp_path):
    upright, sideways = sideways_photo(tmp_path, (4400, 600))
    image = load_image(sideways)  # decoded at a quarter of its size (JPEG's draft), then turned
    assert image.shape == load_image(upright).shape == (1100, 150)


def test_predict_and_picture_folders_read_photos_upright(tmp_path, capsys, linear_model):
    """``barenet predict``, and ``evaluate --images`` and ``finetune`` (which read folders of
    pictures with :func:`barenet.data.folder.read_folder`) all decode with load_image."""
    from barenet.cli.main import main
    from barenet.data.folder import read_folder

    folder = tmp_path / "pictures" / "7"
    folder.mkdir(parents=True)
    upright, sideways = sideways_photo(folder)
    read = read_folder(tmp_path / "pictures", [str(k) for k in range(10)])
    assert np.abs(read.images[0] - read.images[1]).mean() < 0.02
    linear_model().save(tmp_path / "model.npz")
    assert main(["predict", str(upright), str(sideways), "--model", str(tmp_path / "model.npz"),
                 "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results[0]["box"] == pytest.approx(results[1]["box"], abs=3)


# --- item 13: infinite and NaN pixels -------------------------------------------------------

@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_a_float_picture_with_a_missing_pixel_is_read_as_without_it(tmp_path, value):
    """One infinite pixel made the range infinite: numpy warned, and every other pixel became
    0, a blank picture. A missing pixel is now the paper's (the finite pixels' median)."""
    picture = seven()
    Image.fromarray(picture, "F").save(tmp_path / "clean.tif")
    picture[3, 5] = value
    Image.fromarray(picture, "F").save(tmp_path / "missing.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = load_image(tmp_path / "missing.tif")
        found = extract(image)
    clean = load_image(tmp_path / "clean.tif")
    assert image[3, 5] == np.median(clean) and np.array_equal(np.delete(image, 5, 1)[3],
                                                              np.delete(clean, 5, 1)[3])
    assert found.box == extract(clean).box


def test_a_float_picture_of_only_missing_pixels_is_blank(tmp_path):
    Image.fromarray(np.full((20, 20), np.nan, np.float32), "F").save(tmp_path / "nan.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not load_image(tmp_path / "nan.tif").any()


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
