"""barenet: neural networks from scratch in NumPy, every gradient derived by hand.

Where to start
--------------
- ``bn.Sequential([...])``: a model from layers; ``forward``, ``backward``,
  ``predict_proba``, ``summary()``, ``save``. ``bn.load(path)`` reads a model file.
- ``bn.layers``: ``Linear``, ``Conv2d``, ``ReLU``, ``BatchNorm1d``... each with
  ``forward``/``backward`` as derived in docs/math.md; parameters are
  ``layer.weight``, ``layer.bias`` (:class:`bn.Parameter`: ``data`` and ``grad``).
- ``bn.losses``: ``SoftmaxCrossEntropy``, ``MSELoss``, ``BCEWithLogits``.
- ``bn.optim``: ``SGD``, ``Adam``, ``AdamW``, ``RMSProp`` over ``model.parameters()``;
  schedules and gradient clipping.
- ``bn.fit(model, x, y, epochs=5, validation=(xv, yv))``: train on arrays in memory,
  with the same loop as ``barenet train``; returns a ``History`` to plot.
- ``bn.gradcheck(layer_or_model, x)``: analytic gradients against finite differences.
- ``barenet.vision.preprocess(picture)``: any picture of a digit -> the 28x28
  the network expects; ``barenet.vision.read_digit(model, picture)`` reads it.
- The command line: ``barenet train``, ``evaluate``, ``predict``, ``draw``,
  ``finetune``, ``export``, ``report``, ``gradcheck``, ``xor`` (``barenet COMMAND --help``).

>>> import barenet as bn
>>> model = bn.Sequential([bn.layers.Linear(784, 128), bn.layers.ReLU(), bn.layers.Linear(128, 10)])
>>> print(model.summary())  # doctest: +SKIP
"""

from .errors import BarenetError
from .model.classifier import Sequential
from .model.file import save
from .model.load import load
from .nn import layers, losses, optim
from .nn.gradcheck import GradcheckResult, gradcheck
from .nn.module import Module, Parameter
from .train.fit import History, fit
from .version import __version__

__all__ = ["layers", "losses", "optim", "BarenetError", "gradcheck", "GradcheckResult",
           "Sequential", "Module", "Parameter", "load", "save", "fit", "History", "__version__"]
