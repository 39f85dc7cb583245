"""Public tracking, read cheaply: a per-process cache of what the page and the API show.

Public tracking is the most-read endpoint (every label's QR opens it), and most reads find
nothing changed since the last one. Building an answer takes seven queries (item, state,
timeline, case, legs, money, ETA); checking whether a kept answer still holds takes one
(``core.cases.tracking.tracking_version``: the last event sequence of every item of the case,
and whether a courier is due at the door today). So:

- a kept answer is used only while its version is the same: a scan accepted on any item of
  the case is seen by the very next read (staleness after a scan: none);
- an answer with a courier due today carries an ETA that moves with the clock, the courier's
  position and other citizens' stops: the ETA is recomputed when older than ``LIVE_TTL_S``
  (1 s), from the courier's day read at most ``LIVE_TTL_S`` before (one read per courier
  per second, shared by every citizen on their sheet);
- the version also holds the case's latest money posting (a bank transfer matched) and its
  booked window (a rescheduled pickup), so those show at once too; ``MAX_AGE_S`` (5 min) is
  only a backstop for what no version covers (an office renamed).

Errors (unknown or malformed IDs) are never kept. The cache is per process and bounded
(``MAX_ENTRIES``, least recently used first out); several workers each keep their own, each
within the same bounds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from core.cases.tracking import TrackingVersion, TrackingView, tracking_version, tracking_view
from core.courier.eta import CourierEta, CourierSnapshot, case_eta, courier_snapshot, eta_at
from core.money.state import PaymentState, tracked_payment_state
from vntime import VN

LIVE_TTL_S = 1.0
MAX_AGE_S = 300.0
MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class PublicTracking:
    """Everything the public page and API show about one item."""

    view: TrackingView
    money: PaymentState | None
    eta: CourierEta | None


@dataclass(frozen=True)
class _Entry:
    version: TrackingVersion
    built_at: float  # when the view and money were read
    eta_at: float  # when the ETA was computed
    answer: PublicTracking


class TrackingCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Couriers' days, shared by every citizen on the same sheet: (read at, snapshot).
        self._couriers: dict[int, tuple[float, CourierSnapshot]] = {}
        self._lock = threading.Lock()  # handlers run in a thread pool
        self.hits = 0
        self.misses = 0

    def read(self, session: Session, item_code: str, *, now: datetime) -> PublicTracking:
        """The item's public answer (NotFound for an unknown item, as ``tracking_view``)."""
        day = now.astimezone(VN).date()
        version = tracking_version(session, item_code, day)
        if version is None:
            return build(session, item_code, None, now=now)  # raises the refusal
        at = self._clock()
        with self._lock:
            entry = self._entries.get(item_code)
        if entry is not None and entry.version == version and at - entry.built_at < MAX_AGE_S:
            if not version.courier_due_today or at - entry.eta_at < LIVE_TTL_S:
                with self._lock:
                    self._entries.move_to_end(item_code)
                    self.hits += 1
                return entry.answer
            # Same ledger, same stop: only the ETA has aged; the view and money stand.
            answer = replace(entry.answer, eta=self._eta(session, version, at, now))
            self._keep(item_code, _Entry(version, entry.built_at, at, answer), hit=True)
            return answer
        answer = PublicTracking(
            view=tracking_view(session, item_code),
            money=tracked_payment_state(session, item_code),
            # The case's ledger moved (or it is new here): its courier's day is read afresh,
            # so the stop this scan finished is not shown as still to come.
            eta=self._eta(session, version, at, now, afresh=True),
        )
        self._keep(item_code, _Entry(version, at, at, answer), hit=False)
        return answer

    def _eta(
        self,
        session: Session,
        version: TrackingVersion,
        at: float,
        now: datetime,
        *,
        afresh: bool = False,
    ) -> CourierEta | None:
        if version.due_stop_id is None or version.due_courier_id is None:
            return None
        courier_id = version.due_courier_id
        with self._lock:
            kept = self._couriers.get(courier_id)
        if afresh or kept is None or at - kept[0] >= LIVE_TTL_S:
            kept = (at, courier_snapshot(session, courier_id, now.astimezone(VN).date()))
            with self._lock:
                self._couriers[courier_id] = kept
                if len(self._couriers) > MAX_ENTRIES:
                    self._couriers.clear()
        eta = eta_at(kept[1], version.due_stop_id, now)
        if eta is None and version.case_id is not None:
            # That stop is finished: the case may have another home stop today (both legs).
            return case_eta(session, version.case_id, now=now)
        return eta

    def _keep(self, item_code: str, entry: _Entry, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1
            self._entries[item_code] = entry
            self._entries.move_to_end(item_code)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._couriers.clear()


def build(
    session: Session, item_code: str, case_id: int | None, *, now: datetime
) -> PublicTracking:
    """The answer read afresh, nothing kept."""
    return PublicTracking(
        view=tracking_view(session, item_code),
        money=tracked_payment_state(session, item_code),
        eta=case_eta(session, case_id, now=now) if case_id is not None else None,
    )


# The app's one cache (per process, like the rate limiter's buckets).
tracking_cache = TrackingCache()
