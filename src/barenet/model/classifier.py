"""The model: a network, what it remembers, and prediction on raw images."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import nn
from ..errors import BarenetError
from ..io.memory import check_memory, inference_bytes, memory_budget
from ..nn.functional import softmax
from ..nn.kernels import parallel
from ..nn.layers import MaxPool2d, Softmax
from ..nn.layers.batchnorm import _BatchNorm, fold_into
from ..nn.module import Module
from ..nn.options import model_layers, sample_values
from .card import Card
from .file import save as save_model
from .scaling import Standardization, network_input
from .views import tta_mean

#: Images per forward pass when only predicting (``Sequential.predict``): layers keep
#: their last batch's intermediates (cnn.toml's second convolution's im2col matrix is
#: 58 MB at 256 images, 14 MB at 64). At 64 each batch's im2col matrices stay in the
#: processor's cache (docs/results.md has the measurements).
INFERENCE_BATCH = 64


class Sequential(nn.Sequential):
    """A model: a chain of layers (:class:`barenet.nn.Sequential`) and what it remembers.

    What a trained model remembers (class names, normalisation, calibration and its
    "not sure" bar) is its :attr:`metadata`, saved with it; :attr:`card` reads it.
    Prediction takes raw images: :meth:`predict_proba` scales and normalises them as
    in training, runs the layers in eval mode (batch norm folded into the layer
    before it) and gives calibrated probabilities.

    Parameters
    ----------
    layers : iterable of Module
    input_shape : tuple of int, optional
        Shape of one sample, e.g. ``(784,)`` or ``(1, 28, 28)``. Needed by
        :meth:`summary` and by :meth:`predict` to reshape raw images; inferred
        from a first ``Linear`` layer when not given.
    metadata : dict, optional
        What the model was trained on: ``normalization`` (``mean``, ``std``),
        ``class_names``, ``dataset``, ``metrics``... saved with the model.
    """

    def __init__(self, layers: Iterable[Module], input_shape: tuple[int, ...] | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        super().__init__(layers, input_shape)
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def card(self) -> Card:
        """What this model remembers, read from :attr:`metadata` (:class:`Card`)."""
        return Card.read(self.metadata, self.dtype)

    @property
    def class_names(self) -> list[str]:
        """Names of the output classes: the card's, else the indices."""
        count = self.output_shape(self.input_shape)[-1] if self.input_shape else None
        names = self.card.class_names
        if names is not None and (count is None or len(names) == count):
            return list(names)
        return [str(i) for i in range(count or 10)]

    # -- inference on raw images -------------------------------------------
    @property
    def standardization(self) -> Standardization | None:
        """The card's normalisation; None if there is none."""
        return self.card.standardization

    def prepare_input(self, images: np.ndarray) -> np.ndarray:
        """Raw images -> network input: scale, normalise and reshape as in training.

        ``uint8`` images are scaled by 1/255; floating images are taken to be
        in [0, 1] already. The ``normalization`` recorded in :attr:`metadata`
        (``(x - mean) / std``) is then applied, and each sample is reshaped to
        :attr:`input_shape`. Accepts (N, 28, 28), (N, 784) or (N, 1, 28, 28).
        The same :func:`~barenet.model.scaling.network_input` prepares training data.
        """
        images = np.asarray(images)
        self._check_batch_axis(images.shape)
        # floats are raw pixels here: never the input itself, even without a normalisation
        standardization = self.standardization or Standardization(0.0, 1.0)
        return network_input(images, self.dtype, standardization, self.input_shape)

    def _check_batch_axis(self, shape: tuple[int, ...]) -> None:
        """Refuse one image given without its batch axis, saying how to add it: (28, 28)
        for a model of 784 inputs is one image, not 28 samples."""
        first = next((layer for layer in self.layers if hasattr(layer, "in_features")), None)
        sample = self.input_shape or ((first.in_features,) if first is not None else None)
        if sample is None or not shape or shape[0] == 1:
            return
        if math.prod(shape) == math.prod(sample) and len(shape) <= max(len(sample), 2):
            raise BarenetError(f"got one image of shape {tuple(shape)} with no batch axis; "
                               "give a batch of images (N, ...): images[None] for one image, "
                               "np.stack(images) for several")

    def predict_logits(self, images: np.ndarray, batch_size: int = INFERENCE_BATCH,
                       threads: int | None = None, mirror: bool = False,
                       shift: bool = False) -> np.ndarray:
        """The network's raw outputs (N, K) for raw images, computed in eval mode.

        Test-time augmentation (``images`` must then be (N, H, W)): with ``shift``,
        each image's outputs are averaged with those of its four one-pixel shifts,
        for a model trained on shifted images (``augment.max_shift``); with
        ``mirror``, with those of the mirror image of each, for a model trained on
        mirrored images (``augment.flip``, right for clothes, wrong for digits). The
        views are :func:`~barenet.model.views.tta_views`. The Fashion-MNIST ``cnn``
        model with ``mirror``: 93.58% -> 94.14%.

        Batches of ``batch_size`` run on ``threads`` threads at once (default: the
        machine's cores, or ``$BARENET_THREADS``), each with one BLAS thread and its
        own copies of the layers' working state; NumPy releases the interpreter lock
        in its loops, so all of the work runs in parallel, not only the matrix
        products. The batches are the same whatever the thread count, and so are the
        results (tests). Each layer runs its ``infer`` (:meth:`Module.infer`); the
        inference benchmark is in docs/results.md.
        """
        return tta_mean(lambda view: self.eval_logits(self.prepare_input(view), batch_size,
                                                      threads), images, mirror, shift)

    def eval_logits(self, x: np.ndarray, batch_size: int = INFERENCE_BATCH,
                    threads: int | None = None) -> np.ndarray:
        """:meth:`predict_logits` for prepared input ``x`` (N, *input_shape): the
        network's outputs (N, K) in eval mode, batches on ``threads`` threads at once.

        What the trainer's validation and test accuracy use, so that they are what
        ``barenet predict`` gives.
        """
        if int(batch_size) < 1:
            raise BarenetError(f"batch_size must be >= 1, got {batch_size}")
        starts = list(range(0, max(len(x), 1), batch_size))
        threads = max(1, min(parallel.default_threads() if threads is None else int(threads),
                             len(starts)))
        self._check_batch_memory(x.shape[1:], min(batch_size, len(x)) * threads)
        with self.evaluating():
            layers = self.inference_layers()

            def run(part: list[int]) -> list[np.ndarray]:
                # A damaged model's overflow is not printed: its NaN output is refused by
                # the callers that show it (errstate is per thread).
                own = [layer.replica() for layer in layers] if threads > 1 else layers
                out = []
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    for start in part:  # an empty batch still passes once: shape (0, K)
                        h = x[start:start + batch_size]
                        for layer in own:
                            h = layer.infer(h)
                        out.append(h)
                return out

            return np.concatenate(parallel.over_batches(run, starts, threads))

    def _check_batch_memory(self, sample_shape: tuple[int, ...], images: int) -> None:
        """Refuse, before allocating, ``images`` passing through at once that would not fit
        :func:`barenet.io.memory.memory_budget`."""
        try:
            per_sample = sample_values(model_layers(self), tuple(sample_shape))
        except (KeyError, TypeError, ValueError, BarenetError):  # no size rule: forward says
            return
        weights = sum(p.data.size for p in self.parameters())
        check_memory(f"predicting {images:,} images at a time (the batch size times "
                     "the threads)", inference_bytes(
                         weights, per_sample, self.dtype.itemsize, images),
                     memory_budget(), "use a smaller batch size")

    def inference_layers(self) -> list[Module]:
        """The layers :meth:`predict_logits` runs: :attr:`layers`, in eval mode, with each
        batch norm that follows a Linear or Conv2d folded into it (``fold_into``), also
        across a max-pooling between them where the batch norm's scales are all positive.

        The same function as ``forward`` in eval mode, up to rounding (the tests hold
        them equal), with one pass over every such activation fewer (batch norm was
        21% of cnn.toml's eval forward time at batch 256).
        """
        out: list[Module] = []
        for layer in self.layers:
            if out and isinstance(layer, _BatchNorm) and not layer.training:
                folded = fold_into(out[-1], layer)
                if folded is not None:
                    out[-1] = folded
                    continue
                if len(out) > 1 and isinstance(out[-1], MaxPool2d):
                    folded = fold_into(out[-2], layer, through_max=True)
                    if folded is not None:  # conv (+ batch norm), then the pooling
                        out[-2] = folded
                        continue
            out.append(layer)
        return out

    @property
    def temperature(self) -> float:
        """The calibration temperature ``T`` (1.0 if none): probabilities are
        ``softmax(z / T)`` (:mod:`barenet.model.calibration`)."""
        return self.card.temperature

    @property
    def min_confidence(self) -> float:
        """Below this calibrated top probability the model is "not sure" (docs/results.md)."""
        return self.card.min_confidence

    @property
    def ends_in_softmax(self) -> bool:
        """Whether the last layer is a ``Softmax``: outputs are probabilities already."""
        return bool(self.layers) and isinstance(self.layers[-1], Softmax)

    def probabilities(self, logits: np.ndarray, calibrated: bool = True) -> np.ndarray:
        """Class probabilities (N, K) from this model's logits (N, K).

        ``softmax(z / T)`` with the stored temperature (``calibrated=False``:
        ``T = 1``); a model whose last layer is already a ``Softmax`` returns its
        outputs unchanged.
        """
        if self.ends_in_softmax:
            return logits
        with np.errstate(invalid="ignore"):  # infinite logits give NaN: refused by callers
            return softmax(logits / logits.dtype.type(self.temperature) if calibrated else logits)

    def predict_proba(self, images: np.ndarray,
                      batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """Calibrated class probabilities (N, K) for raw images, computed in eval mode."""
        return self.probabilities(self.predict_logits(images, batch_size))

    def predict(self, images: np.ndarray, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """Most likely class index (N,) for raw images."""
        return self.predict_proba(images, batch_size).argmax(axis=1)

    def save(self, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
        """Write the model to one ``.npz`` file (see :func:`barenet.load`).

        ``metadata`` is stored along with :attr:`metadata` (it wins on clashes).
        """
        save_model(self, path, metadata)
