"""Signed checkpoints: what they cost the scans, and proofs at ten million leaves.

Part 1, ``scans``: pickups recorded through ``record`` (the ledger bench's own batch,
``service_batch``) with the checkpointer off, then on, round after round, in one process
against one database; medians. "On" runs what the worker runs (``checkpoint_pass``:
sequence the new events into the tree, sign a head when due, queue it for the witnesses,
append it to the heads file) in a thread of its own every ``--poll`` seconds, signing a head
every ``--interval`` seconds (production: every 60 s; the default here, 1 s, is harsher).

Part 2, ``proofs``: a tree of ``--leaves`` synthetic leaves COPYed into ``ledger_leaves``
with its stored nodes (heights 8 and 16), as the sequencer leaves them; then inclusion and
consistency proofs for random leaves from the database (``core.custody.tree``) and their
verification (``core.custody.merkle``). References in the same run: one primary-key read of
one leaf row (proof generation), one SHA-256 of a 64-byte node (verification).

    .venv/bin/python bench/ledger/bench_checkpoints.py scans [--rounds 21] [--items 500]
    .venv/bin/python bench/ledger/bench_checkpoints.py proofs [--leaves 10000000]

Uses ``HOSO_BENCH_DATABASE_URL`` when set (a fresh database is created on that server),
else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.agency.witness import checkpoint_pass  # noqa: E402
from core.custody.merkle import (  # noqa: E402
    TILE_WIDTH,
    fold_level,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from core.custody.tree import tree_at  # noqa: E402
from core.custody.tree_models import LedgerCheckpoint, LedgerLeaf  # noqa: E402
from core.db import make_sessionmaker, transaction  # noqa: E402
from core.identity.service import actor_for  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.places.service import load_admin_units  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.factories import make_user  # noqa: E402


def _ledger_bench() -> Any:
    """The ledger bench's helpers (its batch and item factory), loaded by path, not copied."""
    path = ROOT / "bench" / "ledger" / "bench_ledger.py"
    spec = importlib.util.spec_from_file_location("bench_ledger", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- part 1: scans with the checkpointer off and on -------------------------------------------


def _checkpointer_main(
    url: str, heads: str, poll: float, interval: float, enabled: Any, done: Any
) -> None:
    """The worker's checkpoint pass, every ``poll`` seconds while ``enabled`` is set, until
    ``done``: in a process of its own, as ``hoso worker`` runs beside the app's processes.
    It is started once, so its start-up is never inside a measured half-round."""
    engine = create_engine(url, pool_size=2)
    factory = make_sessionmaker(engine)
    settings = Settings(environment="test", secret_key="bench", database_url=url,
                        ledger_checkpoint_interval_seconds=interval,
                        ledger_heads_file=Path(heads))  # fmt: skip
    while not done.is_set():
        if enabled.is_set():
            checkpoint_pass(factory, settings, now=datetime.now(UTC))
            done.wait(poll)
        else:
            enabled.wait(0.05)
    engine.dispose()


class Checkpointer:
    """Switches the checkpointer process on for the "on" half of a round, off for the other."""

    def __init__(self, url: str, heads: Path, poll: float, interval: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.enabled, self.done = context.Event(), context.Event()
        self.process = context.Process(
            target=_checkpointer_main,
            args=(url, str(heads), poll, interval, self.enabled, self.done),
            daemon=True,
        )
        self.process.start()

    def start(self) -> None:
        self.enabled.set()

    def stop(self) -> None:
        self.enabled.clear()

    def close(self) -> None:
        self.done.set()
        self.process.join()
        assert self.process.exitcode == 0, "the checkpointer failed"


def scans(url: str, args: argparse.Namespace) -> None:
    ledger = _ledger_bench()
    upgrade(url)
    engine = create_engine(url, pool_size=6)
    factory = make_sessionmaker(engine)
    heads = Path(tempfile.mkdtemp()) / "heads.jsonl"
    settings = Settings(environment="test", secret_key="bench", database_url=url,
                        ledger_checkpoint_interval_seconds=args.interval,
                        ledger_heads_file=heads)  # fmt: skip
    with transaction(factory) as session:
        load_admin_units(session)
        actor = actor_for(make_user(session, "courier"))
    checkpointer = Checkpointer(url, heads, args.poll, args.interval)
    time.sleep(3.0)  # its interpreter starts before anything is measured
    # The tree catches up with the set-up events before anything is timed.
    checkpoint_pass(factory, settings, now=datetime.now(UTC), force=True)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    ratios = []
    for round_number in range(1, args.rounds + 1):
        # Alternate which side goes first, so a load swing within a round favours neither.
        order = ("off", "on") if round_number % 2 else ("on", "off")
        got = {}
        for side in order:
            codes = ledger._make_items(factory, settings, args.items)
            # Level the tree before the clock starts: otherwise the "on" half would also pay
            # for sequencing the events of the "off" half before it and of the set-up.
            checkpoint_pass(factory, settings, now=datetime.now(UTC))
            if side == "on":
                checkpointer.start()
            seconds = 0.0
            for start in range(0, len(codes), args.batch):
                spent, _ = ledger.service_batch(factory, actor, codes[start : start + args.batch])
                seconds += spent
            if side == "on":
                checkpointer.stop()
            got[side] = args.items / seconds
            rates[side].append(got[side])
        ratios.append(got["on"] / got["off"])
        print(f"round {round_number}: off {got['off']:7.0f} scans/s   on {got['on']:7.0f} "
              f"scans/s   on/off {got['on'] / got['off']:.3f}", flush=True)  # fmt: skip
    checkpointer.close()
    # Whatever the checkpointer left, one more pass sequences; the last head covers it all.
    checkpoint_pass(factory, settings, now=datetime.now(UTC), force=True)
    with factory() as session:
        heads_made = session.scalar(select(func.count(LedgerCheckpoint.id)))
        leaves = session.scalar(select(func.count(LedgerLeaf.leaf_index)))
        events = session.scalar(text("SELECT count(*) FROM custody_events"))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    # Pooled: all pickups over all seconds of each side, so a slow round weighs what it took.
    pooled = sum(1 / r for r in rates["off"]) / sum(1 / r for r in rates["on"])
    print(
        f"\nmedian over {args.rounds} rounds of {args.items} pickups in batches of {args.batch}:"
        f"\n  checkpoints off  {statistics.median(rates['off']):8.0f} scans/s"
        f"\n  checkpoints on   {statistics.median(rates['on']):8.0f} scans/s"
        f"  (a pass every {args.poll:g} s, a head every {args.interval:g} s)"
        f"\n  on / off         {statistics.median(ratios):.3f} median of the rounds' ratios"
        f" (quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}); pooled {pooled:.3f}"
        f"  (target >= 0.90)"
        f"\n  {heads_made} heads signed; {leaves} leaves for {events} events"
    )
    assert leaves == events, "every event must be a leaf once the sequencer has caught up"
    engine.dispose()


# -- part 2: proofs at ten million leaves ------------------------------------------------------


def _copy_tree(url: str, count: int) -> None:
    """COPY ``count`` synthetic leaves and their stored nodes in, as the sequencer would
    leave them. Leaves are hashed as the sequencer hashes them (0x00 prefix)."""
    import psycopg

    started = time.perf_counter()
    level: list[bytes] = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as raw:
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY ledger_leaves (leaf_index, event_row_id, item_code, seq, hash) FROM STDIN"
            ) as copy,
        ):
            for index in range(count):
                leaf = leaf_hash(index.to_bytes(8, "big"))
                level.append(leaf)
                copy.write_row((index, index + 1, "DH000000000VN", 1, leaf))
        raw.commit()
        print(f"  {count:,} leaves copied in {time.perf_counter() - started:.0f} s", flush=True)
        height = 8
        while len(level) >= TILE_WIDTH:
            nodes = [
                fold_level(level[i : i + TILE_WIDTH])
                for i in range(0, len(level) - TILE_WIDTH + 1, TILE_WIDTH)
            ]
            with (
                raw.cursor() as cursor,
                cursor.copy("COPY ledger_tree_nodes (height, idx, hash) FROM STDIN") as copy,
            ):
                for idx, node in enumerate(nodes):
                    copy.write_row((height, idx, node))
            raw.commit()
            level = nodes
            height += 8
        raw.execute("ANALYZE ledger_leaves, ledger_tree_nodes")
        raw.commit()
    print(f"  tree stored in {time.perf_counter() - started:.0f} s", flush=True)


def proofs(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = create_engine(url, pool_size=2)
    factory = make_sessionmaker(engine)
    size = args.leaves
    _copy_tree(url, size)
    rng = random.Random(7)
    indexes = [rng.randrange(size) for _ in range(args.samples)]
    gen, ref, verify, sha, cons = [], [], [], [], []
    with factory() as session:
        started = time.perf_counter()
        root = tree_at(session, size).root()
        print(f"  root of {size:,} leaves from the store: {time.perf_counter() - started:.4f} s")
        old_root_size = size // 2 + 1
        old_root = tree_at(session, old_root_size).root()
        for index in indexes:
            started = time.perf_counter()
            session.scalar(select(LedgerLeaf.hash).where(LedgerLeaf.leaf_index == index))
            ref.append(time.perf_counter() - started)
            started = time.perf_counter()
            proof = tree_at(session, size).inclusion_proof(index)
            gen.append(time.perf_counter() - started)
            leaf = leaf_hash(index.to_bytes(8, "big"))
            started = time.perf_counter()
            ok = verify_inclusion(index, size, leaf, proof, root)
            verify.append(time.perf_counter() - started)
            assert ok, index
            started = time.perf_counter()
            hashlib.sha256(b"\x01" + leaf + leaf).digest()
            sha.append(time.perf_counter() - started)
        for _ in range(max(3, args.samples // 10)):
            started = time.perf_counter()
            proof = tree_at(session, size).consistency_proof(old_root_size)
            cons.append(time.perf_counter() - started)
            assert verify_consistency(old_root_size, size, old_root, root, proof)
    med = statistics.median
    print(
        f"\ninclusion proofs at {size:,} leaves, {args.samples} random leaves, medians:"
        f"\n  generate (from PostgreSQL)   {med(gen) * 1e3:8.2f} ms"
        f"   reference: one leaf row by key {med(ref) * 1e3:.2f} ms"
        f"   ratio {med(gen) / med(ref):.1f}"
        f"\n  verify                       {med(verify) * 1e6:8.1f} µs"
        f"   reference: one SHA-256 of a node {med(sha) * 1e6:.2f} µs"
        f"   ratio {med(verify) / med(sha):.1f}"
        f"\n  proof length                 {len(proof)} hashes (consistency), "
        f"{len(tree_at(session, size).inclusion_proof(indexes[0]))} (inclusion)"
        f"\n  consistency proof {old_root_size:,} -> {size:,}: {med(cons) * 1e3:.2f} ms"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    one = sub.add_parser("scans")
    # Many short rounds rather than a few long ones: on a shared machine the load swings
    # within minutes, and a median over many paired rounds is what survives it.
    one.add_argument("--rounds", type=int, default=21)
    one.add_argument("--items", type=int, default=500)
    one.add_argument("--batch", type=int, default=100)
    one.add_argument("--poll", type=float, default=1.0)
    one.add_argument("--interval", type=float, default=1.0)
    two = sub.add_parser("proofs")
    two.add_argument("--leaves", type=int, default=10_000_000)
    two.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    ledger = _ledger_bench()
    with ledger.scratch_database() as url:
        (scans if args.part == "scans" else proofs)(url, args)


if __name__ == "__main__":
    main()
