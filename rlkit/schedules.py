"""Parameter schedules (exploration rate, learning rate) as pure functions of the step count."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ScheduleKind = Literal["constant", "linear", "exponential"]


@dataclass(frozen=True)
class Schedule:
    """A value that moves from ``start`` to ``end`` over ``duration`` steps, then stays.

    - ``constant``: always ``start``.
    - ``linear``: straight line from ``start`` to ``end``.
    - ``exponential``: geometric decay ``start * (end/start) ** (t/duration)``, so it also
      reaches ``end`` at ``duration`` (both must be positive).

        >>> Schedule("linear", 1.0, 0.1, 10).value(5)
        0.55
        >>> round(Schedule("exponential", 1.0, 0.01, 10).value(5), 6)
        0.1
    """

    kind: ScheduleKind
    start: float
    end: float
    duration: int

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "exponential"):
            raise ValueError(f"unknown schedule {self.kind!r}: constant, linear or exponential")
        if self.kind != "constant" and self.duration <= 0:
            raise ValueError(f"a {self.kind} schedule needs a positive duration")
        if self.kind == "exponential" and (self.start <= 0 or self.end <= 0):
            raise ValueError("an exponential schedule needs positive start and end values")

    def value(self, step: int) -> float:
        """The value after ``step`` steps."""
        if self.kind == "constant":
            return self.start
        fraction = min(1.0, step / self.duration)
        if self.kind == "linear":
            return self.start + fraction * (self.end - self.start)
        return self.start * math.exp(fraction * math.log(self.end / self.start))
