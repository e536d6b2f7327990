"""Layers: each a Module with forward and backward (docs/math.md)."""

from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, sigmoid, softmax
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout
from .linear import Linear
from .pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from .registry import LAYERS
from .reshape import Flatten

__all__ = ["LAYERS", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Dropout",
           "BatchNorm1d", "BatchNorm2d", "Flatten", "sigmoid", "softmax"]
__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"]
