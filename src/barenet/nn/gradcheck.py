"""Finite-difference gradient checking: is ``backward`` the derivative of ``forward``?

For a layer, the scalar checked is ``f(x) = sum(forward(x) * G)`` for a fixed
random ``G``, so ``backward(G)`` must return ``df/dx`` and leave ``df/dW`` in
every parameter's ``grad``. For a loss, ``f(x) = loss(x, targets)``. Each
derivative is compared with the central difference
``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, whose error is O(eps^2).

The second half of the module holds small *examples*: a layer or loss built
with tiny sizes plus an input it accepts, so that ``barenet gradcheck`` can
check every registered layer and loss, including ones added later: a layer
missing from :data:`LAYER_EXAMPLES` gets one guessed from the options it
declares in :mod:`barenet.nn.options`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BarenetError
from .losses.base import Loss
from .module import Module
from .options import LAYER_SPECS, REQUIRED

#: Gradients whose norm is below the floor are compared absolutely: a gradient that is
#: exactly zero in theory (a bias before batch-norm) is rounding noise numerically.
#: The floor is at least ABSOLUTE_FLOOR and grows with the estimated noise (see gradcheck).
ABSOLUTE_FLOOR = 1e-3
#: A difference as large as the estimated rounding noise scores this error.
NOISE_SCORE = 1e-7
UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


@dataclass
class GradcheckResult:
    """Per array: ``|analytic - numeric| / max(|analytic| + |numeric|, floor)``.

    The norms are L2 norms over the checked entries of the array; ``floors``
    holds the floor used for each array.
    """

    errors: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def total_checked(self) -> int:
        return sum(self.checked.values())

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.max_error < tolerance


def _modules(target: Module) -> Iterator[tuple[str, Module]]:
    """``(prefix, module)`` for ``target`` and, recursively, every layer inside it."""
    layers = getattr(target, "layers", None)
    if layers is None:
        yield "", target
        return
    for i, layer in enumerate(layers):
        for prefix, module in _modules(layer):
            yield f"{i}.{prefix}", module


def _named_parameters(target: Module) -> dict:
    return {f"{prefix}{name}": p for prefix, module in _modules(target)
            for name, p in module.params.items()}


def _random_sources(target: Module | Loss) -> list[np.random.Generator]:
    if isinstance(target, Loss):
        return []
    return [m.rng for _, m in _modules(target)
            if isinstance(getattr(m, "rng", None), np.random.Generator)]


def gradcheck(target: Module | Loss, x: np.ndarray, targets: np.ndarray | None = None,
              eps: float = 1e-6, max_entries: int | None = 200,
              seed: int = 0) -> GradcheckResult:
    """Compare analytic and central-difference gradients in float64.

    Parameters
    ----------
    target : Module (a layer or Sequential) or Loss
        Must hold float64 parameters (``module.astype(np.float64)``).
    x : ndarray
        Input (any shape the target accepts); cast to float64.
    targets : ndarray, optional
        Required when ``target`` is a loss.
    eps : float
        Finite-difference step.
    max_entries : int or None
        Check at most this many randomly chosen entries of each array (None: all).
    seed : int
        Seeds the upstream gradient ``G`` and the choice of entries.

    Returns
    -------
    GradcheckResult
        Worst relative error per array (``"input"`` and each parameter name).
    """
    if not eps > 0:
        raise BarenetError(f"gradcheck eps must be > 0, got {eps}")
    if max_entries is not None and max_entries < 1:
        raise BarenetError(f"gradcheck max_entries must be >= 1 (or None for all), "
                           f"got {max_entries}")
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    is_loss = isinstance(target, Loss)
    if is_loss and targets is None:
        raise BarenetError("gradcheck of a loss needs targets")
    params = {} if is_loss else _named_parameters(target)
    if any(p.data.dtype != np.float64 for p in params.values()):
        raise BarenetError("gradcheck needs float64 parameters; call .astype(np.float64) first")
    sources = _random_sources(target)
    states = [g.bit_generator.state for g in sources]

    def forward(inp: np.ndarray) -> np.ndarray | float:
        for g, s in zip(sources, states, strict=True):  # same dropout mask every time
            g.bit_generator.state = s
        return target.forward(inp, targets) if is_loss else target.forward(inp)

    out = forward(x)
    upstream = None if is_loss else rng.standard_normal(np.shape(out))
    # f is computed with relative error about u per term, so each central difference
    # carries noise of about u * magnitude / eps: the floor scales with it.
    magnitude = abs(float(out)) if is_loss else float(np.sum(np.abs(out * upstream)))

    def f(inp: np.ndarray) -> float:
        y = forward(inp)
        return float(y) if is_loss else float(np.sum(y * upstream))

    forward(x)
    analytic = {"input": np.array(target.backward() if is_loss else target.backward(upstream))}
    analytic |= {name: p.grad.copy() for name, p in params.items()}

    arrays = {"input": x} | {name: p.data for name, p in params.items()}
    result = GradcheckResult()
    for name, array in arrays.items():
        if analytic[name].shape != array.shape:
            raise BarenetError(f"gradient of {name!r} has shape {analytic[name].shape}, "
                               f"expected {array.shape}")
        picks = np.arange(array.size)
        if max_entries is not None and array.size > max_entries:
            picks = rng.choice(array.size, max_entries, replace=False)
        numeric = np.empty(len(picks))
        for k, i in enumerate(picks):
            index = np.unravel_index(i, array.shape)  # works for any memory layout
            old = array[index]
            array[index] = old + eps
            plus = f(x)
            array[index] = old - eps
            minus = f(x)
            array[index] = old
            numeric[k] = (plus - minus) / (2 * eps)
        a = analytic[name].reshape(-1)[picks]
        noise = np.sqrt(len(picks)) * UNIT_ROUNDOFF * magnitude / eps  # L2 norm over picks
        floor = max(ABSOLUTE_FLOOR, noise / NOISE_SCORE)
        scale = max(np.linalg.norm(a) + np.linalg.norm(numeric), floor)
        result.errors[name] = float(np.linalg.norm(a - numeric) / scale)
        result.checked[name] = len(picks)
        result.floors[name] = floor
    return result


# -- examples: something to check for every layer and loss ---------------------------


@dataclass
class Example:
    """One gradient check: a float64 ``target`` (layer, model or loss) and its input."""

    label: str
    target: Module | Loss
    x: np.ndarray
    targets: np.ndarray | None = None

    def check(self, **options: Any) -> GradcheckResult:
        return gradcheck(self.target, self.x, self.targets, **options)


def away_from_kinks(x: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Push entries at least ``margin`` away from 0, where ReLU-like layers have a kink."""
    return x + margin * np.where(x >= 0, 1.0, -1.0)


def _linear(rng: np.random.Generator) -> list[Example]:
    from .layers import Linear

    return [Example(f"init={init}, bias={bias}",
                    Linear(5, 4, init=init, bias=bias, rng=rng, dtype=np.float64),
                    rng.standard_normal((6, 5)))
            for init in ("he", "xavier", "lecun") for bias in (True, False)]


def _elementwise(cls_name: str, **options: Any) -> Callable[[np.random.Generator], list]:
    def examples(rng: np.random.Generator) -> list[Example]:
        from . import layers

        x = away_from_kinks(rng.standard_normal((6, 5)))
        return [Example("", getattr(layers, cls_name)(**options), x)]

    return examples


def _sigmoid(rng: np.random.Generator) -> list[Example]:
    from .layers import Sigmoid

    large = np.array([[-800.0, -40.0, -20.0, -8.0, -5.0], [5.0, 8.0, 20.0, 40.0, 800.0]])
    return [Example("", Sigmoid(), 2 * rng.standard_normal((6, 5))),
            Example("large |x|", Sigmoid(), large)]


def _dropout(rng: np.random.Generator) -> list[Example]:
    from .layers import Dropout

    return [Example("p=0.4, train", Dropout(0.4, rng=np.random.default_rng(rng.integers(2**32))),
                    rng.standard_normal((6, 5)))]


def _batchnorm(cls_name: str, shape: tuple[int, ...]) -> Callable[[np.random.Generator], list]:
    def examples(rng: np.random.Generator) -> list[Example]:
        from . import layers

        out = []
        for mode in ("train", "eval"):
            bn = getattr(layers, cls_name)(shape[1], dtype=np.float64)
            bn.params["gamma"].data[...] = rng.uniform(0.5, 2.0, shape[1])
            bn.params["beta"].data[...] = rng.standard_normal(shape[1])
            bn.buffers["running_mean"][...] = rng.standard_normal(shape[1])
            bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, shape[1])
            bn.train(mode == "train")
            out.append(Example(mode, bn, 3 * rng.standard_normal(shape) + 1))
        return out

    return examples


def _flatten(rng: np.random.Generator) -> list[Example]:
    from .layers import Flatten

    return [Example("", Flatten(), rng.standard_normal((3, 2, 3, 4)))]


def _conv(rng: np.random.Generator) -> list[Example]:
    from .layers import Conv2d

    layer = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float64)
    layer.bias.data[...] = rng.standard_normal(3)
    return [Example("stride 2, padding 1, odd-sized input", layer,
                    rng.standard_normal((2, 2, 7, 9)))]


def _pool(cls_name: str) -> Callable[[np.random.Generator], list]:
    def examples(rng: np.random.Generator) -> list[Example]:
        from . import layers

        return [Example("overlapping padded windows, odd-sized input",
                        getattr(layers, cls_name)(3, stride=2, padding=1),
                        rng.standard_normal((2, 3, 7, 9)))]

    return examples


def _global_pool(rng: np.random.Generator) -> list[Example]:
    from .layers import GlobalAvgPool2d

    return [Example("odd-sized input", GlobalAvgPool2d(), rng.standard_normal((2, 3, 7, 9)))]


#: Layer name -> function(rng) returning its examples.
LAYER_EXAMPLES: dict[str, Callable[[np.random.Generator], list[Example]]] = {
    "Linear": _linear,
    "ReLU": _elementwise("ReLU"),
    "LeakyReLU": _elementwise("LeakyReLU", alpha=0.1),
    "Sigmoid": _sigmoid,
    "Tanh": _elementwise("Tanh"),
    "Softmax": _elementwise("Softmax"),
    "Dropout": _dropout,
    "BatchNorm1d": _batchnorm("BatchNorm1d", (8, 4)),
    "BatchNorm2d": _batchnorm("BatchNorm2d", (3, 2, 3, 3)),
    "Flatten": _flatten,
    "Conv2d": _conv,
    "MaxPool2d": _pool("MaxPool2d"),
    "AvgPool2d": _pool("AvgPool2d"),
    "GlobalAvgPool2d": _global_pool,
}

#: Small sizes for the options a layer declares without a default, by option name.
SIZE_GUESSES = {"in_features": 5, "out_features": 4, "num_features": 3, "in_channels": 3,
                "out_channels": 4, "kernel_size": 3}


def _guessed_example(name: str, cls: type, rng: np.random.Generator) -> Example | None:
    """Build layer ``name`` from the options :mod:`barenet.nn.options` declares for it (small
    sizes from :data:`SIZE_GUESSES` where it has no default) and find an input it takes."""

    spec = LAYER_SPECS.get(name)
    if spec is None:
        return None
    kwargs: dict[str, Any] = {}
    for option, declared in spec.options.items():
        if declared.default is REQUIRED:
            if option not in SIZE_GUESSES:
                return None
            kwargs[option] = SIZE_GUESSES[option]
    if spec.random:
        kwargs["rng"] = np.random.default_rng(rng.integers(2**32))
    try:
        layer = cls(**kwargs).astype(np.float64)
    except Exception:
        return None
    features = kwargs.get("in_features", kwargs.get("num_features", 5))
    channels = kwargs.get("in_channels", kwargs.get("num_features", 3))
    for shape in [(4, features), (2, channels, 6, 6), (2, channels, 8, 8)]:
        x = away_from_kinks(rng.standard_normal(shape))
        try:
            y = layer.forward(x.copy())
        except Exception:
            continue
        if np.all(np.isfinite(y)):
            return Example(f"guessed {kwargs_text(kwargs)}, input {shape}", layer, x)
    return None


def kwargs_text(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "rng") or "defaults"


def layer_examples(name: str, cls: type, rng: np.random.Generator) -> list[Example]:
    """The examples to check for layer ``name``: the table, else a guess ([] if none)."""
    if name in LAYER_EXAMPLES:
        return LAYER_EXAMPLES[name](rng)
    guess = _guessed_example(name, cls, rng)
    return [guess] if guess is not None else []


def loss_examples(name: str, cls: type, rng: np.random.Generator) -> list[Example]:
    """The examples to check for loss ``name`` ([] if its targets cannot be guessed)."""
    z = 2 * rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    if name == "SoftmaxCrossEntropy":
        soft = rng.dirichlet(np.ones(4), 6)
        return [Example("int labels", cls(), z, labels),
                Example("one-hot", cls(), z, np.eye(4)[labels]),
                Example("label_smoothing=0.1", cls(label_smoothing=0.1), z, labels),
                Example("soft targets", cls(), z, soft)]
    if name == "MSELoss":
        return [Example("", cls(), z, rng.standard_normal(z.shape))]
    if name == "BCEWithLogits":
        return [Example("0/1 targets", cls(), z, rng.integers(0, 2, z.shape).astype(float)),
                Example("soft targets", cls(), z, rng.uniform(0, 1, z.shape))]
    for targets in (rng.uniform(0, 1, z.shape), labels):  # unknown loss: try both kinds
        try:
            loss = cls()
            if np.isfinite(loss.forward(z, targets)):
                return [Example("guessed targets", loss, z, targets)]
        except Exception:
            continue
    return []


def model_example(rng: np.random.Generator) -> Example:
    """A whole :class:`~barenet.Sequential` using every kind of core layer."""
    from .layers import BatchNorm1d, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
    from .module import Sequential

    model = Sequential([
        Linear(6, 8, bias=False, rng=rng), BatchNorm1d(8), ReLU(),  # a bias is moot before BN
        Linear(8, 8, init="xavier", rng=rng), Tanh(), Dropout(0.3, rng=rng.integers(2**32)),
        Linear(8, 6, init="lecun", rng=rng), LeakyReLU(0.1), Sigmoid(),
        Linear(6, 5, rng=rng), Softmax(),
    ]).astype(np.float64)
    for _ in range(100):  # an input whose ReLU inputs all keep clear of the kink
        x = rng.standard_normal((7, 6))
        if _kink_distance(model, x) > 1e-3:
            break
    return Example("Linear, BatchNorm1d, activations, Dropout", model, x)


def _kink_distance(model: Module, x: np.ndarray) -> float:
    """Smallest ``|input|`` of a ReLU or LeakyReLU in ``model`` on ``x`` (random state kept)."""
    from .layers import LeakyReLU, ReLU

    sources = _random_sources(model)
    states = [g.bit_generator.state for g in sources]
    distance = np.inf
    for layer in model.layers:
        if isinstance(layer, (ReLU, LeakyReLU)):
            distance = min(distance, float(np.abs(x).min()))
        x = layer.forward(x)
    for g, s in zip(sources, states, strict=True):
        g.bit_generator.state = s
    return distance
