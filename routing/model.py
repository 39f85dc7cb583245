"""Plain data for one day's routing problem and its plan.

Everything here is a frozen dataclass so a problem can be handed to the planner, the
feasibility checker and the booking-window check without any of them changing it.
Times are seconds from midnight, distances metres, except in benchmarks where the
matrix units are the instance's own (see ``Problem.precision``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

AreaType = Literal["urban", "rural"]

# What the courier does at a stop. The service time differs a lot between them: taking a
# dossier from a citizen means checking the papers against the slip, handing a bag over at
# a one-stop office means a counted handover record.
StopKind = Literal["home_pickup", "office_drop", "office_pickup", "home_delivery", "other"]

Objective = Literal["duration", "distance"]

DEFAULT_SERVICE_S: Mapping[StopKind, int] = MappingProxyType(
    {
        "home_pickup": 300,
        "office_drop": 240,
        "office_pickup": 240,
        "home_delivery": 240,
        "other": 120,
    }
)


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    lat: float
    lon: float
    area: AreaType = "urban"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"time window ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True, slots=True)
class Break:
    """A driver break that must *start* inside ``window`` and lasts ``duration``."""

    window: TimeWindow
    duration: int


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A courier on a motorbike for one shift.

    ``fixed_prefix`` lists stop ids the courier has already completed or started, in the
    order they were done; re-planning keeps them and plans only what follows, from the
    last prefix stop. ``available_at`` is the earliest time the courier can continue
    (usually "now"). A break already taken must be removed by the caller (``brk=None``).
    """

    id: str
    start: int
    end: int
    shift: TimeWindow
    capacity: int
    skills: frozenset[str] = frozenset()
    brk: Break | None = None
    fixed_prefix: tuple[str, ...] = ()
    available_at: int | None = None


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit: ``location`` indexes ``Problem.locations``; no window = any time."""

    id: str
    location: int
    kind: StopKind = "other"
    window: TimeWindow | None = None
    service: int | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A single stop served from the courier's post office.

    ``delivery`` is loaded at the start (e.g. a result going to a home), ``pickup`` is
    carried back to the end (e.g. a dossier for the post office's own counter).
    """

    stop: Stop
    delivery: int = 0
    pickup: int = 0
    skills: frozenset[str] = frozenset()
    locked_to: str | None = None

    @property
    def id(self) -> str:
        return self.stop.id


@dataclass(frozen=True, slots=True)
class Shipment:
    """A paired pickup and drop done by one courier, pickup first.

    Dossier: pickup at a home, drop at the office or the post office. Result: pickup at
    an office, drop (delivery) at a home.
    """

    id: str
    pickup: Stop
    drop: Stop
    amount: int = 1
    skills: frozenset[str] = frozenset()
    locked_to: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class TravelMatrix:
    """Square matrices over ``Problem.locations``; ``source`` says where they came from."""

    distance: npt.NDArray[np.float64]
    duration: npt.NDArray[np.float64]
    source: str = "given"


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    locations: tuple[Location, ...]
    matrix: TravelMatrix
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    service_by_kind: Mapping[StopKind, int] = field(default_factory=lambda: DEFAULT_SERVICE_S)
    objective: Objective = "duration"
    # Solvers work in integers. Matrix values and times are multiplied by this before being
    # handed over, so benchmark instances with fractional Euclidean distances keep three
    # decimals (precision=1000); the plan is then re-timed and measured in float.
    precision: int = 1

    def service_of(self, stop: Stop) -> int:
        return stop.service if stop.service is not None else self.service_by_kind[stop.kind]

    def stops(self) -> dict[str, Stop]:
        out: dict[str, Stop] = {}
        for job in self.jobs:
            out[job.id] = job.stop
        for sh in self.shipments:
            out[sh.pickup.id] = sh.pickup
            out[sh.drop.id] = sh.drop
        return out

    def vehicle(self, vehicle_id: str) -> Vehicle:
        for v in self.vehicles:
            if v.id == vehicle_id:
                return v
        raise KeyError(vehicle_id)


VisitKind = Literal["job", "pickup", "drop", "break"]


@dataclass(frozen=True, slots=True)
class Visit:
    """A stop on a route with its ETA. For a break, ``stop_id`` is ``"break"``."""

    stop_id: str
    kind: VisitKind
    location: int
    arrival: float
    start: float
    departure: float
    load_after: int


@dataclass(frozen=True, slots=True)
class Route:
    vehicle_id: str
    visits: tuple[Visit, ...]
    start_time: float
    end_time: float
    distance: float
    duration: float


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A job or shipment left out; ``stop_ids`` are both ends for a shipment."""

    task_id: str
    stop_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    engine: str
    wall_time_s: float = 0.0
    # What each solver of the portfolio returned (cost or why it was rejected), in order.
    trace: tuple[str, ...] = ()

    @property
    def distance(self) -> float:
        return sum(r.distance for r in self.routes)

    @property
    def duration(self) -> float:
        return sum(r.duration for r in self.routes)

    @property
    def vehicles_used(self) -> int:
        return sum(1 for r in self.routes if any(v.kind != "break" for v in r.visits))

    def route_of(self, vehicle_id: str) -> Route | None:
        for r in self.routes:
            if r.vehicle_id == vehicle_id:
                return r
        return None
