"""Pictures: decode any image file, turn a picture of a digit into the 28x28 an MNIST
network expects, and read it with a model.

- ``images.py``: :func:`load_image`, any image file (PNG, JPEG, a phone photo...) to
  an array, with its limits;
- ``preprocess.py``: :func:`extract` and :func:`preprocess`, the whole pipeline, one
  pure stage at a time in ``gray.py``, ``ink.py`` and ``glyph.py`` (docs/pictures.md
  shows each stage on a real picture); ``number.py`` cuts a row of digits;
- ``reading.py``: :func:`read_digit`, :func:`read_number`, and why the model answered
  (input gradients, integrated gradients).

``barenet predict``, the drawing app and its preview all call these. The model's
own normalisation is not applied here: :meth:`barenet.Sequential.predict_proba`
does that.
"""

from .glyph import (
    BOX_SIZE,
    CANVAS_SIZE,
    center_by_mass,
    center_of_mass,
    check_input_size,
    crop,
    harden,
    paste_center,
    resize_longer_side,
    shift,
    thicken,
    to_glyph,
)
from .gray import to_grayscale
from .images import load_image
from .ink import (
    MIN_CONTRAST,
    Component,
    EmptyDrawingError,
    Line,
    border,
    components,
    digit_components,
    ink_is_dark,
    ink_levels,
    ink_mask,
    ink_strength,
    inside_frames,
    local_noise,
    paper_background,
    remove_lines,
    ruled_lines,
    stroke_width,
    to_working_size,
    union_box,
)
from .number import Atom, RowAtoms, groupings, row_atoms
from .preprocess import Extraction, extract, glyph_from, preprocess
from .reading import NumberReading, Reading, read_digit, read_number

__all__ = [
    "BOX_SIZE", "CANVAS_SIZE", "MIN_CONTRAST", "Component", "EmptyDrawingError", "Extraction",
    "Line", "Atom", "RowAtoms", "NumberReading", "Reading", "border", "center_by_mass",
    "center_of_mass", "check_input_size", "components", "crop", "digit_components", "extract",
    "glyph_from", "harden", "ink_is_dark", "ink_levels", "ink_mask", "ink_strength",
    "inside_frames", "load_image", "local_noise", "paper_background", "paste_center",
    "preprocess", "read_digit", "read_number",
    "remove_lines", "resize_longer_side", "ruled_lines", "shift", "row_atoms", "groupings",
    "stroke_width", "thicken", "to_glyph", "to_grayscale", "to_working_size", "union_box",
]
