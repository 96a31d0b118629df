"""Every tracker Rasa makes copies each of the domain's slots with `copy.copy`, and it makes several
a turn (the store's read, the form's validation, the states' replay). For a plain object that copy
takes Python's generic way: ask the object how to rebuild itself, then rebuild it (`__reduce_ex__`,
`copyreg.__newobj__`, `_reconstruct`). Here each slot class copies itself the same way directly: a
new object of the same class with the same attributes (a shallow copy, as before)."""
from __future__ import annotations

from typing import Any, Iterator, Type

from rasa.shared.core.slots import Slot

NAME = "slot_copy"
# what would make copy.copy do anything other than a new object with the same __dict__
_OWN_COPYING = ("__copy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__slots__", "__getnewargs__",
                "__getnewargs_ex__")


def _copy(self: Slot) -> Slot:
    new = self.__class__.__new__(self.__class__)
    new.__dict__.update(self.__dict__)
    return new


def slot_classes(root: Type[Slot] = Slot) -> Iterator[Type[Slot]]:
    yield root
    for sub in root.__subclasses__():
        yield from slot_classes(sub)


def plain(cls: Type[Any]) -> bool:
    """Whether copy.copy would copy `cls` the generic way (none of its classes but `object` says otherwise)."""
    for klass in cls.__mro__[:-1]:
        for name in _OWN_COPYING:
            own = vars(klass).get(name)
            if name in vars(klass) and own is not _copy and not (name == "__slots__" and not own):  # ABC's ()
                return False
    return True


def install(agent: Any = None) -> None:
    if all(plain(cls) for cls in slot_classes()):
        Slot.__copy__ = _copy
