"""Experiment configs: TOML files checked key by key before anything runs.

A config file is read as a nested dict (a TOML table). Top-level keys are described by
:data:`SCHEMA`;
the ``[optimizer]``, ``[schedule]``, ``[augment]`` tables and each layer in
``[model].layers`` are checked against the options :mod:`barenet.nn.options`
declares for the class they name, so an unknown key is refused with the list
of valid ones. :func:`validate` then builds the model once (:func:`check_fits`),
so that what it accepts can be trained and saved: no model that needs more
memory than the machine has (refused before its weights are allocated), no
layer that cannot take its input, no model file the loader would refuse.

:class:`Config` is what the rest of barenet reads: the checked table as frozen
dataclasses (``config.epochs``, ``config.optimizer.name``), made only by
:meth:`Config.from_dict` and :func:`load`, which validate it first. Its
:meth:`Config.to_dict` gives the full table back, as run folders store it
(:func:`dumps`) and checkpoints fingerprint it.
"""

from __future__ import annotations

import copy
import json
import math
import reprlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import numpy as np

from ..data.augment import AUGMENT
from ..data.non_digits import per_batch
from ..errors import BarenetError
from ..io.memory import check_memory, memory_budget, training_bytes
from ..io.paths import CONFIGS_DIR
from ..model.file import MAX_HEADER_BYTES
from ..nn.optim import OPTIMIZERS, SCHEDULES
from ..nn.optim.schedules import WARMUP
from ..nn.options import (
    MAX_DIMENSION,
    check_options,
    check_sample_shape,
    layer_spec,
    sample_values,
)
from ..nn.registry import LAYERS
from .builder import plan, schedule_options

#: Longest config name (it names the run folder, one path component).
MAX_NAME_BYTES = 200
#: Room in a model file's header for what training adds: metrics, calibration, dataset.
HEADER_SLACK = 4096

#: key -> (type(s), check, description of the valid range, default)
SCHEMA: dict[str, tuple[Any, Any, str, Any]] = {
    "name": (str, lambda v: v.strip() != "" and len(v.encode("utf-8")) <= MAX_NAME_BYTES,
             f"a non-empty string of at most {MAX_NAME_BYTES} bytes", "run"),
    "dataset": (str, lambda v: v in ("mnist", "fashion-mnist"), "mnist or fashion-mnist",
                "mnist"),
    "seed": (int, lambda v: 0 <= v < 2**32, "an integer in [0, 2^32)", 0),
    "dtype": (str, lambda v: v in ("float32", "float64"), "float32 or float64", "float32"),
    "epochs": (int, lambda v: 1 <= v <= 10_000, "an integer in [1, 10000]", 10),
    "batch_size": (int, lambda v: 1 <= v <= 65_536, "an integer in [1, 65536]", 64),
    "validation_size": (int, lambda v: 0 <= v <= 50_000, "an integer in [0, 50000]", 5000),
    "standardize": (bool, lambda v: True, "true or false", True),
    "plots": (bool, lambda v: True, "true or false (false: barenet report draws them later)",
              True),
    "label_smoothing": ((int, float), lambda v: 0 <= v < 1, "a number in [0, 1)", 0.0),
    "clip_norm": ((int, float), lambda v: v >= 0, "a number >= 0 (0 = off)", 0.0),
    "early_stopping": (int, lambda v: v >= 0, "epochs without improvement, >= 0 (0 = off)", 0),
    "keep": (str, lambda v: v in ("best", "last"),
             '"best" (the epoch of best validation accuracy) or "last" (the last epoch\'s '
             'model; the validation split then only calibrates and is reported)', "best"),
    "non_digits": ((int, float), lambda v: 0 <= v <= 0.5,
                   "a fraction in [0, 0.5]: generated non-digit pictures added to each batch, "
                   "per digit (0 = off)", 0.0),
    "scene_crops": ((int, float), lambda v: 0 <= v <= 1,
                    "a fraction in [0, 1]: crops the picture reader extracts from generated "
                    "pages added to each batch, per digit (0 = off)", 0.0),
    "scene_count": (int, lambda v: 1 <= v <= 1_000_000,
                    "an integer in [1, 1000000]: pages generated once before training, for "
                    "scene_crops", 8000),
    "scene_finder": (str, lambda v: v == v.strip() and "\0" not in v,
                     'a learned ink finder\'s file (path), whose crops scene_crops trains on '
                     'instead of the plain pipeline\'s; "" (none) by default', ""),
    "optimizer": (dict, lambda v: True, "a table", {"name": "adam", "lr": 1e-3}),
    "schedule": (dict, lambda v: True, "a table", {"name": "constant"}),
    "augment": (dict, lambda v: True, "a table", {}),
    "model": (dict, lambda v: True, "a table with input_shape and layers", None),
    "finetune": (dict, lambda v: True, "a table (written by barenet finetune)", {}),
}

#: The keys of a ``[finetune]`` table and their types (``barenet finetune`` writes it).
FINETUNE_KEYS = {"parent": str, "parent_sha256": str, "samples": str, "samples_sha256": str,
                 "held_out": (int, float), "replay": int}


def _check_keys(where: str, given: dict, valid: dict | set) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise BarenetError(f"{where}: unknown key {unknown[0]!r}; valid keys: "
                           f"{', '.join(sorted(valid))}")


def _check_number(where: str, key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise BarenetError(f"{where}: {key} must be a finite number, got {value}")


def _check_model(model: dict) -> None:
    """The ``[model]`` table's shape and every layer's options (:mod:`barenet.nn.options`)."""
    _check_keys("[model]", model, {"input_shape", "layers"})
    shape = model.get("input_shape")
    if not (isinstance(shape, list) and shape and all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_DIMENSION
            for d in shape)):
        raise BarenetError(f"[model] input_shape must be a list of positive sizes such as "
                           f"[784] or [1, 28, 28], got {shape!r}")
    check_sample_shape("[model] input_shape", tuple(shape))
    layers = model.get("layers")
    if not isinstance(layers, list) or not layers:
        raise BarenetError("[model] layers must be a non-empty list of {type = ...} tables")
    for i, spec in enumerate(layers):
        where = f"[model] layer {i + 1}"
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise BarenetError(f"{where}: must be a table with a type, e.g. "
                               f"{{type = \"Linear\", out_features = 128}}")
        LAYERS[spec["type"]]  # a one-line error listing the registered types
        declared = layer_spec(spec["type"])
        options = {k: v for k, v in spec.items() if k != "type"}
        check_options(f"{where} ({spec['type']})", declared, options,
                      inferred_given=False)


def check_fits(full: dict[str, Any], max_memory: int | None = None) -> None:
    """Refuse, before anything is built, a model that cannot be trained or saved.

    Every layer must take the shape the one before it gives (declared shapes,
    :mod:`barenet.nn.options`). Memory, not counts, is the bound: the weights, their
    gradients and the optimizer's state, and the activations of a batch, against
    :func:`barenet.io.memory.memory_budget` (``max_memory`` raises or lowers it).
    And the model file the run will write must fit the loader's header limit.
    """
    model, itemsize = full["model"], np.dtype(full["dtype"]).itemsize
    budget = memory_budget(max_memory)
    state = len(OPTIMIZERS[full["optimizer"]["name"]].state_names)
    layers = plan(model, budget=(budget, itemsize * (2 + state)))
    weights = sum(layer_spec(p.kind).values(p.options) for p in layers)
    if not weights:
        raise BarenetError("[model] has no parameters to train; add a Linear or Conv2d layer")
    per_sample = sample_values([(p.kind, p.options) for p in layers],
                               tuple(model["input_shape"]))
    batch = full["batch_size"] + sum(per_batch(full["batch_size"], full[key])
                                     for key in ("non_digits", "scene_crops"))
    check_memory(f"training this model with batch_size {full['batch_size']}",
                 training_bytes(weights, state, per_sample, batch, itemsize),
                 budget)
    # the header save() will write: the architecture, every array's shape, the metadata
    header = len(json.dumps({
        "architecture": {"layers": [{"type": p.kind, "config": p.options} for p in layers],
                         "input_shape": model["input_shape"]},
        "arrays": {f"{i}.{name}": list(shape) for i, p in enumerate(layers)
                   for name, shape in enumerate(layer_spec(p.kind).arrays(p.options))},
        "metadata": {"config": full["name"], "class_names": ["x" * 40] * 10}}, indent=1))
    if header + HEADER_SLACK > MAX_HEADER_BYTES:
        raise BarenetError(f"[model] would be written with a {header:,}-byte description, "
                           f"more than the {MAX_HEADER_BYTES:,} a model file may hold; "
                           "use fewer layers or a shorter name")


def validate(config: dict[str, Any], max_memory: int | None = None) -> dict[str, Any]:
    """Check every key and value; return the config table with defaults filled in
    (:meth:`Config.from_dict` makes the typed config of it).

    ``max_memory`` (bytes) replaces the machine's available memory as the bound
    on what the model may need (see :func:`check_fits`).

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
    name = optimizer.setdefault("name", "adam")
    OPTIMIZERS[name]  # a one-line error listing the registered names
    check_options(f"[optimizer] {name}", OPTIMIZERS[name].spec,
                  {k: v for k, v in optimizer.items() if k != "name"})
    schedule = full["schedule"]
    name = schedule.setdefault("name", "constant")
    SCHEDULES[name]
    options = schedule_options(full)
    warmup = options.pop("warmup", 0.0)
    problem = WARMUP.problem(warmup)
    if problem:
        raise BarenetError(f"[schedule] {name}: warmup {problem}")
    check_options(f"[schedule] {name}", SCHEDULES[name].spec, options)
    check_options("[augment]", AUGMENT, full["augment"])
    if full["keep"] == "last" and full["early_stopping"]:
        raise BarenetError(f"config: early_stopping = {full['early_stopping']} stops at the "
                           "best validation epoch, keep = \"last\" keeps the last one; "
                           "set early_stopping = 0 or keep = \"best\"")
    if full["non_digits"] and full["dataset"] != "mnist":
        raise BarenetError(f"config: non_digits = {full['non_digits']} is for digits; "
                           f"{full['dataset']} holds no digits, set non_digits = 0")
    if full["scene_crops"] and full["dataset"] != "mnist":
        raise BarenetError(f"config: scene_crops = {full['scene_crops']} is for digits; "
                           f"{full['dataset']} holds no digits, set scene_crops = 0")
    if full["scene_finder"] and not full["scene_crops"]:
        raise BarenetError(f"config: scene_finder = {full['scene_finder']!r} makes the crops "
                           "of scene_crops, which is 0; set scene_crops or remove scene_finder")
    _check_model(full["model"])
    check_fits(full, max_memory)
    _check_keys("[finetune]", full["finetune"], FINETUNE_KEYS)
    for key, value in full["finetune"].items():
        if isinstance(value, bool) or not isinstance(value, FINETUNE_KEYS[key]):
            raise BarenetError(f"[finetune]: {key} = {reprlib.repr(value)} has the wrong type")
        _check_number("[finetune]", key, value)
    return full


# -- the typed config ----------------------------------------------------------------

def _frozen(table: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view of a copy of ``table`` (its values as they are: the same types
    go back out, so the TOML written and the fingerprint do not change)."""
    return MappingProxyType(copy.deepcopy(dict(table)))


@dataclass(frozen=True)
class OptimizerConfig:
    """The ``[optimizer]`` table: the optimizer's name and the options given for it.

    Attributes
    ----------
    name : str
        A registered optimizer (:data:`barenet.nn.optim.OPTIMIZERS`).
    options : Mapping
        Its constructor options as given (``lr``, ``momentum``, ``betas``...); the
        optimizer's own defaults hold for the others.
    """

    name: str
    options: Mapping[str, Any]

    @property
    def lr(self) -> float | None:
        """The learning rate given, or None (the optimizer's default then holds)."""
        return self.options.get("lr")

    def table(self) -> dict[str, Any]:
        """The ``[optimizer]`` table: ``name`` first, then the options as given."""
        return {"name": self.name, **copy.deepcopy(dict(self.options))}


@dataclass(frozen=True)
class ScheduleConfig:
    """The ``[schedule]`` table: a learning-rate schedule's name and options
    (``warmup`` among them; a cosine's ``epochs`` is the run's unless given)."""

    name: str
    options: Mapping[str, Any]

    def table(self) -> dict[str, Any]:
        """The ``[schedule]`` table: ``name`` first, then the options as given."""
        return {"name": self.name, **copy.deepcopy(dict(self.options))}


@dataclass(frozen=True)
class AugmentConfig:
    """The ``[augment]`` table: the options of :class:`barenet.data.augment.Augment`."""

    options: Mapping[str, Any]

    @property
    def max_shift(self) -> float:
        """The largest shift in pixels (0: none)."""
        return self.options.get("max_shift", 0)

    @property
    def flip(self) -> bool:
        """Whether images are mirrored left to right (clothes, not digits)."""
        return bool(self.options.get("flip"))

    def table(self) -> dict[str, Any]:
        """The ``[augment]`` table as given."""
        return copy.deepcopy(dict(self.options))


@dataclass(frozen=True)
class ModelConfig:
    """The ``[model]`` table: one sample's shape and the layers, each a table with its
    ``type`` and options (the sizes that follow from the layer before left out).

    Attributes
    ----------
    input_shape : tuple of int
        One sample's shape, e.g. ``(784,)`` or ``(1, 28, 28)``.
    layers : tuple of Mapping
        ``{"type": "Linear", "out_features": 128}`` and so on, in order.
    """

    input_shape: tuple[int, ...]
    layers: tuple[Mapping[str, Any], ...]

    def table(self) -> dict[str, Any]:
        """The ``[model]`` table, as :func:`barenet.train.builder.build_model` takes it."""
        return {"input_shape": list(self.input_shape),
                "layers": [copy.deepcopy(dict(layer)) for layer in self.layers]}


@dataclass(frozen=True)
class FinetuneConfig:
    """The ``[finetune]`` table ``barenet finetune`` writes: the parent model and the
    samples a run learnt from, with their hashes; empty (all None) for other runs."""

    parent: str | None = None
    parent_sha256: str | None = None
    samples: str | None = None
    samples_sha256: str | None = None
    held_out: float | None = None
    replay: int | None = None

    def __bool__(self) -> bool:
        """Whether the run is a fine-tuning run (the table is not empty)."""
        return bool(self.table())

    def table(self) -> dict[str, Any]:
        """The ``[finetune]`` table: the keys given, in :data:`FINETUNE_KEYS`' order."""
        return {key: getattr(self, key) for key in FINETUNE_KEYS
                if getattr(self, key) is not None}


@dataclass(frozen=True)
class Seeds:
    """The independent random streams of a run, children of its seed in this order (a
    new stream goes last, so that the others stay as they were)."""

    init: np.random.SeedSequence  # the model's weights and its dropout layers
    shuffle: np.random.SeedSequence  # the order of the training images
    augment: np.random.SeedSequence
    non_digits: np.random.SeedSequence  # the generated non-digits and their draws
    scene_crops: np.random.SeedSequence  # the draws of the reader's crops


@dataclass(frozen=True)
class Config:
    """A validated experiment config; the fields are :data:`SCHEMA`'s keys.

    Made by :meth:`from_dict` (or :func:`load`), which checks every key first; read
    as attributes (``config.batch_size``, ``config.optimizer.name``). Numbers keep the
    type they were written with (``label_smoothing = 0`` stays an int), so that
    :meth:`to_dict` gives back exactly the table that was validated.
    """

    name: str
    dataset: str
    seed: int
    dtype: str
    epochs: int
    batch_size: int
    validation_size: int
    standardize: bool
    plots: bool
    label_smoothing: float
    clip_norm: float
    early_stopping: int
    keep: str
    non_digits: float
    scene_crops: float
    scene_count: int
    scene_finder: str
    optimizer: OptimizerConfig
    schedule: ScheduleConfig
    augment: AugmentConfig
    model: ModelConfig
    finetune: FinetuneConfig

    @classmethod
    def from_dict(cls, table: dict[str, Any], max_memory: int | None = None) -> Config:
        """Validate a config table (:func:`validate`, the same one-line errors) and type it."""
        full = validate(table, max_memory)
        optimizer, schedule, model = full["optimizer"], full["schedule"], full["model"]
        return cls(**{key: full[key] for key in SCHEMA if not isinstance(full[key], dict)},
                   optimizer=OptimizerConfig(optimizer["name"], _frozen(
                       {k: v for k, v in optimizer.items() if k != "name"})),
                   schedule=ScheduleConfig(schedule["name"], _frozen(
                       {k: v for k, v in schedule.items() if k != "name"})),
                   augment=AugmentConfig(_frozen(full["augment"])),
                   model=ModelConfig(tuple(model["input_shape"]),
                                     tuple(_frozen(layer) for layer in model["layers"])),
                   finetune=FinetuneConfig(**full["finetune"]))

    def to_dict(self) -> dict[str, Any]:
        """The full config table (every default filled in), in :data:`SCHEMA`'s order:
        what :func:`validate` returned, for :func:`dumps` and the checkpoint's fingerprint."""
        table = {}
        for field in fields(self):
            value = getattr(self, field.name)
            table[field.name] = value.table() if hasattr(value, "table") else value
        return table

    @property
    def seeds(self) -> Seeds:
        """The run's random streams, children of ``seed`` (:class:`Seeds`)."""
        return Seeds(*np.random.SeedSequence(self.seed).spawn(len(fields(Seeds))))


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


def load(name_or_path: str, overrides: dict[str, Any] | None = None,
         max_memory: int | None = None) -> Config:
    """Read a TOML config, apply dotted-key overrides, validate and fill defaults.

    ``max_memory`` (bytes): see :func:`validate`.

    Raises
    ------
    BarenetError
        An unreadable file, invalid TOML, or the first bad key or value.
    """
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
    return Config.from_dict(config, max_memory)


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


def dumps(config: dict[str, Any] | Config) -> str:
    """Write a config back as TOML (the subset configs use)."""
    if isinstance(config, Config):
        config = config.to_dict()
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
