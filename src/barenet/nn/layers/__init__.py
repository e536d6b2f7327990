"""Layers: each a Module with forward and backward (docs/math.md), one file each.

Every layer registers itself in :data:`LAYERS` with the spec it declares, so that a
config or a model file can name it: adding a layer is one file here and its test.
"""

from ..functional import sigmoid, softmax
from ..registry import LAYERS
from .avgpool import AvgPool2d
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .globalavgpool import GlobalAvgPool2d
from .linear import Linear
from .maxpool import MaxPool2d
from .relu import LeakyReLU, ReLU
from .sigmoid import Sigmoid
from .softmax import Softmax
from .tanh import Tanh

__all__ = ["LAYERS", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Dropout",
           "BatchNorm1d", "BatchNorm2d", "Flatten", "sigmoid", "softmax"]
__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"]
