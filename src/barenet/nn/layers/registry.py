"""The layer registry: a model file's ``"type": "Linear"`` names a class here."""

from ..registry import LAYERS

__all__ = ["LAYERS"]
