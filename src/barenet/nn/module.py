"""The building block every layer shares: ``Module`` and ``Parameter``.

A module maps an input array to an output array (``forward``) and maps the
gradient of the loss with respect to its output back to the gradient with
respect to its input (``backward``), storing the gradients of its own
parameters on the way. That is the whole of back-propagation: a
``Sequential`` only calls ``forward`` left to right and ``backward`` right to
left.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .options import Spec


class Parameter:
    """A trainable array ``data`` and the gradient ``grad`` of the loss with respect to it.

    Optimizers see nothing but these pairs and update ``data`` in place.
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data: np.ndarray, name: str = "") -> None:
        self.data = data
        self.grad = np.zeros_like(data)
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of layers: ``forward``, ``backward``, parameters, train/eval mode.

    Subclasses set ``self.params`` (name -> :class:`Parameter`), each also an
    attribute as in PyTorch: ``layer.weight``, ``layer.bias`` (``None`` for a
    layer built with ``bias=False``), ``batchnorm.gamma``. For layers
    with non-trainable state such as running statistics, ``self.buffers``
    (name -> array). ``config()`` returns the constructor arguments, so a model
    file can rebuild the layer with ``type(layer)(**config)``.

    What a layer is, it declares in its own class: ``spec`` (the options its
    constructor accepts and checks, the arrays it holds, the shape it gives:
    :class:`~barenet.nn.options.Spec`), ``short_name`` (the app's), ``output_axis``
    (for folding a batch norm into it), :meth:`onnx_nodes`, and a classmethod
    ``gradcheck_examples(rng)`` giving ``(label, layer, x)`` triples for
    :mod:`barenet.nn.gradcheck`. It registers itself with
    ``@LAYERS.register()`` (:data:`barenet.nn.layers.LAYERS`), so that configs and model
    files can name it.

    ``needs_input_grad`` is True unless a :class:`~barenet.Sequential` has
    told the layer that nobody will use ``dL/dx`` (it is the first layer with
    parameters and training does not need the gradient of the network's
    input); ``backward`` may then skip computing it and return None.
    """

    needs_input_grad = True
    #: Reused buffers a forward pass writes into (a convolution's im2col matrix): a
    #: :meth:`replica` gets its own.
    work_arrays: tuple[str, ...] = ()
    #: What the constructor accepts, the arrays the layer holds and the shape it gives;
    #: a registered layer declares its own (this one: no options, the shape unchanged).
    spec: Spec = Spec({})
    #: The layer's name in the app's narrow columns (None: its type name).
    short_name: str | None = None
    #: For a layer computing ``x W + b`` (Linear, Conv2d): the axis of its ``weight`` that
    #: runs over its outputs, so that a batch norm after it can be folded into it
    #: (:func:`barenet.nn.layers.batchnorm.fold_into`). None: no such fold.
    output_axis: int | None = None

    def __init__(self) -> None:
        self.training = True
        self.params: dict[str, Parameter] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        """``layer.weight``, ``layer.bias``...: the :class:`Parameter` of that name.

        Called only when ``name`` is not an ordinary attribute. ``weight`` and
        ``bias`` are ``None`` on layers that have no such parameter.
        """
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        if name in ("weight", "bias"):
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- the two passes -------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The eval-mode forward pass for prediction, with no backward pass after it.

        ``forward`` unless a layer has a faster way that keeps nothing for ``backward``
        (a convolution and a max-pooling work with the channels last in memory:
        docs/math.md). The tests hold each such ``infer`` equal to ``forward``
        in eval mode, up to rounding.
        """
        return self.forward(x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters and state ------------------------------------------
    def parameters(self) -> list[Parameter]:
        """The trainable parameters, in a fixed order."""
        return list(self.params.values())

    def zero_grad(self) -> None:
        """Set every ``grad`` to zero, as PyTorch users call it.

        barenet does not need it: ``backward`` overwrites the gradients instead of
        adding to them, so each training step starts from fresh ones anyway.
        """
        for p in self.parameters():
            p.grad[...] = 0

    def state(self) -> dict[str, np.ndarray]:
        """Every array needed to restore the layer: parameters, then buffers."""
        arrays = {name: p.data for name, p in self.params.items()}
        arrays.update(self.buffers)
        return arrays

    def set_state(self, name: str, value: np.ndarray) -> None:
        """Overwrite one array of :meth:`state` (shape already validated)."""
        if name in self.params:
            self.params[name].data[...] = value
        else:
            self.buffers[name][...] = value

    def astype(self, dtype: Any) -> Module:
        """Cast parameters, gradients and floating buffers to ``dtype`` (in place); arrays
        already of ``dtype`` are kept, not copied."""
        for p in self.params.values():
            if p.data.dtype != dtype:
                p.data = p.data.astype(dtype)
                p.grad = np.zeros_like(p.data)
        for name, buf in self.buffers.items():
            if np.issubdtype(buf.dtype, np.floating):
                self.buffers[name] = buf.astype(dtype, copy=False)
        return self

    def replica(self) -> Module:
        """A copy sharing the parameters and buffers, with its own working state.

        For running the same layer in several threads at once (prediction): each
        forward pass then keeps its intermediates on its own replica.
        """
        twin = copy.copy(self)
        for name in self.work_arrays:
            setattr(twin, name, None)
        return twin

    # -- modes -----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout drops, batch-norm uses batch statistics."""
        self.training = mode
        return self

    def eval(self) -> Module:
        """Inference mode: dropout is the identity, batch-norm uses running statistics."""
        return self.train(False)

    @contextmanager
    def evaluating(self) -> Iterator[Module]:
        """``with model.evaluating():`` eval mode inside, the previous mode restored after."""
        was_training = self.training
        self.eval()
        try:
            yield self
        finally:
            self.train(was_training)

    # -- description -------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable) that rebuild this layer."""
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output given one sample's input shape: the spec's
        ``shape``, from the layer's :meth:`config`."""
        spec = type(self).spec
        return spec.shape(spec.full(self.config()), input_shape)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        """Add this layer, in eval mode, to an ONNX graph; return its output's name.

        ``graph`` (built by :mod:`barenet.model.onnx`) has ``node(op, inputs, hint,
        **attributes)`` and ``constant(hint, array)``, each returning a name. A layer
        without this method cannot be exported.
        """
        raise NotImplementedError(f"{type(self).__name__} has no ONNX equivalent")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
