"""Config ``[model]`` table -> ``Sequential``, inferring each layer's input size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BarenetError
from ..io.memory import check_memory
from ..model.classifier import Sequential
from ..nn.module import Parameter
from ..nn.optim import OPTIMIZERS, SCHEDULES, Optimizer, Schedule, make_schedule
from ..nn.options import check_sample_shape, layer_spec
from ..nn.registry import LAYERS


def build_model(spec: dict[str, Any], rng: np.random.Generator, dtype: Any = np.float32,
                budget: tuple[int, int] | None = None) -> Sequential:
    """Build the layers of ``spec`` (``input_shape`` and ``layers``) in order.

    Sizes that follow from the previous layer are filled in (the options
    :mod:`barenet.nn.options` marks ``inferred``): ``in_features`` of a Linear is
    the flattened size reaching it, ``in_channels`` of a convolution and
    ``num_features`` of a batch-norm are the channel count. Every layer that
    draws random numbers gets its own stream from ``rng``. With ``budget``,
    ``(bytes, bytes per weight)``, a model whose weights (with their gradients
    and optimizer state) would need more is refused before anything is
    allocated (:func:`plan`).
    """
    layers = []
    for planned in plan(spec, budget):
        kwargs = dict(planned.kwargs)
        if layer_spec(planned.kind).random:
            kwargs["rng"] = np.random.default_rng(rng.integers(2**63))
        layers.append(LAYERS[planned.kind](**kwargs))
    return Sequential(layers, tuple(spec["input_shape"])).astype(dtype)


@dataclass(frozen=True)
class Planned:
    """One layer of a model not built yet: its type, constructor options (inferred sizes
    filled in), every option with defaults, and one sample's output shape."""

    kind: str
    kwargs: dict[str, Any]
    options: dict[str, Any]
    shape: tuple[int, ...]


def plan(spec: dict[str, Any], budget: tuple[int, int] | None = None) -> list[Planned]:
    """The model of a ``[model]`` table, layer by layer, with nothing built.

    Walks one sample's shape through the layers with :mod:`barenet.nn.options`'s
    declared shapes, refusing a layer that cannot take it, a sample that grows
    past the limit, and weights that need more than ``budget`` (see :func:`build_model`).
    """
    shape = tuple(spec["input_shape"])
    planned: list[Planned] = []
    values = 0
    for i, given in enumerate(spec["layers"]):
        kind = given["type"]
        declared = layer_spec(kind)
        where = f"[model] layer {i + 1} ({kind})"
        kwargs = {k: v for k, v in given.items() if k != "type"}
        inferred = [k for k, o in declared.options.items() if o.inferred]
        kwargs.update({k: shape[0] for k in inferred})
        full = declared.full(kwargs)
        values += declared.values(full)
        if budget is not None:
            check_memory(f"{where}: the {values:,} weights up to here",
                         values * budget[1], budget[0])
        try:
            shape = declared.shape(full, shape)
        except BarenetError as exc:
            raise BarenetError(f"{where}: {exc}") from None
        check_sample_shape(where, shape)
        planned.append(Planned(kind, kwargs, full, shape))
    return planned


def build_optimizer(config: dict[str, Any], params: list[Parameter]) -> Optimizer:
    """The ``[optimizer]`` table applied to ``params``."""
    options = dict(config["optimizer"])
    return OPTIMIZERS[options.pop("name")](params, **options)


def schedule_options(config: dict[str, Any]) -> dict[str, Any]:
    """The ``[schedule]`` table's options; a cosine spans all ``epochs`` unless told."""
    options = {k: v for k, v in config["schedule"].items() if k != "name"}
    if "epochs" in SCHEDULES[config["schedule"]["name"]].spec.options:
        options.setdefault("epochs", config["epochs"])
    return options


def build_schedule(config: dict[str, Any], lr: float) -> Schedule:
    """The ``[schedule]`` table from ``lr``."""
    return make_schedule(config["schedule"]["name"], lr, **schedule_options(config))
