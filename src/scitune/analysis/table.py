"""A table as plain typed columns: what a command that lists rows (``scitune trials``) holds
before any DataFrame, so that its csv form needs neither pandas nor numpy.

Each column has a **kind**, the type pandas would give a column made from the same Python values
(a list of JSON values: None, bools, ints, floats, text, lists, objects), so that the plain table
and :meth:`PlainTable.frame` sort and print alike:

=========  ===================================================================================
float      numbers (no bools) with a float or a missing value among them: each held as a float,
           a missing one as NaN (an int ``3`` reads ``3.0``)
int        ints only, all in int64's range (or all in uint64's: ``uint``)
bool       bools only, none missing
text       text, with missing values (None or NaN) among it
object     anything else: mixed types, lists, objects, ints beyond 64 bits, all missing
Int64      a column the table types itself: ints, None where missing (pandas' nullable ``Int64``)
=========  ===================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: the csv form of a table never imports pandas
    import pandas as pd

_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1
_TYPES = {type(None): "none", bool: "bool", int: "int", float: "float", str: "str"}  # JSON's scalars; else "other"
_DTYPES = {"float": "float64", "int": "int64", "uint": "uint64", "bool": "bool", "object": "object", "Int64": "Int64"}


def missing(value: Any) -> bool:
    """None or NaN: an empty cell."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def kind_of(values: Sequence[Any]) -> str:
    """The kind of a column of JSON values (the module's table): the dtype pandas infers for a
    column made from them."""
    types = {_TYPES.get(t, "other") for t in set(map(type, values))}  # 100,000 values in milliseconds
    some_missing = "none" in types
    types.discard("none")
    if not types or "other" in types:
        return "object"
    if "bool" in types:
        return "bool" if types == {"bool"} and not some_missing else "object"
    if "str" in types:
        text = types <= {"str", "float"} and all(math.isnan(v) for v in values if type(v) is float)
        return "text" if text else "object"
    if "int" in types:
        ints = [v for v in values if type(v) is int]
        low, high = min(ints), max(ints)
        if low < _INT64[0] or high > _UINT64_MAX or (low < 0 and high > _INT64[1]):
            return "object"
        if len(ints) == len(values):
            return "int" if high <= _INT64[1] else "uint"
    return "float"  # a float or a missing value among them


def typed(values: Sequence[Any], kind: str) -> list[Any]:
    """``values`` as a column of ``kind`` holds them: a float column's as floats (missing: NaN)."""
    if kind == "float" and set(map(type, values)) != {float}:
        return [math.nan if v is None else float(v) for v in values]
    return list(values)


@dataclass(frozen=True)
class PlainTable:
    """Named columns in order (a name may repeat, as in a frame's selection), each one's values
    (one per row) and kind."""

    names: tuple[str, ...]
    columns: tuple[list[Any], ...]
    kinds: tuple[str, ...]

    @classmethod
    def of(cls, columns: dict[str, Sequence[Any]], kinds: dict[str, str] | None = None) -> PlainTable:
        """A table of these columns; each column's kind from ``kinds``, else inferred (:func:`kind_of`)."""
        found = [(kinds or {}).get(name) or kind_of(values) for name, values in columns.items()]
        return cls(tuple(columns), tuple(typed(values, kind) for values, kind in zip(columns.values(), found)),
                   tuple(found))

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> list[Any]:
        """The values of the column called ``name`` (the first, where the name repeats)."""
        return self.columns[self.names.index(name)]

    def rows(self, indices: Sequence[int]) -> PlainTable:
        """These rows, in this order (the columns keep their kinds)."""
        return PlainTable(self.names, tuple([values[i] for i in indices] for values in self.columns), self.kinds)

    def select(self, names: Sequence[str]) -> PlainTable:
        """These columns, in this order."""
        at = [self.names.index(name) for name in names]
        return PlainTable(tuple(names), tuple(self.columns[i] for i in at), tuple(self.kinds[i] for i in at))

    def sorted_by(self, name: str, descending: bool = False) -> PlainTable:
        """Rows ordered by one column (stable: equal values keep their order; empty cells last), as
        ``DataFrame.sort_values(name, kind="stable", na_position="last")`` orders them."""
        values = self.column(name)
        present = [i for i, v in enumerate(values) if not missing(v)]
        empty = [i for i, v in enumerate(values) if missing(v)]
        return self.rows(sorted(present, key=values.__getitem__, reverse=descending) + empty)

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame, each column of its kind's dtype (text: pandas' own)."""
        import pandas as pd

        text = pd.Series(["x"]).dtype  # Arrow-backed `str` (pandas 3) or object
        series = [pd.Series(values, dtype=text if kind == "text" else _DTYPES[kind])
                  for values, kind in zip(self.columns, self.kinds)]
        frame = pd.concat(series, axis=1) if series else pd.DataFrame()
        frame.columns = list(self.names)
        return frame
