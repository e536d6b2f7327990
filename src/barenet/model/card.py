"""What a trained model remembers, read from its metadata in one place.

A model file's ``metadata`` is free-form JSON, written by training and read back
without trust. :class:`Card` is the only reader of the parts prediction depends on:
the class names, the normalisation, the calibration temperature and the "not sure"
bar, each checked when the card is read (:meth:`Card.read`), so that a model that
loads is a model that predicts. :func:`barenet.model.file.save` reads the card of what
it is about to write, so it writes only what loading will accept.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import Any

from ..errors import BarenetError
from .calibration import MIN_CONFIDENCE, TEMPERATURE_RANGE
from .labels import label_folder
from .scaling import Standardization


@dataclass(frozen=True)
class Card:
    """What a model remembers (all optional: a model built in Python has none of it).

    Attributes
    ----------
    class_names : tuple of str or None
        Distinct names, each able to name the folder of its samples
        (:func:`barenet.model.labels.label_folder`).
    standardization : Standardization or None
        The training data's ``(x - mean) / std``.
    temperature : float
        Calibrated probabilities are ``softmax(z / temperature)``; 1.0 if uncalibrated.
    min_confidence : float
        Below this calibrated top probability the model is "not sure".
    calibrated : bool
        Whether the model file holds a calibration record.
    dataset : str or None
        The dataset the model was trained on.
    """

    class_names: tuple[str, ...] | None = None
    standardization: Standardization | None = None
    temperature: float = 1.0
    min_confidence: float = MIN_CONFIDENCE
    calibrated: bool = False
    dataset: str | None = None

    @classmethod
    def read(cls, metadata: Any, dtype: Any) -> Card:
        """The card of ``metadata`` for a model of ``dtype``; else BarenetError saying what
        is wrong (class names that repeat or cannot name a folder, an unusable
        normalisation, a calibration record out of range)."""
        if not isinstance(metadata, dict):
            raise BarenetError("metadata is not an object")
        names = metadata.get("class_names")
        if isinstance(names, list):
            if not all(isinstance(n, str) for n in names):
                raise BarenetError("class_names must be strings")
            for name in names:
                label_folder(name)
            if len(set(names)) < len(names):
                raise BarenetError(f"class_names must differ, but {reprlib.repr(names)} "
                                   "repeats one; give each class its own name")
        norm = metadata.get("normalization")
        dataset = metadata.get("dataset")
        return cls(class_names=tuple(names) if isinstance(names, list) else None,
                   standardization=Standardization.from_record(norm, dtype) if norm else None,
                   temperature=_temperature(metadata),
                   min_confidence=_min_confidence(metadata),
                   calibrated=metadata.get("calibration") is not None,
                   dataset=dataset if isinstance(dataset, str) else None)


def _temperature(metadata: dict[str, Any]) -> float:
    """The temperature a model file stores (``metadata["calibration"]["temperature"]``).

    Model files written before calibration existed have none: 1.0 (no change).

    Raises
    ------
    BarenetError
        The record is not ``{"temperature": number}`` with a finite number in
        :data:`TEMPERATURE_RANGE`.
    """
    record = metadata.get("calibration")
    if record is None:
        return 1.0
    value = record.get("temperature") if isinstance(record, dict) else None
    low, high = TEMPERATURE_RANGE
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high):
        raise BarenetError(f"metadata calibration must be {{'temperature': a number in "
                           f"[{low}, {high}]}}, got {record!r}")
    return float(value)


def _min_confidence(metadata: dict[str, Any]) -> float:
    """The model's "not sure" bar (``metadata["calibration"]["min_confidence"]``).

    :data:`MIN_CONFIDENCE` for model files without one.

    Raises
    ------
    BarenetError
        A stored bar that is not a number in [0, 1].
    """
    record = metadata.get("calibration")
    value = record.get("min_confidence") if isinstance(record, dict) else None
    if value is None:
        return MIN_CONFIDENCE
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 <= value <= 1):
        raise BarenetError(f"metadata calibration min_confidence must be a number in [0, 1], "
                           f"got {value!r}")
    return float(value)
