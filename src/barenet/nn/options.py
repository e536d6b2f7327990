"""The option language: what each constructor argument of a layer, optimizer or schedule
accepts, declared explicitly, so that what a writer may write is exactly what a reader reads.

- An :class:`Option` is one constructor argument: its kind (a size, a pair of sizes, a
  number in a range, a flag, a choice...), its default, and whether a config leaves it
  out because the builder fills it in from the shape reaching the layer
  (``in_features``, ``in_channels``, ``num_features``).
- A :class:`Spec` is what one registered class accepts: its options and, for a layer,
  the arrays it holds and the shape it gives, known before anything is allocated.
- :func:`check_options` checks given options against a spec, in one line per problem.

Nothing here is read from type annotations: each option says what it takes.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import BarenetError

#: Largest value of any size option (units, channels, kernel, stride, padding) and of any
#: input dimension. The dropout paper's widest MLP had 8,192 units per layer.
MAX_DIMENSION = 1 << 16
#: Most values one sample may have entering or leaving any layer (a batch holds many).
MAX_SAMPLE_VALUES = 1 << 22

REQUIRED = object()  # the default of an option that must be given


@dataclass(frozen=True)
class Option:
    """One constructor argument: what values it takes.

    Attributes
    ----------
    kind : str
        ``"size"`` (an int in [low, MAX_DIMENSION]), ``"pair"`` (such an int, or
        a list of two), ``"number"`` (an int or float in [low, high], ends open
        where ``open_low``/``open_high``), ``"numbers"`` (a list of two such
        numbers, the first at most the second), ``"flag"`` (true or false),
        ``"choice"`` (one of ``choices``).
    default : Any
        Used when the option is left out; :data:`REQUIRED` if it must be given.
    low, high : float
        The range of a size, pair or number.
    open_low, open_high : bool
        Whether ``low`` / ``high`` themselves are excluded.
    choices : tuple of str
        The values of a choice.
    inferred : bool
        Filled in by the model builder from the shape reaching the layer, so a
        config must leave it out (a model file has it).
    none_ok : bool
        ``None`` (``null`` in a file; leaving it out in a config) is accepted.
    ordered : bool
        Whether the two numbers of a ``"numbers"`` option must be ``low <= high``.
    """

    kind: str
    default: Any = REQUIRED
    low: float = 0
    high: float = MAX_DIMENSION
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()
    inferred: bool = False
    none_ok: bool = False
    ordered: bool = True

    def describe(self) -> str:
        """The valid values, in words."""
        lo, hi = ("(" if self.open_low else "["), (")" if self.open_high else "]")
        if self.kind == "size":
            return f"an integer in [{self.low:g}, {self.high:g}]"
        if self.kind == "pair":
            return f"an integer in [{self.low:g}, {self.high:g}] or a list of two"
        if self.kind == "number":
            return f"a number in {lo}{self.low:g}, {self.high:g}{hi}"
        if self.kind == "numbers":
            if not self.ordered:
                return f"a list of two numbers in {lo}{self.low:g}, {self.high:g}{hi}"
            return f"[low, high] with low <= high, both in {lo}{self.low:g}, {self.high:g}{hi}"
        if self.kind == "flag":
            return "true or false"
        return "one of " + ", ".join(self.choices)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not valid for this option, or None if it is."""
        if value is None and self.none_ok:
            return None
        ok = {"size": lambda: self._size(value),
              "pair": lambda: self._size(value) or isinstance(value, (list, tuple))
              and len(value) == 2 and all(self._size(v) for v in value),
              "number": lambda: self._number(value),
              "numbers": lambda: isinstance(value, (list, tuple)) and len(value) == 2
              and all(self._number(v) for v in value)
              and (not self.ordered or value[0] <= value[1]),
              "flag": lambda: isinstance(value, bool),
              "choice": lambda: isinstance(value, str) and value in self.choices}[self.kind]
        return None if ok() else f"must be {self.describe()}, got {reprlib.repr(value)}"

    def _size(self, value: Any) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool)
                and self.low <= value <= self.high)

    def _number(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (math.isfinite(value)
                and (value > self.low if self.open_low else value >= self.low)
                and (value < self.high if self.open_high else value <= self.high))


def size(default: Any = REQUIRED, low: int = 1, inferred: bool = False) -> Option:
    return Option("size", default, low=low, inferred=inferred)


def pair(default: Any = REQUIRED, low: int = 1, none_ok: bool = False) -> Option:
    return Option("pair", default, low=low, none_ok=none_ok)


def number(default: Any = REQUIRED, low: float = 0.0, high: float = math.inf,
           open_low: bool = False, open_high: bool = False) -> Option:
    return Option("number", default, low=low, high=high, open_low=open_low,
                  open_high=open_high)


def numbers(default: Any, low: float, high: float, open_low: bool = False) -> Option:
    return Option("numbers", default, low=low, high=high, open_low=open_low)


def flag(default: bool) -> Option:
    return Option("flag", default)


def choice(default: str, *choices: str) -> Option:
    return Option("choice", default, choices=choices)


#: Weight initialisers a layer can name (barenet.nn.init.INITIALIZERS; a test keeps them equal).
INITS = ("he", "lecun", "xavier")

Arrays = Callable[[Mapping[str, Any]], list[tuple[int, ...]]]
Shape = Callable[[Mapping[str, Any], tuple[int, ...]], tuple[int, ...]]


@dataclass(frozen=True)
class Spec:
    """What one registered class accepts: its options and, for a layer, its arrays.

    ``arrays(options)`` gives the shape of every parameter and buffer the layer
    holds, from its full options (defaults filled in), and ``shape(options,
    input_shape)`` one sample's output shape, both without building the layer
    (the tests hold them equal to the built layer's). ``rule(options)`` says
    what is wrong with a combination of valid options, or None.
    """

    options: dict[str, Option]
    arrays: Arrays = field(default=lambda options: [])
    random: bool = False  # the constructor takes an ``rng``: the builder gives it a stream
    shape: Shape = field(default=lambda options, shape: shape)
    rule: Callable[[Mapping[str, Any]], str | None] = field(default=lambda options: None)

    def values(self, options: Mapping[str, Any]) -> int:
        """How many numbers the layer's arrays hold, from its full options."""
        return sum(math.prod(shape) for shape in self.arrays(options))

    def full(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` with the defaults of the options left out (REQUIRED ones stay out)."""
        out = {k: o.default for k, o in self.options.items() if o.default is not REQUIRED}
        out.update(given)
        return out


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _windows(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Window positions (OH, OW) of a convolution or pooling over (C, H, W)."""
    kernel, padding = _pair(o["kernel_size"]), _pair(o["padding"])
    stride = kernel if o.get("stride") is None else _pair(o["stride"])
    return tuple((n + 2 * p - k) // s + 1
                 for n, k, s, p in zip(shape[1:], kernel, stride, padding, strict=True))


def _image_shape(kind: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 3:
        raise BarenetError(f"{kind} needs images (C, H, W) but receives shape {shape}")


def _flat_shape(kind: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 1:
        raise BarenetError(f"{kind} needs a flat input but receives shape {shape}; put a "
                           "Flatten before it")


def _pool_padding(o: Mapping[str, Any]) -> str | None:
    """A window must hold at least one real pixel: padding at most half the kernel."""
    if any(2 * p > k for p, k in zip(_pair(o["padding"]), _pair(o["kernel_size"]), strict=True)):
        return (f"padding {o['padding']} must be at most half the kernel size "
                f"{o['kernel_size']} (a window of padding only)")
    return None


def _batchnorm_shape(ndim: int) -> Shape:
    def shape_of(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != ndim:
            kind = "BatchNorm1d needs features (C,)" if ndim == 1 else \
                "BatchNorm2d needs images (C, H, W)"
            raise BarenetError(f"{kind} but receives shape {shape}")
        return shape

    return shape_of


def _conv_shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    _image_shape("Conv2d", shape)
    return (o["out_channels"], *_windows(o, shape))


def _linear_shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    _flat_shape("Linear", shape)
    return (o["out_features"],)


def _global_pool_shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    _image_shape("GlobalAvgPool2d", shape)
    return (shape[0],)


def _pool_shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    _image_shape("pooling", shape)
    return (shape[0], *_windows(o, shape))


def _linear_arrays(o: Mapping[str, Any]) -> list[tuple[int, ...]]:
    return [(o["in_features"], o["out_features"])] + ([(o["out_features"],)] if o["bias"] else [])


def _conv_arrays(o: Mapping[str, Any]) -> list[tuple[int, ...]]:
    weight = (o["out_channels"], o["in_channels"], *_pair(o["kernel_size"]))
    return [weight] + ([(o["out_channels"],)] if o["bias"] else [])


def _batchnorm_arrays(o: Mapping[str, Any]) -> list[tuple[int, ...]]:
    return [(o["num_features"],)] * 4  # gamma, beta, running mean and variance


_POOL = {"kernel_size": pair(), "stride": pair(None, none_ok=True), "padding": pair(0, low=0)}
_BATCHNORM = {"num_features": size(inferred=True), "eps": number(1e-5, open_low=True),
              "momentum": number(0.1, high=1.0)}

#: Layer type -> what it accepts (``rng`` and ``dtype`` are not options: no file holds them).
LAYER_SPECS: dict[str, Spec] = {
    "Linear": Spec({"in_features": size(inferred=True), "out_features": size(),
                    "init": choice("he", *INITS), "bias": flag(True)}, _linear_arrays, random=True,
                   shape=_linear_shape),
    "Conv2d": Spec({"in_channels": size(inferred=True), "out_channels": size(),
                    "kernel_size": pair(), "stride": pair(1), "padding": pair(0, low=0),
                    "init": choice("he", *INITS), "bias": flag(True)}, _conv_arrays,
                   random=True, shape=_conv_shape),
    "MaxPool2d": Spec(_POOL, shape=_pool_shape, rule=_pool_padding),
    "AvgPool2d": Spec(_POOL, shape=_pool_shape, rule=_pool_padding),
    "GlobalAvgPool2d": Spec({}, shape=_global_pool_shape),
    "BatchNorm1d": Spec(_BATCHNORM, _batchnorm_arrays, shape=_batchnorm_shape(1)),
    "BatchNorm2d": Spec(_BATCHNORM, _batchnorm_arrays, shape=_batchnorm_shape(3)),
    "Dropout": Spec({"p": number(0.5, high=1.0, open_high=True)}, random=True),
    "ReLU": Spec({}),
    "LeakyReLU": Spec({"alpha": number(0.01, high=1.0)}),
    "Sigmoid": Spec({}),
    "Tanh": Spec({}),
    "Softmax": Spec({}),
    "Flatten": Spec({}, shape=lambda o, shape: (math.prod(shape),)),
}

_LR = number(REQUIRED, open_low=True)
_BETAS = Option("numbers", (0.9, 0.999), low=0.0, high=1.0, open_high=True, ordered=False)
# beta = 1 never forgets, and makes the bias correction 1 - beta^t divide by zero
_MOMENTUM = number(0.0, high=1.0, open_high=True)  # 1 never forgets: the steps only grow
_DECAY = number(0.99, high=1.0, open_high=True)  # RMSProp's alpha = 1 keeps the mean square 0

#: Optimizer name -> its options (``params`` is not one: the trainer passes the model's).
OPTIMIZER_SPECS: dict[str, Spec] = {
    "sgd": Spec({"lr": number(0.01, open_low=True), "momentum": _MOMENTUM,
                 "nesterov": flag(False), "weight_decay": number(0.0)}),
    "adam": Spec({"lr": number(1e-3, open_low=True), "betas": _BETAS,
                  "eps": number(1e-8, open_low=True), "weight_decay": number(0.0)}),
    "adamw": Spec({"lr": number(1e-3, open_low=True), "betas": _BETAS,
                   "eps": number(1e-8, open_low=True), "weight_decay": number(0.01)}),
    "rmsprop": Spec({"lr": number(1e-2, open_low=True), "alpha": _DECAY,
                     "eps": number(1e-8, open_low=True), "momentum": _MOMENTUM,
                     "weight_decay": number(0.0)}),
}

#: Schedule name -> its options (``lr`` comes from the optimizer; a cosine's ``epochs``
#: defaults to the run's). ``warmup`` (epochs of linear warm-up) goes with any of them.
SCHEDULE_SPECS: dict[str, Spec] = {
    "constant": Spec({}),
    "step": Spec({"step_size": size(5), "gamma": number(0.1, high=1.0, open_low=True)}),
    "exponential": Spec({"gamma": number(0.9, high=1.0, open_low=True)}),
    "cosine": Spec({"epochs": number(REQUIRED, open_low=True), "min_lr": number(0.0)}),
}
WARMUP = number(0.0)

def check_options(where: str, spec: Spec, given: Mapping[str, Any], *,
                  inferred_given: bool = True) -> dict[str, Any]:
    """Check ``given`` against ``spec``; return the options with defaults filled in.

    ``inferred_given=False`` (a config's layer): options the builder infers
    must be left out, and are not required.

    Raises
    ------
    BarenetError
        ``"{where}: ..."`` naming an unknown or missing option, or a bad value and
        what is valid.
    """
    options = spec.options
    valid = [k for k, o in options.items() if inferred_given or not o.inferred]
    for key, value in given.items():
        if key not in valid:
            raise BarenetError(f"{where}: unknown option {key!r}; valid: "
                               f"{', '.join(valid) or 'none'}")
        problem = options[key].problem(value)
        if problem:
            raise BarenetError(f"{where}: {key} {problem}")
    missing = [k for k in valid if k not in given and options[k].default is REQUIRED]
    if missing:
        raise BarenetError(f"{where}: missing {', '.join(missing)}")
    full = spec.full(given)
    problem = spec.rule(full) if all(k in full for k in options) else None
    if problem:
        raise BarenetError(f"{where}: {problem}")
    return full


#: Arrays a layer holds that must be positive: batch-norm's running variance is under a
#: square root and a division (a negative one made every probability NaN).
POSITIVE_ARRAYS = ("running_var",)


def array_problem(name: str, array: Any) -> str | None:
    """Why a layer's array ``name`` (``"3.running_var"``) may not hold these values, or None."""
    import numpy as np

    if not np.all(np.isfinite(array)):
        return "holds NaN or infinite values"
    if name.rpartition(".")[2] in POSITIVE_ARRAYS and not np.all(array > 0):
        return "must be positive (a variance)"
    return None


def layer_spec(kind: str) -> Spec:
    """The spec of layer type ``kind``, or a one-line error naming the known ones."""
    if kind not in LAYER_SPECS:
        raise BarenetError(f"unknown layer type {kind!r}; known: {', '.join(sorted(LAYER_SPECS))} "
                           "(a new layer declares its options in barenet.nn.options.LAYER_SPECS)")
    return LAYER_SPECS[kind]


def check_sample_shape(where: str, shape: tuple[int, ...]) -> None:
    """One sample's shape entering or leaving a layer: positive sizes, bounded in all."""
    if any(d < 1 for d in shape):
        raise BarenetError(f"{where} leaves no output (shape {shape}); the input is too "
                           "small for it")
    if math.prod(shape) > MAX_SAMPLE_VALUES:
        raise BarenetError(f"{where} has {math.prod(shape):,} values per sample (shape "
                           f"{shape}), more than the {MAX_SAMPLE_VALUES:,} allowed")


def sample_values(layers: list[tuple[str, Mapping[str, Any]]],
                  input_shape: tuple[int, ...]) -> int:
    """Values one sample keeps through a pass of ``layers`` (type, full options) from
    ``input_shape``: every layer's output, plus each convolution's im2col columns
    (``C KH KW`` values per output pixel), which it keeps for backward."""
    shape, total = tuple(input_shape), math.prod(input_shape)
    for kind, options in layers:
        out = LAYER_SPECS[kind].shape(options, shape)
        total += math.prod(out)
        if kind == "Conv2d":
            total += options["in_channels"] * math.prod(_pair(options["kernel_size"])) \
                * math.prod(out[1:])
        shape = out
    return total


def model_layers(model: Any) -> list[tuple[str, dict[str, Any]]]:
    """A built model's layers as (type, full options), for :func:`sample_values`."""
    return [(type(layer).__name__, LAYER_SPECS[type(layer).__name__].full(layer.config()))
            for layer in model.layers]
