"""Prometheus metrics: counters the code increments, and gauges read from the database when
Prometheus scrapes (so they hold whichever process did the work: the web app, the worker).

Served by ``GET /metrics`` (api/observability.py); the sample Grafana dashboard is
docs/grafana-hoso.json and docs/operations.md lists every series.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "hoso_http_request_duration_seconds",
    "Time to answer an HTTP request, per route template (not per raw path).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SCANS = Counter(
    "hoso_scans",
    "Scans recorded by the custody service, by outcome (accepted, rejected, exception).",
    ["outcome"],
    registry=REGISTRY,
)


def count_scans(outcomes: Iterator[str] | list[str]) -> None:
    tally: dict[str, int] = {}
    for outcome in outcomes:
        tally[outcome] = tally.get(outcome, 0) + 1
    for outcome, n in tally.items():
        SCANS.labels(outcome).inc(n)


# Read at scrape time: the undelivered outbox per topic (channel), and the ledger's newest
# id (from its primary key; rate() of it is events per second).
_OUTBOX_SQL = text(
    """
    SELECT topic,
           count(*) FILTER (WHERE status = 'pending') AS backlog,
           count(*) FILTER (WHERE status = 'pending' AND attempts > 0) AS retrying,
           count(*) FILTER (WHERE status = 'dead') AS dead,
           min(created_at) FILTER (WHERE status = 'pending') AS oldest
    FROM outbox_messages
    WHERE status <> 'delivered'
    GROUP BY topic
    """
)
_LEDGER_SQL = text("SELECT coalesce(max(id), 0) FROM custody_events")


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "hoso_outbox_backlog",
            "Messages waiting to be delivered, per channel.",
            labels=["topic"],
        )
        oldest = GaugeMetricFamily(
            "hoso_outbox_oldest_age_seconds",
            "Age of the oldest undelivered message, per channel (0 when none).",
            labels=["topic"],
        )
        retrying = GaugeMetricFamily(
            "hoso_outbox_retrying",
            "Undelivered messages that have failed at least once (webhook or SMS gateway down).",
            labels=["topic"],
        )
        dead = GaugeMetricFamily(
            "hoso_outbox_dead_lettered",
            "Messages given up on (delivery failures past the retries), per channel.",
            labels=["topic"],
        )
        events = CounterMetricFamily(
            "hoso_ledger_events_appended",
            "Custody events in the ledger (its newest id): rate() gives events per second.",
        )
        up = GaugeMetricFamily("hoso_database_up", "1 when the scrape could read the database.")
        now = datetime.now(UTC)
        try:
            with self.factory() as session:
                for topic, n_backlog, n_retrying, n_dead, first in session.execute(_OUTBOX_SQL):
                    backlog.add_metric([topic], n_backlog)
                    retrying.add_metric([topic], n_retrying)
                    dead.add_metric([topic], n_dead)
                    age = (now - first).total_seconds() if first is not None else 0.0
                    oldest.add_metric([topic], max(age, 0.0))
                events.add_metric([], session.execute(_LEDGER_SQL).scalar_one())
        except Exception:  # noqa: BLE001  a scrape must answer even when the database does not
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (backlog, oldest, retrying, dead, events, up)
