"""The network: modules, layers, losses, optimizers, initialisers and the gradient check.

This ring imports NumPy and :mod:`barenet.errors` and nothing else of barenet: what a
layer computes, and how its gradient is derived (docs/math.md), is all here.
"""

from . import layers, losses, optim
from .gradcheck import GradcheckResult, gradcheck
from .module import Module, Parameter, Sequential

__all__ = ["layers", "losses", "optim", "Module", "Parameter", "Sequential", "gradcheck",
           "GradcheckResult"]
