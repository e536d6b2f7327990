"""Finite-difference gradient checking: is ``backward`` the derivative of ``forward``?

For a layer, the scalar checked is ``f(x) = sum(forward(x) * G)`` for a fixed
random ``G``, so ``backward(G)`` must return ``df/dx`` and leave ``df/dW`` in
every parameter's ``grad``. For a loss, ``f(x) = loss(x, targets)``. Each
derivative is compared with the central difference
``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, whose error is O(eps^2).

The second half of the module holds small *examples*: a layer or loss built
with tiny sizes plus an input it accepts, so that ``barenet gradcheck`` can
check every registered layer and loss, including ones added later. Each layer
class gives its own, in its file: a classmethod ``gradcheck_examples(rng)``
returning ``(label, layer, x)`` triples (the layers do not import this module). A
layer without one gets one guessed from the options its ``spec`` declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BarenetError
from .losses.base import Loss
from .module import Module
from .options import REQUIRED

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


#: Small sizes for the options a layer declares without a default, by option name.
SIZE_GUESSES = {"in_features": 5, "out_features": 4, "num_features": 3, "in_channels": 3,
                "out_channels": 4, "kernel_size": 3}


def _guessed_example(name: str, cls: type, rng: np.random.Generator) -> Example | None:
    """Build layer ``name`` from the options its class's ``spec`` declares (small sizes
    from :data:`SIZE_GUESSES` where it has no default) and find an input it takes."""

    spec = getattr(cls, "spec", None)
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
    """The examples to check for layer ``name``: those its class declares itself (a
    classmethod ``gradcheck_examples(rng)`` returning ``(label, layer, x)`` triples; one
    inherited is not its own), else a guess ([] if none)."""
    if "gradcheck_examples" in vars(cls):
        return [Example(label, layer, x) for label, layer, x in cls.gradcheck_examples(rng)]
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
