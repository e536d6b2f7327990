"""The layer registry: a model file's ``"type": "Linear"`` names a class here."""

from ..registry import Registry

LAYERS: Registry = Registry("layer type")
