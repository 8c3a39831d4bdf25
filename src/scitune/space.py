"""Search spaces: the nuisance hyperparameters' ranges, their scales and conditions.

A parameter maps a unit coordinate ``u`` in [0, 1) to a value on its own scale. The search algorithm
only ever produces unit coordinates; this module decides what they mean. That keeps the sampler
(scrambled Halton today, Optuna's samplers later) independent of how a range is spelled.

Playbook: "Identifying scientific, nuisance, and fixed hyperparameters" and the FAQ "Where can I
find an implementation of quasi-random search?".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence, Union

from scitune.errors import SpaceError

Scalar = Union[int, float, str, bool]
LEARNING_RATE_NAMES = ("learning_rate", "lr")


class Role(str, Enum):
    """A hyperparameter's role in one experiment (playbook: "Identifying scientific, nuisance, and
    fixed hyperparameters")."""

    SCIENTIFIC = "scientific"
    NUISANCE = "nuisance"
    FIXED = "fixed"


@dataclass(frozen=True)
class Condition:
    """``when: {optimizer: adam}``: the parameter exists only when every named parameter holds one
    of the listed values. A parameter that is itself absent never satisfies a condition."""

    requires: Mapping[str, tuple[Scalar, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> "Condition":
        if not raw:
            return cls({})
        requires: dict[str, tuple[Scalar, ...]] = {}
        for name, allowed in raw.items():
            values = tuple(allowed) if isinstance(allowed, (list, tuple)) else (allowed,)
            if not values:
                raise ValueError(f"condition on '{name}' lists no values")
            requires[str(name)] = values
        return cls(requires)

    def holds(self, config: Mapping[str, Any]) -> bool:
        return all(name in config and config[name] in allowed for name, allowed in self.requires.items())

    def __bool__(self) -> bool:
        return bool(self.requires)

    def to_dict(self) -> dict[str, list[Scalar]]:
        return {name: list(values) for name, values in self.requires.items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _side(value: float | None) -> str:
    return "unbounded" if value is None else f"{value:g}"


# Names whose values are fractions or probabilities in [0, 1], and names that cannot go below 0.
_FRACTION = re.compile(r"(^one_minus_|dropout|_prob$|_probability$|^prob_|_fraction$|^fraction_|momentum|"
                       r"^beta[12]?$|_beta[12]?$|label_smoothing|_ratio$|_rate$)")
_NON_NEGATIVE = re.compile(r"(weight_decay|^l[12]$|_l[12]$|^l[12]_|decay|clip|_steps$|^steps_|warmup|epsilon|^eps$|"
                           r"_eps$|batch_size|width|depth|heads|layers|units|_norm$)")


def inferred_domain(name: str, low: float, high: float, scale: str = "linear") -> tuple[float | None, float | None] | None:
    """The domain an obvious name implies: [0, 1] for fractions and probabilities (``one_minus_*``,
    ``dropout``, ``*_prob``, ``*_fraction``, ``momentum``, ``beta1``, ``label_smoothing``, and
    ``*_rate``/``*_ratio`` ranges within [0, 1] other than learning rates); [0, unbounded) for
    quantities that cannot be negative (weight decay, l2, clipping thresholds, step counts, batch
    sizes, widths...). None when the name says nothing (a log range never crosses 0 anyway)."""
    lowered = name.lower()
    if ("learning_rate" in lowered or lowered == "lr" or lowered.endswith("_lr")) and low >= 0:
        return (0.0, None)
    if _FRACTION.search(lowered) and 0 <= low and high <= 1:
        return (0.0, 1.0)
    if _NON_NEGATIVE.search(lowered) and low >= 0:
        return (0.0, None)
    return None


@dataclass(frozen=True)
class RangeParam:
    """A float or int range on a linear or log scale.

    Log ranges are uniform in log space. Int ranges split the unit interval into equal-width bins
    (on the log scale for ``scale='log'``, so each integer's chance is proportional to its share of
    the log range)."""

    name: str
    low: float
    high: float
    scale: str = "linear"
    integer: bool = False
    when: Condition = field(default_factory=Condition)
    # The values the parameter can take at all (``domain: [0, 1]`` in the experiment file; None
    # for an unbounded side), or inferred from its name (:func:`inferred_domain`). No suggestion
    # (widening a range) ever leaves it.
    domain: tuple[float | None, float | None] | None = None

    def __post_init__(self) -> None:
        if self.scale not in ("linear", "log"):
            raise ValueError(f"scale must be 'linear' or 'log', not {self.scale!r}")
        if self.domain is not None:
            lo, hi = self.domain
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(f"domain low ({lo:g}) must be below its high ({hi:g})")
            if (lo is not None and self.low < lo) or (hi is not None and self.high > hi):
                raise ValueError(
                    f"the range [{self.low:g}, {self.high:g}] leaves the domain [{_side(lo)}, {_side(hi)}]"
                )
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if not math.isfinite(self.high - self.low):
            raise ValueError(f"the range from {self.low:g} to {self.high:g} is wider than a float can hold")
        if self.integer and max(abs(self.low), abs(self.high)) > 2**53:
            raise ValueError("int bounds must lie within ±2^53 (9,007,199,254,740,992)")
        if self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError(f"int bounds must be whole numbers, got low={self.low}, high={self.high}")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log scale needs bounds above 0, got low={self.low:g}")
        if self.integer:
            object.__setattr__(self, "low", int(self.low))
            object.__setattr__(self, "high", int(self.high))

    @property
    def kind(self) -> str:
        return "int" if self.integer else "float"

    def from_unit(self, u: float) -> Scalar:
        if self.integer:
            if self.scale == "log":
                # Log-uniform over [low, high + 1), floored: integer k gets ln((k+1)/k) of the mass.
                x = math.exp(math.log(self.low) + u * (math.log(self.high + 1) - math.log(self.low)))
                return int(min(max(math.floor(x), self.low), self.high))
            bins = int(self.high) - int(self.low) + 1
            return int(self.low) + min(int(math.floor(u * bins)), bins - 1)
        # Rounding in exp/log can step a hair outside the range; the range is a promise.
        return min(max(self.at(u), self.low), self.high)

    def at(self, position: float) -> float:
        """The value at ``position`` on the parameter's own scale (0 at low, 1 at high; outside
        [0, 1] beyond the range), without an int's rounding: the inverse of :meth:`position`."""
        if self.scale == "log":
            return math.exp(math.log(self.low) + position * (math.log(self.high) - math.log(self.low)))
        return self.low + position * (self.high - self.low)

    def position(self, value: float) -> float:
        """Where ``value`` sits in the range on the parameter's own scale: 0 at low, 1 at high."""
        if self.scale == "log":
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def contains(self, value: Any) -> bool:
        return _is_number(value) and self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"low": self.low, "high": self.high, "scale": self.scale}
        if self.integer:
            out["type"] = "int"
        if self.when:
            out["when"] = self.when.to_dict()
        if self.domain is not None and self.domain != inferred_domain(self.name, self.low, self.high, self.scale):
            out["domain"] = list(self.domain)  # only a declared one: an inferred domain is re-inferred
        return out


@dataclass(frozen=True)
class ChoiceParam:
    """Discrete feasible points (numbers) or categories (strings): equal-width bins of [0, 1)."""

    name: str
    values: tuple[Scalar, ...]
    when: Condition = field(default_factory=Condition)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("the list of values is empty: give at least one value")
        for value in self.values:
            if not isinstance(value, (int, float, str, bool)):
                raise ValueError(f"values must be numbers or strings, got {value!r}")
        seen: list[Scalar] = []
        for value in self.values:
            if any(value == s and type(value) is type(s) for s in seen):
                raise ValueError(f"value {value!r} is listed twice")
            seen.append(value)

    @property
    def kind(self) -> str:
        return "discrete" if all(_is_number(v) for v in self.values) else "categorical"

    def from_unit(self, u: float) -> Scalar:
        k = len(self.values)
        return self.values[min(int(math.floor(u * k)), k - 1)]

    def contains(self, value: Any) -> bool:
        return value in self.values

    def to_dict(self) -> dict[str, Any] | list[Scalar]:
        if self.when:
            return {"values": list(self.values), "when": self.when.to_dict()}
        return list(self.values)


Parameter = Union[RangeParam, ChoiceParam]


def _dimension_order(params: Sequence[Parameter]) -> list[Parameter]:
    """Choices first, then the learning rate, then the rest, each in file order.

    The first Halton dimensions use the smallest prime bases and are the most evenly balanced in
    small studies, so they go to the parameters where balance matters most (scipy's scrambled Halton: low prime bases first)."""

    def rank(param: Parameter) -> int:
        if isinstance(param, ChoiceParam):
            return 0
        if param.name in LEARNING_RATE_NAMES or param.name.endswith("learning_rate"):
            return 1
        return 2

    return sorted(params, key=rank)  # sorted() is stable: file order within a rank


@dataclass(frozen=True)
class SearchSpace:
    """The nuisance parameters, in the order their Halton dimensions are assigned."""

    params: tuple[Parameter, ...]

    @classmethod
    def build(cls, params: Iterable[Parameter], context: Iterable[str] = ()) -> "SearchSpace":
        """Order the parameters for sampling and check their conditions.

        ``context`` names the parameters outside the space (scientific and fixed) that conditions
        may refer to."""
        params = list(params)
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise SpaceError(f"parameter names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
        known = set(names) | set(context)
        for param in params:
            for name in param.when.requires:
                if name not in known:
                    raise SpaceError(f"condition on unknown parameter '{name}'", param.name)
                if name == param.name:
                    raise SpaceError("a parameter cannot be conditioned on itself", param.name)
        _check_acyclic(params)
        return cls(tuple(_dimension_order(params)))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def dimensions(self) -> int:
        return len(self.params)

    def __getitem__(self, name: str) -> Parameter:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def point(self, unit: Sequence[float], context: Mapping[str, Any] | None = None) -> dict[str, Scalar]:
        """Map one row of unit coordinates to hyperparameter values.

        Every parameter keeps its own dimension whether or not its condition holds, so the sequence
        stays the same for all studies; parameters whose condition fails are then left out."""
        if len(unit) != self.dimensions:
            raise SpaceError(f"expected {self.dimensions} unit coordinates, got {len(unit)}")
        values = {p.name: p.from_unit(float(u)) for p, u in zip(self.params, unit)}
        return resolve_conditions(self.params, values, context or {})

    def to_dict(self) -> dict[str, Any]:
        return {p.name: p.to_dict() for p in self.params}


def resolve_conditions(
    params: Sequence[Parameter], values: Mapping[str, Scalar], context: Mapping[str, Any]
) -> dict[str, Scalar]:
    """Drop every parameter whose condition does not hold, repeating until nothing changes (a
    parameter conditioned on an absent parameter is absent too)."""
    present = dict(values)
    changed = True
    while changed:
        changed = False
        config = {**context, **present}
        for param in params:
            if param.name in present and param.when and not param.when.holds(config):
                del present[param.name]
                changed = True
    return present


def _check_acyclic(params: Sequence[Parameter]) -> None:
    edges = {p.name: set(p.when.requires) for p in params}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise SpaceError("conditions form a cycle: " + " -> ".join(cycle), name)
        if state.get(name) == 2 or name not in edges:
            return
        state[name] = 1
        for parent in edges[name]:
            visit(parent, path + [name])
        state[name] = 2

    for name in edges:
        visit(name, [])
