"""The ledger and scan-sync benches still run end to end (tiny sizes; figures not judged).

A refactor once broke the scan bench unnoticed until its next manual run; the figures stay
a bench's business, but that it runs and reports is checked here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


def _run(database_url: str, *args: str) -> str:
    # A bench makes its own scratch database, which takes a role that may create one: the
    # test server's own URL, not the tests' app role (which may not). Without a test server,
    # the bench starts its own embedded one.
    env = dict(os.environ)
    env.pop("HOSO_BENCH_DATABASE_URL", None)
    if server := os.environ.get("HOSO_TEST_DATABASE_URL"):
        env["HOSO_BENCH_DATABASE_URL"] = server
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _bench_databases(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        query = text("SELECT datname FROM pg_database WHERE datname LIKE 'hoso_bench_%'")
        found = set(conn.scalars(query))
    engine.dispose()
    return found


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_ledger_bench_reports_a_ratio_and_drops_its_database(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/ledger/bench_ledger.py", "--rounds", "1", "--items", "60",
               "--batch", "20")  # fmt: skip
    assert "core service" in out and "ratio" in out, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_ledger_bench_compares_signed_and_unsigned_recording(database_url: str) -> None:
    out = _run(database_url, "bench/ledger/bench_ledger.py", "--rounds", "2", "--items", "20",
               "--batch", "10", "--signing", "compare")  # fmt: skip
    assert "core service, unsigned" in out and "signed/unsigned ratio" in out, out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_scan_bench_reports_every_batch_size(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/mobile/bench_scans.py", "--rounds", "1", "--scale", "0.02")
    summary = out.split("medians over", 1)[1]
    for batch in ("    1 ", "   50 ", "  500 "):
        assert batch in summary, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_verify_bench_reports_rates_memory_and_a_sound_ledger(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/ledger/bench_verify.py", "--sizes", "2000,4000", "--rounds",
               "1")  # fmt: skip
    assert "generated rows match" in out, out
    assert out.count("peak RSS") == 2 and out.count(" events: ok") == 2, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_replay_bench_reports_a_ratio(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/ledger/bench_replay.py", "--chain", "60", "--batch", "10",
               "--rounds", "1")  # fmt: skip
    assert "replay / original" in out, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_sla_bench_reports_pages_and_latency(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/sla/bench_sla.py", "--cases", "500", "--rounds", "1")
    assert "x reference" in out and "year" in out, out
    # The generated rows read back through the real roll-up give the generated roll-ups.
    assert "sampled subjects: 0 would change" in out, out
    assert "new event → today's figure" in out, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_checkpoint_bench_reports_both_parts(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/ledger/bench_checkpoints.py", "scans", "--rounds", "2",
               "--items", "40", "--batch", "20", "--poll", "0.05", "--interval", "0")  # fmt: skip
    assert "on / off" in out and "leaves for" in out, out
    out = _run(database_url, "bench/ledger/bench_checkpoints.py", "proofs", "--leaves", "70000",
               "--samples", "5")  # fmt: skip
    assert "inclusion proofs at 70,000 leaves" in out and "consistency proof" in out, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_payments_bench_reports_both_modes_and_drops_its_database(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/money/bench_payments.py", "--rounds", "1", "--items", "40",
               "--batch", "20", "--rate", "10", "--payers", "1", "--mode", "both",
               "--offered", "100", "--seconds", "0.4", "--scanners", "1")  # fmt: skip
    # Saturation: scans as fast as they go, alone and beside the payments.
    assert "scans with payments" in out and "ratio" in out, out
    # Open loop: 40 scans offered at 100/s, the latency of each batch commit on both sides.
    assert "open loop: 40 scans a phase offered at 100/s" in out, out
    assert "latency median ratio" in out and "achieved scans ratio" in out, out
    assert "(2 batch commits a side)" in out, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_payment_profile_counts_statements_and_drops_its_database(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/money/profile_payment.py", "--payments", "5", "--profile")
    # The door-step's read (the case's facts with its ledger), then the locks, the check that
    # the ledger still says what was read, the payment and its receipt: two statements and
    # the commit.
    assert "statements per payment: 2 (and the commit)" in out, out
    assert "money_record_payment" in out and "payer CPU" in out, out
    assert "cumulative" in out, out
    assert _bench_databases(database_url) - before == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_digitising_bench_reports_sizes_and_ratios(database_url: str) -> None:
    out = _run(database_url, "bench/digitising/bench_digitising.py", "--pages", "2",
               "--repeats", "1")  # fmt: skip
    assert "uploaded after the phone's compression" in out and "ratio" in out, out


def test_the_tracking_bench_reports_both_measures(database_url: str) -> None:
    before = _bench_databases(database_url)
    out = _run(database_url, "bench/tracking/bench_tracking.py", "--cases", "8", "--rounds", "1",
               "--seconds", "0.3", "--offered", "20", "--connections", "2")  # fmt: skip
    assert "closed loop" in out and "ratio" in out and "open loop" in out, out
    assert "tracking  answered" in out and "load average" in out, out
    # None of its own left behind (other engineers' benches come and go on a shared server).
    assert _bench_databases(database_url) - before == set()
