"""The network: modules, layers, losses, optimizers, initialisers and the gradient check.

This ring imports NumPy and :mod:`barenet.errors` and nothing else of barenet: what a
layer computes, and how its gradient is derived (docs/math.md), is all here.
``with plain():`` runs every layer's textbook version instead of its fast path.
"""

from . import layers, losses, optim
from .gradcheck import GradcheckResult, gradcheck
from .module import Module, Parameter, Sequential
from .switch import is_plain, plain, set_plain

__all__ = ["layers", "losses", "optim", "Module", "Parameter", "Sequential", "gradcheck",
           "GradcheckResult", "plain", "set_plain", "is_plain"]
