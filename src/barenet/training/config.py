"""Experiment configs: TOML files checked key by key before anything runs.

A config is a nested dict. Top-level keys are described by :data:`SCHEMA`;
the ``[optimizer]``, ``[schedule]``, ``[augment]`` tables and each layer in
``[model].layers`` are checked against the signature of the class they name,
so an unknown key is refused with the list of valid ones. :func:`validate`
then builds the model, the optimizer, the schedule and the augmentation once,
as the trainer will, so that what it accepts can be trained: no model of over
``MAX_PARAMETERS`` weights (refused before they are allocated), no wrongly
shaped option found only once the data is loaded.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import reprlib
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import numpy as np

from ..errors import BarenetError
from ..init import weight_budget
from ..layers.registry import LAYERS
from ..module import Parameter
from ..optim import OPTIMIZERS, SCHEDULES
from ..paths import CONFIGS_DIR
from ..serialization import MAX_PARAMETERS, option_problem
from .builder import build_model, build_optimizer, build_schedule

#: Largest size any layer option may take (refuses "a billion hidden units").
MAX_LAYER_SIZE = 1 << 16
#: Most values one sample may have entering or leaving any layer (a batch holds many).
MAX_SAMPLE_SIZE = 1 << 22

#: key -> (type(s), check, description of the valid range, default)
SCHEMA: dict[str, tuple[Any, Any, str, Any]] = {
    "name": (str, lambda v: v.strip() != "", "a non-empty string", "run"),
    "dataset": (str, lambda v: v in ("mnist", "fashion-mnist"), "mnist or fashion-mnist",
                "mnist"),
    "seed": (int, lambda v: 0 <= v < 2**32, "an integer in [0, 2^32)", 0),
    "dtype": (str, lambda v: v in ("float32", "float64"), "float32 or float64", "float32"),
    "epochs": (int, lambda v: 1 <= v <= 10_000, "an integer in [1, 10000]", 10),
    "batch_size": (int, lambda v: 1 <= v <= 65_536, "an integer in [1, 65536]", 64),
    "validation_size": (int, lambda v: 0 <= v <= 50_000, "an integer in [0, 50000]", 5000),
    "standardize": (bool, lambda v: True, "true or false", True),
    "label_smoothing": ((int, float), lambda v: 0 <= v < 1, "a number in [0, 1)", 0.0),
    "clip_norm": ((int, float), lambda v: v >= 0, "a number >= 0 (0 = off)", 0.0),
    "early_stopping": (int, lambda v: v >= 0, "epochs without improvement, >= 0 (0 = off)", 0),
    "optimizer": (dict, lambda v: True, "a table", {"name": "adam", "lr": 1e-3}),
    "schedule": (dict, lambda v: True, "a table", {"name": "constant"}),
    "augment": (dict, lambda v: True, "a table", {}),
    "model": (dict, lambda v: True, "a table with input_shape and layers", None),
    "finetune": (dict, lambda v: True, "a table (written by barenet finetune)", {}),
}

#: The keys of a ``[finetune]`` table and their types (``barenet finetune`` writes it).
FINETUNE_KEYS = {"parent": str, "parent_sha256": str, "samples": str, "samples_sha256": str,
                 "held_out": (int, float), "replay": int}


def _options(cls: Any, skip: tuple[str, ...]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls.__init__).parameters
    return {k: p for k, p in params.items() if k not in ("self", *skip)
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _check_keys(where: str, given: dict, valid: dict | set) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise BarenetError(f"{where}: unknown key {unknown[0]!r}; valid keys: "
                           f"{', '.join(sorted(valid))}")


def _check_number(where: str, key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise BarenetError(f"{where}: {key} must be a finite number, got {value}")


def _check_table(where: str, table: dict, cls: Any, skip: tuple[str, ...],
                 extra: tuple[str, ...] = ()) -> None:
    options = _options(cls, skip)
    _check_keys(where, {k: v for k, v in table.items() if k not in extra}, options)
    for key, value in table.items():
        _check_number(where, key, value)
        if key in extra:
            continue
        default = options[key].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise BarenetError(f"{where}: {key} must be true or false, got {value!r}")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise BarenetError(f"{where}: {key} must be a number, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise BarenetError(f"{where}: {key} must be >= 0, got {value}")


#: Layer constructor arguments filled in from the shape flowing into the layer.
INFERRED = ("in_features", "in_channels", "num_features")


def _check_model(model: dict) -> None:
    _check_keys("[model]", model, {"input_shape", "layers"})
    shape = model.get("input_shape")
    if not (isinstance(shape, list) and shape and all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_LAYER_SIZE
            for d in shape)):
        raise BarenetError(f"[model] input_shape must be a list of positive sizes such as "
                           f"[784] or [1, 28, 28], got {shape!r}")
    layers = model.get("layers")
    if not isinstance(layers, list) or not layers:
        raise BarenetError("[model] layers must be a non-empty list of {type = ...} tables")
    for i, spec in enumerate(layers):
        where = f"[model] layer {i + 1}"
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise BarenetError(f"{where}: must be a table with a type, e.g. "
                               f"{{type = \"Linear\", out_features = 128}}")
        cls = LAYERS[spec["type"]]
        where = f"{where} ({spec['type']})"
        options = {k: v for k, v in spec.items() if k != "type"}
        skip = ("rng", "dtype", *INFERRED)
        _check_table(where, options, cls, skip)
        missing = [k for k, p in _options(cls, skip).items()
                   if p.default is p.empty and k not in options]
        if missing:
            raise BarenetError(f"{where}: missing {', '.join(missing)}")
        for key, value in options.items():
            problem = option_problem(cls, key, value)
            if problem:
                raise BarenetError(f"{where}: {problem}")
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int) and not isinstance(v, bool) and v > MAX_LAYER_SIZE:
                    raise BarenetError(f"{where}: {key}={value} is too large; valid range "
                                       f"[0, {MAX_LAYER_SIZE}]")
    _check_size(model)


def _check_size(model: dict) -> None:
    """Build the model once, as the trainer will, refusing what is too large to train:
    more than MAX_PARAMETERS weights (refused before they are allocated), or samples
    of more than MAX_SAMPLE_SIZE values at any layer."""
    shape = tuple(model["input_shape"])
    if math.prod(shape) > MAX_SAMPLE_SIZE:
        raise BarenetError(f"[model] input_shape {list(shape)} has {math.prod(shape):,} values "
                           f"per sample, more than the {MAX_SAMPLE_SIZE:,} allowed")
    try:
        with weight_budget(MAX_PARAMETERS):
            net = build_model(model, np.random.default_rng(0))
    except (TypeError, ValueError) as exc:
        raise BarenetError(f"[model]: cannot build the model: {exc}") from None
    except BarenetError as exc:  # the builder's own messages name the layer; the budget's not
        message = str(exc)
        raise BarenetError(message if message.startswith("[model]") else f"[model]: {message}") \
            from None
    for i, layer in enumerate(net.layers):
        shape = layer.output_shape(shape)
        if math.prod(shape) > MAX_SAMPLE_SIZE:
            raise BarenetError(f"[model] layer {i + 1} ({type(layer).__name__}) outputs "
                               f"{math.prod(shape):,} values per sample (shape {shape}), more "
                               f"than the {MAX_SAMPLE_SIZE:,} allowed")
    if not net.parameters():
        raise BarenetError("[model] has no parameters to train; add a Linear or Conv2d layer")
    x = np.zeros((2, *model["input_shape"]), np.float32)  # two: batch-norm needs a batch
    for i, layer in enumerate(net.layers):
        try:
            x = layer.forward(x)
        except (BarenetError, ValueError, IndexError) as exc:
            raise BarenetError(f"[model] layer {i + 1} ({type(layer).__name__}) cannot take "
                               f"the output of the layer before it, shape {x.shape[1:]} "
                               f"({' '.join(str(exc).split())})") from None
    values = sum(array.size for array in net.state().values())
    if values > MAX_PARAMETERS:
        raise BarenetError(f"[model] has {values:,} parameters, more than the "
                           f"{MAX_PARAMETERS:,} allowed")


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check every key and value; return the config with defaults filled in.

    Raises
    ------
    BarenetError
        Naming the first bad key or value and what is valid.
    """
    if not isinstance(config, dict):
        raise BarenetError("a config must be a TOML table")
    _check_keys("config", config, SCHEMA)
    full = {}
    for key, (types, check, valid, default) in SCHEMA.items():
        if key not in config:
            if default is None:
                raise BarenetError(f"config: missing required key {key!r} ({valid})")
            full[key] = copy.deepcopy(default)
            continue
        value = config[key]
        if isinstance(value, bool) and types is not bool or not isinstance(value, types) \
                or not check(value):
            raise BarenetError(f"config: {key} = {reprlib.repr(value)} is invalid; "
                               f"expected {valid}")
        _check_number("config", key, value)
        full[key] = copy.deepcopy(value)
    optimizer = full["optimizer"]
    _check_table("[optimizer]", {k: v for k, v in optimizer.items() if k != "name"},
                 OPTIMIZERS[optimizer.get("name", "adam")], ("params",))
    optimizer.setdefault("name", "adam")
    schedule = full["schedule"]
    _check_table("[schedule]", {k: v for k, v in schedule.items() if k != "name"},
                 SCHEDULES[schedule.setdefault("name", "constant")], ("lr", "epochs"),
                 extra=("warmup",))
    if full["augment"]:
        from ..data.augment import Augment

        _check_table("[augment]", full["augment"], Augment, ("rng", "fill"))
    _check_model(full["model"])
    _check_training_parts(full)
    _check_keys("[finetune]", full["finetune"], FINETUNE_KEYS)
    for key, value in full["finetune"].items():
        if isinstance(value, bool) or not isinstance(value, FINETUNE_KEYS[key]):
            raise BarenetError(f"[finetune]: {key} = {reprlib.repr(value)} has the wrong type")
        _check_number("[finetune]", key, value)
    return full


def _check_training_parts(full: dict[str, Any]) -> None:
    """Make the optimizer, the schedule and the augmentation once, as the trainer will, so
    that a value of the wrong shape (``betas = []``, ``scale = [[1]]``) or a schedule that
    overflows is refused now, not once the data is loaded."""
    from ..data.augment import Augment

    try:
        optimizer = build_optimizer(full, [Parameter(np.zeros(1), "w")])
    except (TypeError, ValueError) as exc:
        raise BarenetError(f"[optimizer]: invalid options {full['optimizer']} ({exc})") from None
    name, options = full["schedule"]["name"], full["schedule"]
    try:
        schedule = build_schedule(full, optimizer.lr)
        for epoch in range(full["epochs"] + 1):
            lr = schedule(epoch)
            if not (math.isfinite(lr) and lr >= 0):
                raise ValueError(f"learning rate {lr} at epoch {epoch}")
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise BarenetError(f"[schedule] {name}: unusable with options {options} ({exc})") from None
    try:
        Augment(**full["augment"])
    except (TypeError, ValueError) as exc:
        raise BarenetError(f"[augment]: invalid options {full['augment']} ({exc})") from None


def resolve_path(name_or_path: str) -> Path:
    """A config file: a path as given, or the name of a shipped config (``mlp``, ``cnn``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = CONFIGS_DIR / f"{path.stem}.toml"
    if not path.suffix and shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.toml")))
    raise BarenetError(f"config file {name_or_path} not found; give a path or one of: {names}")


def load(name_or_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read a TOML config, apply dotted-key overrides, validate and fill defaults."""
    path = resolve_path(name_or_path)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BarenetError(f"cannot read config {path}: {exc}") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of over 4300 digits
        raise BarenetError(f"config {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise BarenetError(f"config {path} is not valid TOML: arrays or tables nested too "
                           "deeply") from None
    config.setdefault("name", path.stem)
    for key, value in (overrides or {}).items():
        set_key(config, key, value)
    return validate(config)


def set_key(config: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``config["a"]["b"] = value`` for ``dotted = "a.b"``, creating tables."""
    *tables, last = dotted.split(".")
    node = config
    for name in tables:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            raise BarenetError(f"cannot set {dotted}: {name} is not a table")
    node[last] = value


def parse_value(text: str) -> Any:
    """A command-line value as TOML (``3``, ``1e-3``, ``true``, ``[1, 2]``), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (ValueError, RecursionError):  # invalid TOML, a huge integer, absurd nesting
        return text


def dumps(config: dict[str, Any]) -> str:
    """Write a config back as TOML (the subset configs use)."""
    lines, tables = [], []
    for key, value in config.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        lines.append(f"\n[{name}]")
        for key, value in table.items():
            if key == "layers":
                lines.append("layers = [")
                lines.extend(f"    {_toml_value(layer)}," for layer in value)
                lines.append("]")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise BarenetError(f"cannot write {type(value).__name__} to TOML")
