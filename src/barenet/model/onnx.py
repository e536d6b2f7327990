"""Export a model to ONNX: the same probabilities ``predict_proba`` gives, anywhere.

The graph (opset 17) computes, for a float32 input ``image`` of shape
(N, 1, 28, 28) with pixels in [0, 1]:

1. the model's stored normalisation, ``(x - mean) * (1 / std)``;
2. a reshape to the model's ``input_shape``;
3. every layer, in eval mode (dropout is the identity, batch norm uses its
   running statistics);
4. the calibration, ``z / T``, and a softmax,

and has two outputs: ``logits`` (N, K), the network's raw outputs, and
``probabilities`` (N, K), which equal ``Sequential.predict_proba`` on the same
images to within 1e-5 (a model ending in its own ``Softmax`` gives its outputs
as both). The weights are stored as float32 whatever the model's dtype: a value
float32 cannot hold (a float64 weight beyond 3.4e38, or NaN) is refused, as is
a model whose file would pass protobuf's 2 GB limit (:func:`onnx_bytes`, known
from the parameter counts before anything is built).

Built with the helpers of the ``onnx`` package (``pip install 'barenet[onnx]'``),
imported only here.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BarenetError
from ..io.files import write_new
from ..io.memory import format_bytes
from ..nn.layers import LAYERS
from ..nn.module import Module

if TYPE_CHECKING:
    from .classifier import Sequential

OPSET = 17
IR_VERSION = 8  # what opset 17 came with: older runtimes read it too
INPUT = "image"
OUTPUTS = ("logits", "probabilities")
IMAGE_SHAPE = (1, 28, 28)
#: Largest ONNX file: protobuf cannot serialise a message of 2 GiB or more.
MAX_BYTES = (1 << 31) - 1
#: Bytes of graph (nodes, names, attributes) per layer and for the steps around the layers,
#: at most: a few hundred are used.
_LAYER_BYTES = 1024


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise BarenetError("exporting to ONNX needs the onnx package: "
                           "pip install 'barenet[onnx]'") from None
    return onnx, helper, numpy_helper


class _Graph:
    """Nodes and float32 initialisers added one at a time, each with a fresh name: what
    each layer's ``onnx_nodes(graph, x)`` writes into (:meth:`node`, :meth:`constant`).

    ``where`` names the part of the model being added (``"layer 3 (Linear)"``), for
    the message refusing a value float32 cannot hold.
    """

    def __init__(self) -> None:
        _, self.helper, self.numpy_helper = _onnx()
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0
        self.where = "the model"

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint: str, array: Any, dtype: Any = np.float32) -> str:
        with np.errstate(over="ignore"):  # a float64 beyond float32's range: inf, refused
            values = np.asarray(array, dtype)
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise BarenetError(f"cannot export to ONNX: the {hint} of {self.where} holds values "
                               "that are NaN or infinite as float32 (ONNX weights are float32, "
                               f"at most {np.finfo(np.float32).max:.3g} in magnitude); this "
                               "model can only be used with barenet")
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(values, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, output: str | None = None,
             **attributes: Any) -> str:
        output = output or self.name(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=self.name(op),
                                                **attributes))
        return output


def exportable(layer_type: type) -> bool:
    """Whether a layer type says how it is written in ONNX (its own ``onnx_nodes``)."""
    return getattr(layer_type, "onnx_nodes", Module.onnx_nodes) is not Module.onnx_nodes


def onnx_bytes(model: Sequential) -> int:
    """At most how many bytes the ONNX file of ``model`` takes, from its parameter counts:
    four per value of its arrays (float32), and :data:`_LAYER_BYTES` per layer and for
    the normalisation, reshape, calibration and outputs around them."""
    values = sum(array.size for array in model.state_dict().values())
    return 4 * values + _LAYER_BYTES * (len(model.layers) + 8)


def to_onnx(model: Sequential) -> Any:
    """The ``onnx.ModelProto`` of ``model`` (see the module docstring), checked by ``onnx``.

    Raises
    ------
    BarenetError
        The onnx package is missing, the model does not record its input shape,
        takes no 28x28 image, has a layer with no ONNX equivalent (named), would
        take more than :data:`MAX_BYTES`, or holds a value float32 cannot hold
        (named).
    """
    onnx, helper, _ = _onnx()
    for i, layer in enumerate(model.layers):
        if not exportable(type(layer)):
            supported = [name for name in LAYERS.names() if exportable(LAYERS[name])]
            raise BarenetError(f"layer {i} ({type(layer).__name__}) has no ONNX equivalent; "
                               f"export supports {', '.join(supported)}")
    if model.input_shape is None or math.prod(model.input_shape) != math.prod(IMAGE_SHAPE):
        raise BarenetError(f"the model takes input shape {model.input_shape}; ONNX export "
                           "needs a model of 28x28 images (784 values)")
    size = onnx_bytes(model)
    if size > MAX_BYTES:
        raise BarenetError(f"the model would take about {format_bytes(size)} as ONNX (its "
                           "weights as float32), more than the "
                           f"{format_bytes(MAX_BYTES)} protobuf can write in one file; "
                           "export a smaller model")
    g = _Graph()
    g.where = "the normalisation"
    x = INPUT
    standardization = model.standardization
    if standardization is not None:
        x = g.node("Sub", [x, g.constant("mean", standardization.mean)], "centred")
        x = g.node("Mul", [x, g.constant("inv_std", 1.0 / standardization.std)],
                   "normalised")
    shape = g.constant("shape", [-1, *model.input_shape], np.int64)
    x = g.node("Reshape", [x, shape], "input")
    for i, layer in enumerate(model.layers):
        g.where = f"layer {i} ({type(layer).__name__})"
        x = layer.onnx_nodes(g, x)
    g.where = "the calibration"
    g.node("Identity", [x], "logits", output=OUTPUTS[0])
    if model.ends_in_softmax:
        g.node("Identity", [x], "probabilities", output=OUTPUTS[1])
    else:
        scaled = g.node("Div", [x, g.constant("temperature", model.temperature)],
                        "calibrated")
        g.node("Softmax", [scaled], "softmax", output=OUTPUTS[1], axis=1)
    classes = len(model.class_names)
    graph = helper.make_graph(
        g.nodes, "barenet",
        [helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT, ["N", *IMAGE_SHAPE])],
        [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["N", classes])
         for name in OUTPUTS],
        g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="barenet", ir_version=IR_VERSION)
    helper.set_model_props(proto, {"class_names": ",".join(model.class_names),
                                   "input": "image: float32 (N, 1, 28, 28), pixels in [0, 1]"})
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model: Sequential, path: str | os.PathLike) -> None:
    """Write :func:`to_onnx` of ``model`` to the new file ``path``, atomically.

    Raises
    ------
    BarenetError
        As :func:`to_onnx`, or ``path`` exists (no file is replaced).
    """
    write_new(path, to_onnx(model).SerializeToString())
