"""Public tracking, read cheaply: a per-process cache of what the page and the API show.

Public tracking is the most-read endpoint (every label's QR opens it), and most reads find
nothing changed since the last one. Building an answer takes seven queries (item, state,
timeline, case, legs, money, ETA); checking whether a kept answer still holds takes one
(``core.cases.tracking.tracking_version``: the last event sequence of every item of the case,
and whether a courier is due at the door today). So:

- a kept answer is used only while its version is the same: a scan accepted on any item of
  the case is seen by the very next read (staleness after a scan: none);
- an answer with a courier due today carries an ETA that moves with the clock, the courier's
  position and other citizens' stops: kept at most ``LIVE_TTL_S`` (1 s);
- anything else not written through the ledger (a bank transfer matched to the case, a
  rescheduled window) shows within ``MAX_AGE_S``.

Errors (unknown or malformed IDs) are never kept. The cache is per process and bounded
(``MAX_ENTRIES``, least recently used first out); several workers each keep their own, each
within the same bounds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.cases.tracking import TrackingVersion, TrackingView, tracking_version, tracking_view
from core.courier.eta import CourierEta, case_eta
from core.money.state import PaymentState, tracked_payment_state
from vntime import VN

LIVE_TTL_S = 1.0
MAX_AGE_S = 30.0
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
    built_at: float
    answer: PublicTracking


class TrackingCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # handlers run in a thread pool
        self.hits = 0
        self.misses = 0

    def read(self, session: Session, item_code: str, *, now: datetime) -> PublicTracking:
        """The item's public answer (NotFound for an unknown item, as ``tracking_view``)."""
        version = tracking_version(session, item_code, now.astimezone(VN).date())
        if version is None:
            return build(session, item_code, None, now=now)  # raises the refusal
        at = self._clock()
        with self._lock:
            entry = self._entries.get(item_code)
            if entry is not None and self._fresh(entry, version, at):
                self._entries.move_to_end(item_code)
                self.hits += 1
                return entry.answer
        answer = build(session, item_code, version.case_id, now=now)
        with self._lock:
            self.misses += 1
            self._entries[item_code] = _Entry(version, at, answer)
            self._entries.move_to_end(item_code)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return answer

    @staticmethod
    def _fresh(entry: _Entry, version: TrackingVersion, at: float) -> bool:
        age = at - entry.built_at
        limit = LIVE_TTL_S if version.courier_due_today else MAX_AGE_S
        return entry.version == version and age < limit

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def build(
    session: Session, item_code: str, case_id: int | None, *, now: datetime
) -> PublicTracking:
    return PublicTracking(
        view=tracking_view(session, item_code),
        money=tracked_payment_state(session, item_code),
        eta=case_eta(session, case_id, now=now) if case_id is not None else None,
    )


# The app's one cache (per process, like the rate limiter's buckets).
tracking_cache = TrackingCache()
