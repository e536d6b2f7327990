"""``barenet.fit``: train a model on arrays in memory, in one call.

For a notebook or a script, the Keras-like call: the same
:class:`~barenet.train.session.Session` as ``barenet train`` runs it (one
training loop; here with no run folder), with a progress bar that draws itself
in a notebook, and the per-epoch figures come back as a :class:`History` to
plot in one line::

    history = bn.fit(model, x, y, epochs=5, batch_size=64, validation=(xv, yv))
    plt.plot(history.loss); plt.plot(history.val_loss)

Nothing is written to disk. The model is trained in place and keeps the last
epoch's weights; Ctrl-C stops after the batch in progress (the model keeps its
weights so far).
"""

from __future__ import annotations

import math
import reprlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import PreparedData
from ..errors import BarenetError
from ..model.classifier import Sequential
from ..model.scaling import network_input
from ..nn.losses import Loss
from ..nn.optim import OPTIMIZERS, Optimizer
from .config import Config
from .finetune import layer_specs
from .session import Session


@dataclass
class History:
    """Per-epoch figures of a :func:`fit`: lists to plot, one value per epoch.

    Attributes
    ----------
    epochs : list of dict
        The rows ``barenet train`` writes to history.json: ``epoch``,
        ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, ``lr``, ``seconds``.
    """

    epochs: list[dict[str, Any]]

    def _column(self, key: str) -> list[Any]:
        return [row[key] for row in self.epochs]

    @property
    def loss(self) -> list[float]:
        """Training loss (mean over the epoch's batches)."""
        return self._column("train_loss")

    @property
    def accuracy(self) -> list[float]:
        return self._column("train_acc")

    @property
    def val_loss(self) -> list[float | None]:
        return self._column("val_loss")

    @property
    def val_accuracy(self) -> list[float | None]:
        return self._column("val_acc")

    @property
    def lr(self) -> list[float]:
        return self._column("lr")

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        last = self.epochs[-1]
        val = "" if last["val_acc"] is None else f", val_accuracy {last['val_acc']:.2%}"
        return (f"History({len(self.epochs)} epochs: loss {last['train_loss']:.4f}, "
                f"accuracy {last['train_acc']:.2%}{val})")


def fit(model: Sequential, x: np.ndarray, y: np.ndarray, *, epochs: int = 5,
        batch_size: int = 64, optimizer: str | Optimizer = "adam", lr: float = 1e-3,
        loss: str | Loss = "cross_entropy", validation: tuple[np.ndarray, np.ndarray] | None = None,
        seed: int = 0, log: Any = print) -> History:
    """Train ``model`` in place on images ``x`` with class labels ``y``.

    Parameters
    ----------
    model : Sequential
        Its ``input_shape`` must hold one sample of ``x`` (set from the first
        ``Linear`` or by a first forward pass when not given).
    x : ndarray, shape (N, ...)
        uint8 pixels (scaled by 1/255) or floats, one sample per row, e.g.
        (N, 784) or (N, 28, 28); the model's stored normalisation, if any, is applied.
    y : ndarray of int, shape (N,)
        Class labels 0 .. K-1 for a model with K outputs.
    epochs, batch_size : int
    optimizer : {"sgd", "adam", "adamw", "rmsprop"} or Optimizer
        A name, built with ``lr``; or, as in PyTorch, an optimizer built over
        ``model.parameters()``, which is used as it is (with its own ``lr``).
    lr : float
        Learning rate (constant) of an optimizer given by name.
    loss : "cross_entropy" or a Loss
        A loss of logits and class labels.
    validation : (x_val, y_val), optional
        Evaluated after every epoch.
    seed : int
        Shuffling and dropout are drawn from it: the same seed, the same run.
    log : callable
        Receives one line per epoch (``print`` by default; ``None`` for silence).

    Returns
    -------
    History

    Raises
    ------
    BarenetError
        Before any training, in one line: x and y of different lengths, data
        that is not numeric or holds NaN, labels that are not classes of the
        model, a sample shape the model does not take, a bad option.
    """
    if not isinstance(model, Sequential):
        raise BarenetError(f"fit trains a barenet Sequential, got {type(model).__name__}")
    x_train, y_train = _arrays(model, x, y, "x", "y")
    if model.input_shape is None:
        model.input_shape = tuple(int(d) for d in x_train.shape[1:])
    x_val, y_val = (_arrays(model, *validation, "validation x", "validation y")
                    if validation is not None else (x_train[:0], y_train[:0]))
    if not (isinstance(loss, Loss) or loss == "cross_entropy"):
        raise BarenetError(f"loss must be 'cross_entropy' or a barenet Loss of logits and "
                           f"class labels, got {reprlib.repr(loss)}")
    loss_fn = loss if isinstance(loss, Loss) else None
    given = optimizer if isinstance(optimizer, Optimizer) else None
    if given is not None:
        _check_optimizer(given, model)
        optimizer, lr = next(name for name in OPTIMIZERS.names()
                             if type(given) is OPTIMIZERS[name]), given.lr
    config = Config.from_dict({"name": "fit", "epochs": epochs, "batch_size": batch_size,
                               "seed": seed, "dtype": str(model.dtype), "validation_size": 0,
                               "optimizer": {"name": optimizer, "lr": lr},
                               "model": layer_specs(model)})
    data = PreparedData(x_train, y_train, x_val, y_val, x_train[:0], y_train[:0],
                        tuple(model.class_names), None)
    # the user's optimizer, if given, with its state and settings, in place of a new one
    session = Session(config, data, model, loss_fn=loss_fn, optimizer=given)
    session.train(log or (lambda line: None))
    return History(session.history)


def _check_optimizer(optimizer: Optimizer, model: Sequential) -> None:
    """An optimizer given to :func:`fit` must be one of barenet's, over this model's
    parameters."""
    if not any(type(optimizer) is OPTIMIZERS[name] for name in OPTIMIZERS.names()):
        raise BarenetError(f"fit takes one of barenet's optimizers "
                           f"({', '.join(OPTIMIZERS.names())}) or its name, got "
                           f"{type(optimizer).__name__}")
    if {id(p) for p in optimizer.params} != {id(p) for p in model.parameters()}:
        raise BarenetError("the optimizer was built over other parameters than this model's; "
                           "build it with model.parameters()")


def _arrays(model: Sequential, x: Any, y: Any, x_name: str,
            y_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked, network-ready samples and int64 labels (one-line errors)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 2 or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise BarenetError(f"{x_name} must be a numeric array of samples (N, ...), got dtype "
                           f"{x.dtype} and shape {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise BarenetError(f"{x_name} has {len(x)} samples but {y_name} has shape {y.shape}; "
                           "one label per sample expected")
    if len(x) == 0:
        raise BarenetError(f"{x_name} holds no samples")
    if not np.issubdtype(y.dtype, np.integer) and not (
            np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y))
            and np.all(y == np.round(y))):
        raise BarenetError(f"{y_name} must hold whole-number class labels, got dtype {y.dtype}")
    classes = model.output_shape(model.input_shape)[-1] if model.input_shape else None
    if y.min() < 0 or (classes is not None and y.max() >= classes):
        raise BarenetError(f"{y_name} holds labels from {int(y.min())} to {int(y.max())}; the "
                           f"model has {classes} outputs, so labels 0 to {classes - 1} expected")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise BarenetError(f"{x_name} holds NaN or infinite values; clean or drop those samples")
    if (np.issubdtype(x.dtype, np.floating) and x.max() > 1 and x.min() >= 0
            and np.all(x == np.round(x))):  # 0..255 as floats, not pixels in [0, 1]
        warnings.warn(f"{x_name} holds whole numbers from {x.min():g} to {x.max():g}: pixels "
                      "from 0 to 255 as floats? barenet takes float pixels in [0, 1] (uint8 "
                      "pixels are scaled by 1/255): give x.astype(np.uint8) or x / 255",
                      stacklevel=3)
    first = model.layers[0] if model.layers else None
    if model.input_shape is None and x.ndim == 3 and hasattr(first, "in_channels"):
        raise BarenetError(f"{x_name} samples are {x.shape[1]}x{x.shape[2]} images with no "
                           f"channel axis, and the model starts with a convolution: build it "
                           f"with input_shape=(1, {x.shape[1]}, {x.shape[2]}), e.g. "
                           f"bn.Sequential([...], input_shape=(1, {x.shape[1]}, {x.shape[2]}))")
    if model.input_shape is not None and math.prod(x.shape[1:]) != math.prod(model.input_shape):
        raise BarenetError(f"{x_name} samples have shape {x.shape[1:]}, the model takes "
                           f"{model.input_shape}")
    return network_input(x, model.dtype, model.standardization), y.astype(np.int64)
