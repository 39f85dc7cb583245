"""What the solver adapters share: the part of a day still to plan, in solver-neutral form.

``routing.planner`` splits fixed prefixes off a ``Problem`` into a ``Reduced`` problem;
``routing.engine_pyvrp`` and ``routing.engine_vroom`` translate that to their solver and
answer with stop orders per vehicle index (``"break"`` marks the break).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from routing.model import Problem, Stop, Vehicle

BREAK = "break"

# Stop orders per vehicle index, and the tasks left out.
Sequences = dict[int, list[str]]


@dataclass(slots=True)
class Task:
    task_id: str
    stops: tuple[Stop, ...]  # (stop,) for a job, (pickup, drop) for a shipment
    delivery: int = 0
    pickup: int = 0
    amount: int = 0
    allowed: frozenset[int] | None = None  # vehicle indices; None = any
    skills: frozenset[str] = frozenset()


@dataclass(slots=True)
class Veh:
    index: int
    vehicle: Vehicle
    start_loc: int
    ready: float
    capacity: int
    prefix: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Reduced:
    vehicles: list[Veh]
    tasks: list[Task]
    done: set[str]


def int_matrices(
    problem: Problem,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    p = problem.precision
    dist = np.rint(problem.matrix.distance * p).astype(np.int64)
    # ceil keeps every solver-feasible route feasible in float; the tiny epsilon stops an
    # exact integer (e.g. 10.0 * 1000) from being pushed up by representation error.
    dur = np.ceil(problem.matrix.duration * p - 1e-9).astype(np.int64)
    return dist, dur


def window(problem: Problem, stop: Stop, veh_lo: int, veh_hi: int) -> tuple[int, int]:
    if stop.window is None:
        return veh_lo, veh_hi
    return stop.window.start * problem.precision, stop.window.end * problem.precision
