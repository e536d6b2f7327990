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
from collections.abc import Iterable, Iterator, Mapping
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

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every array needed to restore the layer: parameters, then buffers (the arrays
        themselves, not copies)."""
        arrays = {name: p.data for name, p in self.params.items()}
        arrays.update(self.buffers)
        return arrays

    def load_state_dict(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Overwrite arrays of :meth:`state_dict` in place, by name (shapes already checked:
        the model file's and the checkpoint's readers check them first)."""
        for name, value in arrays.items():
            target = self.params[name].data if name in self.params else self.buffers[name]
            target[...] = value

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


class Sequential(Module):
    """A chain of layers: ``forward`` left to right, ``backward`` right to left.

    The network and nothing more; :class:`barenet.Sequential` (the model ring's) adds
    what a trained model remembers and prediction on raw images.

    Parameters
    ----------
    layers : iterable of Module
    input_shape : tuple of int, optional
        Shape of one sample, e.g. ``(784,)`` or ``(1, 28, 28)``, for :meth:`summary`;
        inferred from a first ``Linear`` layer, or from the first batch through
        :meth:`forward`, when not given.
    """

    def __init__(self, layers: Iterable[Module], input_shape: tuple[int, ...] | None = None
                 ) -> None:
        super().__init__()
        self.layers = list(layers)
        if input_shape is None and self.layers and hasattr(self.layers[0], "in_features"):
            input_shape = (self.layers[0].in_features,)
        self.input_shape = tuple(int(d) for d in input_shape) if input_shape else None

    # -- the two passes ---------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layers in order: (N, *input_shape) -> (N, *output_shape).

        The first batch also tells a model built without ``input_shape`` what one
        sample's shape is (for :meth:`summary`).
        """
        if self.input_shape is None and getattr(x, "ndim", 0) >= 2:
            self.input_shape = tuple(int(d) for d in x.shape[1:])
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``dL/d(output)``; returns ``dL/dx`` of the input.

        ``input_grad=False`` (a training step) skips what only that return value
        needs: layers before the first one with parameters are not visited, that
        layer is told it may skip its input gradient (``needs_input_grad``), and
        None is returned. For an MLP this saves a third of the backward matmuls.
        """
        input_grad = input_grad and self.needs_input_grad
        first = 0 if input_grad else next(
            (i for i, layer in enumerate(self.layers) if layer.parameters()), len(self.layers))
        delta = grad_out
        try:
            for i in range(len(self.layers) - 1, first - 1, -1):
                layer = self.layers[i]
                layer.needs_input_grad = input_grad or i > first
                delta = layer.backward(delta)
        finally:  # a layer called on its own afterwards returns its input gradient again
            if first < len(self.layers):
                self.layers[first].needs_input_grad = True
        return delta if input_grad else None

    # -- parameters, state, modes -------------------------------------------
    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every layer's arrays, named ``"<layer index>.<name>"`` (``"0.weight"``)."""
        return {f"{i}.{name}": a for i, layer in enumerate(self.layers)
                for name, a in layer.state_dict().items()}

    def load_state_dict(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Overwrite the arrays named as :meth:`state_dict` names them, in place."""
        for name, value in arrays.items():
            index, _, rest = name.partition(".")
            self.layers[int(index)].load_state_dict({rest: value})

    def astype(self, dtype: Any) -> Sequential:
        for layer in self.layers:
            layer.astype(dtype)
        return self

    @property
    def dtype(self) -> np.dtype:
        params = self.parameters()
        return params[0].data.dtype if params else np.dtype(np.float32)

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    # -- description -----------------------------------------------------------
    def config(self) -> dict:
        return {"layers": [{"type": type(layer).__name__, "config": layer.config()}
                           for layer in self.layers],
                "input_shape": list(self.input_shape) if self.input_shape else None}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        for layer in self.layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of layers, their output shapes and parameter counts.

        Shapes are known when the model knows its input shape (given when built,
        read from a model file, inferred from a first ``Linear`` or from the first
        batch through :meth:`forward`), or from ``input_shape`` here; else "?".
        """
        rows = [("layer", "output shape", "parameters")]
        shape = tuple(input_shape) if input_shape is not None else self.input_shape
        total = 0
        for layer in self.layers:
            shape = layer.output_shape(shape) if shape is not None else None
            count = sum(p.data.size for p in layer.parameters())
            total += count
            rows.append((repr(layer), str(shape) if shape else "?", f"{count:,}"))
        rows.append(("total", "", f"{total:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"

