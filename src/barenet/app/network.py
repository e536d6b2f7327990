"""What happens inside the model for one image: stages, activations, feature maps.

A *stage* is a layer with a weight matrix or kernel (``Linear``, ``Conv2d``)
together with the layers after it up to the next such layer (activation,
batch-norm, dropout, pooling, flatten). The app draws one column of nodes per
stage: its units' outputs, or, for a convolutional stage, each channel's mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BarenetError
from ..io import paths
from ..model.classifier import Sequential
from ..model.load import load
from ..nn.layers import LAYERS
from ..vision import check_input_size


@dataclass(frozen=True)
class Stage:
    """Layers ``first`` to ``stop - 1`` of a model, shown as one column of ``units`` nodes.

    ``names`` are the layers' type names; ``conv`` says whether the stage's
    output is a stack of feature maps, whose channels are its units.
    """

    names: tuple[str, ...]
    first: int
    stop: int
    units: int
    conv: bool

    @property
    def short_title(self) -> str:
        """A title for a narrow column: the main layer, then the others two to a line.

        E.g. ``"conv\n+norm +pool\n+ReLU"`` for Conv2d, BatchNorm2d, MaxPool2d, ReLU.
        """
        short = [short_name(name) for name in self.names]
        extras = [" ".join(f"+{n}" for n in short[i:i + 2]) for i in range(1, len(short), 2)]
        return "\n".join([short[0], *extras])


def short_name(name: str) -> str:
    """The name of layer type ``name`` in the app's narrow columns: the one its class
    declares (``short_name``), else the type name itself."""
    return (LAYERS[name].short_name if name in LAYERS else None) or name


@dataclass(frozen=True)
class Activations:
    """One image's trip through the model.

    Attributes
    ----------
    stages : list of numpy.ndarray
        Per stage, a 1-D vector of ``Stage.units`` values (the last stage: the
        network's raw outputs).
    feature_maps : numpy.ndarray or None
        (C, H, W) output of the first convolutional stage; ``None`` for a
        model without one.
    probabilities : numpy.ndarray
        (K,) class probabilities, as :meth:`Sequential.predict_proba` gives.
    """

    stages: list[np.ndarray]
    feature_maps: np.ndarray | None
    probabilities: np.ndarray


def _has_weights(layer) -> bool:
    return any(p.data.ndim >= 2 for p in layer.parameters())


def _layer_outputs(model: Sequential, image: np.ndarray) -> list[np.ndarray]:
    """Each layer's output for one 28x28 image (a batch of one), in eval mode."""
    x = model.prepare_input(np.asarray(image)[None])
    outputs = []
    with model.evaluating():
        for layer in model.layers:
            x = layer.forward(x)
            outputs.append(x)
    return outputs


def describe(model: Sequential) -> list[Stage]:
    """The stages of ``model``, found by running a blank image through it.

    Raises
    ------
    BarenetError
        The model has no layer with weights, or cannot take a 28x28 image.
    """
    starts = [i for i, layer in enumerate(model.layers) if _has_weights(layer)]
    if not starts:
        raise BarenetError("the model has no Linear or convolutional layer to show")
    outputs = _layer_outputs(model, np.zeros((28, 28), np.float32))
    stages = []
    for first, stop in zip(starts, starts[1:] + [len(model.layers)], strict=True):
        names = tuple(type(layer).__name__ for layer in model.layers[first:stop])
        maps = [o for o in outputs[first:stop] if o.ndim == 4]
        units = maps[-1].shape[1] if maps else outputs[stop - 1][0].size
        stages.append(Stage(names, first, stop, int(units), bool(maps)))
    return stages


def activations(model: Sequential, stages: list[Stage], image: np.ndarray) -> Activations:
    """Run one preprocessed 28x28 image through ``model``, keeping every stage's output.

    Parameters
    ----------
    model : Sequential
    stages : list of Stage
        From :func:`describe` for this model.
    image : numpy.ndarray
        (28, 28) floats in [0, 1], as :func:`barenet.vision.preprocess` returns;
        the model's own normalisation is applied here via :meth:`Sequential.prepare_input`.
    """
    outputs = _layer_outputs(model, image)
    vectors, feature_maps = [], None
    for stage in stages:
        maps = [o for o in outputs[stage.first:stage.stop] if o.ndim == 4]
        if maps:
            vectors.append(maps[-1][0].mean(axis=(1, 2)))
            if feature_maps is None:
                feature_maps = np.asarray(maps[-1][0])
        else:
            vectors.append(np.asarray(outputs[stage.stop - 1][0]).ravel())
    last = outputs[-1]  # the network's output is already here: no second forward pass
    probabilities = model.probabilities(last)[0]  # calibrated, as predict_proba gives
    return Activations(vectors, feature_maps, probabilities)


def load_model(path: Path | None) -> tuple[Sequential | None, Path | None, str | None]:
    """The model for the app, or a message saying why there is none.

    Parameters
    ----------
    path : pathlib.Path or None
        The model file; ``None`` takes the newest under ``runs/``.

    Returns
    -------
    (model, path, message)
        ``model`` and its ``path`` on success, ``message`` ``None``; else
        ``model`` ``None`` and ``message`` one line for the window.
    """
    if path is None:
        path = paths.latest_model()
        if path is None:
            return None, None, (f"No trained model yet (none under {paths.RUNS_DIR}/).\n\n"
                                "Train one with `barenet train`, then open this window again, "
                                "or start it with `barenet draw --model FILE`.")
    try:
        model = load(path)
        check_input_size(model, path)
        return model, path, None
    except BarenetError as exc:
        return None, path, str(exc)
