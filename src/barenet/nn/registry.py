"""String-keyed registries: config names -> layers, initialisers, optimizers, schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ..errors import BarenetError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of classes or functions, e.g. ``LAYERS["Linear"]``.

    Looking up an unknown name raises :class:`BarenetError` listing the valid names.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        def add(item: T) -> T:
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
