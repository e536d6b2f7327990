"""The option language: what each constructor argument of a layer, optimizer or schedule
accepts, declared explicitly, so that what a writer may write is exactly what a reader reads.

- An :class:`Option` is one constructor argument: its kind (a size, a pair of sizes, a
  number in a range, a flag, a choice...), its default, and whether a config leaves it
  out because the builder fills it in from the shape reaching the layer
  (``in_features``, ``in_channels``, ``num_features``).
- A :class:`Spec` is what one registered class accepts: its options and, for a layer,
  the arrays it holds and the shape it gives, known before anything is allocated.
- :func:`check_options` checks given options against a spec, in one line per problem.

Each class declares its own spec beside itself (``Linear.spec``, ``Adam.spec``) and
registers itself (:data:`~barenet.nn.registry.LAYERS`); no table here names them.

Nothing here is read from type annotations: each option says what it takes.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

from ..errors import BarenetError
from .registry import LAYERS

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
        # Integral: NumPy's integers too, as a constructor may be given them
        return (isinstance(value, Integral) and not isinstance(value, bool)
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
Kept = Callable[[Mapping[str, Any], tuple[int, ...], tuple[int, ...]], int]


@dataclass(frozen=True)
class Spec:
    """What one registered class accepts: its options and, for a layer, its arrays.

    ``arrays(options)`` gives the shape of every parameter and buffer the layer
    holds, from its full options (defaults filled in), and ``shape(options,
    input_shape)`` one sample's output shape, both without building the layer
    (the tests hold them equal to the built layer's; :meth:`Module.output_shape
    <barenet.nn.module.Module.output_shape>` is this function). ``rule(options)``
    says what is wrong with a combination of valid options, or None. ``kept(options,
    input_shape, output_shape)`` counts the values one sample keeps for the backward
    pass beyond the layer's output (a convolution's im2col columns).

    A class declares its spec beside itself (``spec = Spec(...)`` in its body) and
    checks its arguments against it in its constructor (:func:`check_options`).
    """

    options: dict[str, Option]
    arrays: Arrays = field(default=lambda options: [])
    random: bool = False  # the constructor takes an ``rng``: the builder gives it a stream
    shape: Shape = field(default=lambda options, shape: shape)
    rule: Callable[[Mapping[str, Any]], str | None] = field(default=lambda options: None)
    kept: Kept = field(default=lambda options, shape, out: 0)

    def values(self, options: Mapping[str, Any]) -> int:
        """How many numbers the layer's arrays hold, from its full options."""
        return sum(math.prod(shape) for shape in self.arrays(options))

    def full(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` with the defaults of the options left out (REQUIRED ones stay out)."""
        out = {k: o.default for k, o in self.options.items() if o.default is not REQUIRED}
        out.update(given)
        return out


# -- shapes, for the specs of layers that slide windows or need a given input ---------


def two(value: Any) -> tuple[int, int]:
    """A ``pair`` option's value as (height, width): ``3 -> (3, 3)``, ``[3, 5] -> (3, 5)``."""
    if isinstance(value, Integral):
        return int(value), int(value)
    return int(value[0]), int(value[1])


def windows(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Window positions (OH, OW) of a convolution or pooling over (C, H, W), from its
    ``kernel_size``, ``stride`` (None: the kernel size) and ``padding`` options."""
    kernel, padding = two(o["kernel_size"]), two(o["padding"])
    stride = kernel if o.get("stride") is None else two(o["stride"])
    return tuple((n + 2 * p - k) // s + 1
                 for n, k, s, p in zip(shape[1:], kernel, stride, padding, strict=True))


def needs_images(kind: str, shape: tuple[int, ...]) -> None:
    """Refuse a sample shape other than images (C, H, W), naming ``kind``."""
    if len(shape) != 3:
        raise BarenetError(f"{kind} needs images (C, H, W) but receives shape {shape}")


def needs_flat(kind: str, shape: tuple[int, ...]) -> None:
    """Refuse a sample shape other than a flat vector, naming ``kind``."""
    if len(shape) != 1:
        raise BarenetError(f"{kind} needs a flat input but receives shape {shape}; put a "
                           "Flatten before it")


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
    """The spec of layer type ``kind`` (its class's ``spec``), or a one-line error naming
    the known ones."""
    if kind not in LAYERS:
        raise BarenetError(f"unknown layer type {kind!r}; known: {', '.join(LAYERS.names())} "
                           "(a new layer declares its options as its class's spec and "
                           "registers itself with @barenet.nn.layers.LAYERS.register())")
    return LAYERS[kind].spec


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
    ``input_shape``: every layer's output, plus what each keeps for backward beyond it
    (its spec's ``kept``: a convolution's im2col columns, ``C KH KW`` values per output
    pixel)."""
    shape, total = tuple(input_shape), math.prod(input_shape)
    for kind, options in layers:
        spec = layer_spec(kind)
        out = spec.shape(options, shape)
        total += math.prod(out) + spec.kept(options, shape, out)
        shape = out
    return total


def model_layers(model: Any) -> list[tuple[str, dict[str, Any]]]:
    """A built model's layers as (type, full options), for :func:`sample_values`."""
    return [(type(layer).__name__, layer_spec(type(layer).__name__).full(layer.config()))
            for layer in model.layers]
