"""Old import path of :mod:`barenet.vision.images` (the README once showed it); use
``from barenet.vision import load_image``."""

from .vision.images import *  # noqa: F403
from .vision.images import load_image  # noqa: F401
