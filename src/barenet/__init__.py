"""barenet: neural networks from scratch in NumPy.

>>> import barenet as bn
>>> model = bn.Sequential([bn.layers.Linear(784, 128), bn.layers.ReLU(), bn.layers.Linear(128, 10)])
"""

from . import layers, losses, optim
from .errors import BarenetError
from .gradcheck import GradcheckResult, gradcheck
from .model import Sequential
from .module import Module, Parameter
from .serialization import load, save
from .version import __version__

__all__ = ["layers", "losses", "optim", "BarenetError", "gradcheck", "GradcheckResult",
           "Sequential", "Module", "Parameter", "load", "save", "__version__"]
