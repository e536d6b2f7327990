"""Config ``[model]`` table -> ``Sequential``, inferring each layer's input size."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import BarenetError
from ..layers.registry import LAYERS
from ..model import Sequential
from ..module import Parameter
from ..optim import OPTIMIZERS, SCHEDULES, Optimizer, Schedule, make_schedule


def build_model(spec: dict[str, Any], rng: np.random.Generator,
                dtype: Any = np.float32) -> Sequential:
    """Build the layers of ``spec`` (``input_shape`` and ``layers``) in order.

    Sizes that follow from the previous layer are filled in: ``in_features``
    of a Linear is the flattened size reaching it, ``in_channels`` of a
    convolution and ``num_features`` of a batch-norm are the channel count.
    Every layer that draws random numbers gets its own stream from ``rng``.
    """
    shape = tuple(spec["input_shape"])
    layers = []
    for i, layer_spec in enumerate(spec["layers"]):
        cls = LAYERS[layer_spec["type"]]
        kwargs = {k: v for k, v in layer_spec.items() if k != "type"}
        accepted = inspect.signature(cls.__init__).parameters
        if "in_features" in accepted:
            if len(shape) != 1:
                raise BarenetError(f"[model] layer {i + 1} ({cls.__name__}) needs a flat input "
                                   f"but receives shape {shape}; put a Flatten before it")
            kwargs["in_features"] = shape[0]
        for name in ("in_channels", "num_features"):
            if name in accepted:
                kwargs[name] = shape[0]
        if "rng" in accepted:
            kwargs["rng"] = np.random.default_rng(rng.integers(2**63))
        layer = cls(**kwargs)
        shape = layer.output_shape(shape)
        if any(d < 1 for d in shape):
            raise BarenetError(f"[model] layer {i + 1} ({cls.__name__}) leaves no output "
                               f"(shape {shape}); the input is too small for it")
        layers.append(layer)
    return Sequential(layers, tuple(spec["input_shape"])).astype(dtype)


def build_optimizer(config: dict[str, Any], params: list[Parameter]) -> Optimizer:
    """The ``[optimizer]`` table applied to ``params``."""
    options = dict(config["optimizer"])
    return OPTIMIZERS[options.pop("name")](params, **options)


def build_schedule(config: dict[str, Any], lr: float) -> Schedule:
    """The ``[schedule]`` table from ``lr``; a cosine spans all ``epochs`` unless told."""
    options = dict(config["schedule"])
    name = options.pop("name")
    if "epochs" in inspect.signature(SCHEDULES[name].__init__).parameters:
        options.setdefault("epochs", config["epochs"])
    return make_schedule(name, lr, **options)
