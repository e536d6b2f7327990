"""String-keyed registries: config names -> layers, initialisers, optimizers, schedules.

Each class registers itself, with a one-line decorator in its own file
(``@LAYERS.register()`` above ``class Linear``): no table elsewhere names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ..errors import BarenetError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of classes or functions, e.g. ``LAYERS["Linear"]``.

    Looking up an unknown name raises :class:`BarenetError` listing the valid names.
    With ``owns="spec"``, a class must declare that attribute itself to be registered
    (a subclass does not silently take its parent's options).
    """

    def __init__(self, kind: str, owns: str | None = None) -> None:
        self.kind = kind
        self.owns = owns
        self._items: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        def add(item: T) -> T:
            if self.owns is not None and self.owns not in vars(item):
                raise BarenetError(f"{item.__name__} must declare its own {self.owns!r} to be "
                                   f"registered as a {self.kind}")
            self._items[name or item.__name__] = item
            return item

        return add

    def __getitem__(self, name: str) -> T:
        if not isinstance(name, str) or name not in self._items:
            raise BarenetError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}")
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        return sorted(self._items)


#: Layer type -> class: a model file's ``"type": "Linear"`` names a class here. Each layer
#: class registers itself (``@LAYERS.register()``) with the :class:`~barenet.nn.options.Spec`
#: it declares as ``spec``.
LAYERS: Registry = Registry("layer type", owns="spec")
