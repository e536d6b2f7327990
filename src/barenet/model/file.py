"""Model files: one ``.npz`` with the arrays and a JSON description, loaded without pickle.

Layout of the archive (a plain zip of ``.npy`` members):

- ``__barenet__.npy``: the UTF-8 JSON header as a uint8 array: format name
  and version, barenet version, dtype, the architecture (layer types and
  constructor arguments, input shape) and free-form metadata
  (normalisation, class names, dataset, metrics).
- ``<layer index>.<array name>.npy``: every parameter and buffer, e.g. ``0.weight``.

:func:`barenet.model.load.load` reads them back and trusts nothing;
:func:`save` writes only what it will read (:meth:`~barenet.model.card.Card.read`,
the header limit, :data:`MAX_HEADER_BYTES`).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BarenetError
from ..io.files import atomic_write
from ..nn.registry import LAYERS
from ..version import __version__
from .card import Card

if TYPE_CHECKING:
    from ..nn.module import Sequential

#: Largest JSON header of a model file or checkpoint (architecture and metadata).
MAX_HEADER_BYTES = 1 << 20
#: Bytes an ``.npy`` member may hold beyond its array data.
NPY_OVERHEAD = 4096
#: barenet writes its arrays uncompressed; a compressed member may expand to at most this
#: many times its stored size (float weights compress far less; a bomb far more).
MAX_INFLATION = 4
FORMAT = "barenet-model"
FORMAT_VERSION = 1
HEADER = "__barenet__"


def save(model: Sequential, path: str | os.PathLike,
         metadata: dict[str, Any] | None = None) -> None:
    """Write ``model`` (architecture, arrays, ``model.metadata`` + ``metadata``) atomically.

    ``model`` may be a plain :class:`barenet.nn.Sequential`, which has no metadata of its own.

    Raises
    ------
    BarenetError
        A layer :func:`load` could not rebuild (not in the layer registry), or
        metadata that JSON cannot hold (NaN, infinities, arbitrary objects).
    """
    for i, layer in enumerate(model.layers):
        name = type(layer).__name__
        if name not in LAYERS or LAYERS[name] is not type(layer):
            raise BarenetError(f"layer {i} ({name}) is not a registered layer type, so the "
                               "model file could not be loaded; register it with "
                               "@barenet.nn.layers.LAYERS.register()")
    arrays = model.state_dict()
    text = _header_text(model, metadata)
    try:
        Card.read(json.loads(text)["metadata"], str(model.dtype))  # what load will read
    except BarenetError as exc:
        raise BarenetError(f"cannot save the model: {exc}") from None
    if len(text.encode("utf-8")) > MAX_HEADER_BYTES:
        raise BarenetError(f"cannot save the model: its description takes "
                           f"{len(text.encode('utf-8')):,} bytes, more than the "
                           f"{MAX_HEADER_BYTES:,} a model file may hold")
    members = {HEADER: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    members.update(arrays)
    with atomic_write(path) as handle:
        np.savez(handle, **members)


def _header_text(model: Sequential, metadata: dict[str, Any] | None = None) -> str:
    """The JSON header :func:`save` writes for ``model``."""
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "barenet_version": __version__,
        "dtype": str(model.dtype),
        "architecture": model.config(),
        "arrays": {name: list(a.shape) for name, a in model.state_dict().items()},
        "metadata": {**getattr(model, "metadata", {}), **(metadata or {})},
    }
    try:
        return json.dumps(header, indent=1, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise BarenetError(f"cannot save model metadata: {exc}; keep it to numbers, strings, "
                           "lists and dicts, with no NaN or infinity") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a model file's metadata")
