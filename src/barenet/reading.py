"""Old import path of :mod:`barenet.vision.reading` (the README once showed it); use
``from barenet.vision import read_digit, read_number``."""

from .vision.reading import *  # noqa: F403
from .vision.reading import read_digit, read_number  # noqa: F401
