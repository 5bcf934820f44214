"""Slots dataclasses that cross the pipe to the store's writer process by the thousand (the
commands and their audit entries) pickle as (class, field values): a tuple pickles several times
faster than a slots dataclass's field-by-field state. The values are read from the dataclass's
own fields, so a field added later is never left out of what the writer receives."""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, TypeVar

T = TypeVar("T")


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Class decorator (above @dataclass): instances pickle as ``(cls, (field values in order))``."""
    names = tuple(field.name for field in dataclasses.fields(cls))  # type: ignore[arg-type]
    getter = operator.attrgetter(*names)
    if len(names) == 1:  # attrgetter of one name gives the value, not a 1-tuple

        def values(obj: Any) -> tuple[Any, ...]:
            return (getter(obj),)
    else:
        values = getter

    def __reduce__(self: T) -> tuple[type[T], tuple[Any, ...]]:  # noqa: N807
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls
