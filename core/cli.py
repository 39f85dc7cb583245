"""The ``hoso`` command. Every subcommand picks its database the same way (core.db)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from core.admin.cli import admin_app
from core.agency.cli import agency_app
from core.bankdesk.cli import bank_key_command
from core.catalogue.cli import catalogue_app
from core.cli_support import DataDir
from core.cli_support import database_for as _database
from core.cli_support import settings_for as _settings
from core.db import database_urls, transaction
from core.digitising.cli import digitised_app
from core.migrate import migrate_schema
from core.money.cli import money_app
from core.portal.cli import portal_app
from core.settings import Settings, get_settings
from core.sla.cli import report, sla_app

if TYPE_CHECKING:
    from core.outbox.service import Handler, InTransaction

log = logging.getLogger(__name__)

app = typer.Typer(help="hoso: dossiers and results between citizens and one-stop offices.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
ledger_app = typer.Typer(help="Check and repair the custody ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
labels_app = typer.Typer(help="Print item labels.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")
app.add_typer(agency_app, name="agency")
app.add_typer(digitised_app, name="digitised")
app.add_typer(admin_app, name="admin")
app.add_typer(catalogue_app, name="catalogue")
money_app.command("bank-key")(bank_key_command)
app.add_typer(money_app, name="money")
app.add_typer(sla_app, name="sla")
app.command("report")(report)
app.add_typer(portal_app, name="portal")

Host = Annotated[str, typer.Option("--host")]
Port = Annotated[int, typer.Option("--port")]


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the schema to the newest migration (as DATABASE_OWNER_URL's role, when set)."""
    migrate_schema(database_urls(_settings(data_dir)))
    typer.echo("schema is up to date")


@app.command()
def seed(
    data_dir: DataDir = None,
    demo: Annotated[bool, typer.Option(help="Add demo data.")] = False,
    province: Annotated[
        list[str] | None,
        typer.Option(
            "--province",
            help="Stand up this province (2-digit code, e.g. 01 for Hà "
            "Nội): an office per commune and a provincial centre. Repeatable.",
        ),
    ] = None,
) -> None:
    """Load reference data (administrative units, procedures, offices); --province stands up a
    province; --demo adds demo cases."""
    from core.booking.pricing import load_price_table
    from core.errors import DomainError
    from core.seed import seed_demo, seed_province, seed_reference

    settings = _settings(data_dir)
    _, factory = _database(settings)
    migrate_schema(database_urls(settings))
    prices = load_price_table(settings.booking_price_table)
    with transaction(factory) as session:
        if demo:
            added = seed_demo(session, settings, now=datetime.now(UTC))
            typer.echo("demo data added" if added else "demo data already present")
            _demo_dispatch_day(session, settings)
        elif province:
            for code in province:
                try:
                    seeded = seed_province(session, code, prices)
                except DomainError as exc:
                    typer.echo(f"error: {exc.field}: {exc.detail}", err=True)
                    raise typer.Exit(2) from exc
                typer.echo(f"province {code}: {seeded.communes} communes, "
                           f"{seeded.offices_added} offices added")  # fmt: skip
        else:
            seed_reference(session, prices)
            typer.echo("reference data loaded")


def _start_planner() -> None:
    """The planner's VROOM child now (about half a second), not inside the first plan, whose
    budget it would eat (routing.portfolio.start_workers)."""
    from routing.planner import start_workers

    start_workers()


def _serve(settings: Settings, host: str, port: int, *, with_worker: bool) -> None:
    import uvicorn

    _start_planner()
    if with_worker:
        threading.Thread(target=_worker_loop, args=(settings, 1.0), daemon=True).start()
    # The app is named by string so that core never imports the HTTP layer.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        # Logging is ours (core.ops.logs, set up in main): uvicorn's lines go through it, and
        # its access log gives way to the request line that carries the request ID.
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command()
def serve(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the web app and APIs (migrate first, when the owner's URL is known)."""
    settings = _settings(data_dir)
    urls = database_urls(settings)
    # In production only the migration job holds the owner's URL; without it, the doctor's
    # check below refuses a schema that is behind.
    if settings.environment != "production" or urls.owner is not None:
        migrate_schema(urls)
    _refuse_wrong_production(settings)
    _serve(settings, host, port, with_worker=False)


@app.command()
def demo(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Embedded database, migrations, demo data for Bắc Ninh, then serve with a worker."""
    from core.seed import DEMO_LOGINS, seed_demo

    settings = _settings(data_dir)
    _, factory = _database(settings)
    migrate_schema(database_urls(settings))
    with transaction(factory) as session:
        seed_demo(session, settings, now=datetime.now(UTC))
        _demo_dispatch_day(session, settings)
    typer.echo(f"\nhoso demo: http://{host}:{port}/")
    typer.echo("Demo logins (vai trò / role, tên đăng nhập / username, mật khẩu / password):")
    for login in DEMO_LOGINS:
        typer.echo(f"  {login.role:<13} {login.username:<10} {login.password}")
    typer.echo("")
    _serve(settings, host, port, with_worker=True)


def worker_handlers() -> dict[str, Handler | InTransaction]:
    """The worker's outbox handlers by topic: the outbox's own channels and each domain's."""
    from core.agency.webhooks import WEBHOOK_TOPIC, send_webhook
    from core.digitising.text_layer import TEXT_LAYER_TOPIC, text_layer_job
    from core.dispatch.live import LIVE_TOPIC, apply_update
    from core.outbox.senders import default_handlers
    from core.portal.sync import PORTAL_TOPIC, send_portal_status

    return {
        **default_handlers(), WEBHOOK_TOPIC: send_webhook, PORTAL_TOPIC: send_portal_status,
        LIVE_TOPIC: apply_update, TEXT_LAYER_TOPIC: text_layer_job,
    }  # fmt: skip


def slow_topics() -> tuple[str, ...]:
    """Outbox topics whose jobs take seconds, not milliseconds: delivered in a lane of their
    own (``_slow_lane``), so citizens' SMS, webhooks and the live plan never queue behind
    them. Several workers share each lane (SKIP LOCKED)."""
    from core.digitising.text_layer import TEXT_LAYER_TOPIC

    return (TEXT_LAYER_TOPIC,)


def _slow_lane(settings: Settings, poll_seconds: float, once: bool = False) -> int:
    from core.outbox.service import deliver_due

    _, factory = _database(settings)
    handlers, lane = worker_handlers(), slow_topics()
    total = 0
    while True:
        try:
            attempted = deliver_due(factory, settings, handlers, now=datetime.now(UTC),
                                    limit=1, topics=lane)  # fmt: skip
        except Exception:  # noqa: BLE001 - a database hiccup must not end the lane for good
            if once:
                raise
            log.exception("worker.slow_lane_failed")
            attempted = 0
        total += attempted
        if attempted:
            continue
        if once:
            return total
        time.sleep(poll_seconds)


def _worker_loop(
    settings: Settings, poll_seconds: float, once: bool = False, heartbeat: Path | None = None
) -> int:
    from core.agency.webhooks import dispatch_due
    from core.agency.witness import checkpoint_pass
    from core.booking.notify import notify_pass
    from core.digitising.retention import purge_pass
    from core.dispatch.live import ledger_pass, reoptimise_due
    from core.outbox.service import deliver_due
    from core.portal.sync import sync_due
    from core.sla.rollup import sla_pass

    _, factory = _database(settings)
    handlers, slow = worker_handlers(), slow_topics()
    if not once:
        threading.Thread(target=_slow_lane, args=(settings, poll_seconds), daemon=True).start()
    total = 0
    next_purge = datetime.now(UTC)
    while True:
        if datetime.now(UTC) >= next_purge:
            # Digitised copies past their retention: hourly is plenty for a period in days.
            next_purge = datetime.now(UTC) + timedelta(hours=1)
            purge_pass(factory, settings, now=datetime.now(UTC))
        # Status webhooks are found in the ledger first, so this poll already delivers them.
        dispatch_due(factory, settings, now=datetime.now(UTC))
        # The ledger's tree catches up and a signed head is made when one is due; its push to
        # the agencies is queued with it, so the delivery below already sends it.
        checkpoint_pass(factory, settings, now=datetime.now(UTC))
        # Portal status changes too (nothing when HOSO_PORTAL_SYNC_URL is unset).
        sync_due(factory, settings, now=datetime.now(UTC))
        # Changes to a day's work (bookings, cancellations, results, failed attempts) are
        # queued for the live plan; the delivery below applies them, once each.
        ledger_pass(factory, settings, now=datetime.now(UTC))
        reoptimise_due(factory, settings, now=datetime.now(UTC))  # off unless configured
        # Citizens' SMS for new ledger events are queued first, then delivered with the rest.
        notify_pass(factory, settings, now=datetime.now(UTC))
        # Service-quality roll-ups: a new event is in today's figures after one poll.
        sla_pass(factory, settings, now=datetime.now(UTC))
        attempted = deliver_due(factory, settings, handlers, now=datetime.now(UTC),
                                other_than=slow)  # fmt: skip
        total += attempted
        if heartbeat is not None:
            heartbeat.touch()  # a stuck worker stops touching it; the healthcheck notices
        if attempted:
            continue  # a backlog drains at full speed; only an empty queue waits
        if once:
            return total + _slow_lane(settings, poll_seconds, once=True)
        time.sleep(poll_seconds)


@app.command()
def worker(
    data_dir: DataDir = None,
    once: Annotated[bool, typer.Option(help="Deliver what is due, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between polls.")] = 1.0,
    heartbeat: Annotated[Path | None, typer.Option(help="File touched after every poll.")] = None,
) -> None:
    """Deliver outbox messages (SMS, webhooks) with retries and dead-lettering."""
    settings = _settings(data_dir)
    _refuse_wrong_production(settings)
    if not once:
        _start_planner()  # the live plan's re-optimisation plans here
    count = _worker_loop(settings, poll, once=once, heartbeat=heartbeat)
    typer.echo(f"attempted {count} deliveries")


@ledger_app.command("verify")
def ledger_verify(
    data_dir: DataDir = None,
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            help="Signed heads to check against: a file (one note, or the heads file's JSON "
            "lines) or a URL (/api/v1/ledger/checkpoints). Repeatable. Default: the heads file.",
        ),
    ] = None,
) -> None:
    """Re-walk every hash chain and projection, then check the events against the signed
    heads (signatures, RFC 9162 consistency, every leaf). Exit 0: all sound; 1: a broken
    chain, projection or head (each named by item and event); 2: the check could not run."""
    from core.custody.audit import AuditReport, audit_ledger, open_heads
    from core.custody.checkpoints import leaves_file, trusted_verifiers
    from core.custody.server_signing import legacy_problems, signing_epoch
    from core.custody.verify import Problem, VerifyReport, verify_ledger
    from core.papers.verify import SealProblem, verify_sealed

    try:
        settings = _settings(data_dir)
        notes, source = _head_notes(settings, checkpoint or [])
        if checkpoint and not notes:
            raise ValueError(f"no signed head in {source}")
        _, factory = _database(settings)
        with transaction(factory) as session, _verify_progress(session) as progress:
            report: VerifyReport = verify_ledger(session, progress)
            papers, paper_problems = verify_sealed(session)
        with transaction(factory) as session:
            if not notes and not checkpoint:
                notes, source = _database_heads(session), "the database (no heads file)"
            # The leaves kept beside the heads file name an event even when its stored leaf
            # and the tree were rewritten; with heads from elsewhere there are none.
            kept = leaves_file(settings) if not checkpoint else None
            audit: AuditReport = audit_ledger(
                session, notes, trusted_verifiers(settings), origin=settings.ledger_origin,
                grace_seconds=settings.agency_webhook_gap_grace_seconds, leaves_path=kept,
            )  # fmt: skip
            # Unsigned events from before server signatures stand only under a trusted head
            # signed before those began (docs/ledger.md, "Server-signed events").
            heads = open_heads(notes, trusted_verifiers(settings), settings.ledger_origin,
                               AuditReport())  # fmt: skip
            for code, seq, unproven in legacy_problems(
                session, report.legacy_unsigned, heads, signing_epoch(session)
            ):
                report.problems.append(Problem(code, seq, unproven))
    except Exception as exc:  # noqa: BLE001 - any failure is "could not run", never "broken"
        # One line for a cron log: exit 1 must only ever mean tampering or a broken chain.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        typer.echo(f"hoso ledger verify: could not run: {reason}", err=True)
        raise typer.Exit(2) from None
    for problem in report.problems:
        where = f" event {problem.seq}" if problem.seq is not None else ""
        typer.echo(f"BROKEN {problem.item_code}{where}: {problem.problem}")
    # A signed paper whose rows no longer hash to what the ledger sealed.
    sealed: SealProblem
    for sealed in paper_problems:
        typer.echo(
            f"BROKEN {sealed.record} (sealed on {sealed.item_code} event {sealed.seq}): "
            f"{sealed.problem}"
        )
    broken = len(report.problems) + len(paper_problems)
    for finding in audit.findings:
        typer.echo(finding.line())
    latest = audit.latest_head
    if latest is None and audit.ok:
        typer.echo("no signed head yet: run `hoso ledger checkpoint` or the worker")
    else:
        newer = f", {audit.unsigned_events} events newer" if audit.unsigned_events else ""
        typer.echo(
            f"checked {audit.heads_checked} signed heads from {source}"
            + (f" (latest: {latest.size} events)" if latest else "")
            + f", {audit.leaves_checked} leaves{newer}: "
            + ("ok" if audit.ok else f"{len(audit.findings)} broken")
        )
    # The chains' verdict last: a cron log's last line says whether any chain broke.
    typer.echo(
        f"checked {report.items_checked} items, {papers} signed papers, "
        f"{report.events_checked} events: " + ("ok" if not broken else f"{broken} broken")
    )
    raise typer.Exit(0 if not broken and audit.ok else 1)


def _head_notes(settings: Settings, sources: list[str]) -> tuple[list[str], str]:
    """Signed notes from files or URLs; none given: the heads file, when it exists."""
    import httpx

    from core.custody.checkpoints import heads_file, read_heads

    if not sources:
        path = heads_file(settings)
        if not path.exists():
            return [], ""
        sources = [str(path)]
    notes: list[str] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            response = httpx.get(source, timeout=30.0)
            response.raise_for_status()
            notes.extend(read_heads(response.text))
        else:
            notes.extend(read_heads(Path(source).read_text(encoding="utf-8")))
    return notes, ", ".join(sources)


def _database_heads(session: Session) -> list[str]:
    from sqlalchemy import select

    from core.custody.tree_models import LedgerCheckpoint

    return list(session.scalars(select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.id)))


@ledger_app.command("checkpoint")
def ledger_checkpoint(data_dir: DataDir = None) -> None:
    """Bring the ledger's Merkle tree up to date and sign a head now (the worker does this
    every minute while events arrive); print the signed note."""
    from core.agency.witness import checkpoint_pass

    settings = _settings(data_dir)
    _, factory = _database(settings)
    row = checkpoint_pass(factory, settings, now=datetime.now(UTC), force=True)
    assert row is not None
    typer.echo(row.note, nl=False)


@ledger_app.command("keygen")
def ledger_keygen(
    name: Annotated[str, typer.Option(help="Key name; by default the ledger's origin.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Make a new Ed25519 signing key: the private key on the first line (for
    HOSO_LEDGER_SIGNING_KEY or its file), the public key on the second (publish it)."""
    from core.custody.note import Signer

    signer = Signer.generate(name or _settings(data_dir).ledger_origin)
    typer.echo(signer.skey())
    typer.echo(signer.verifier.vkey())


@ledger_app.command("public-key")
def ledger_public_key(
    data_dir: DataDir = None,
    events: Annotated[
        bool, typer.Option("--events", help="The keys events are signed with, not heads.")
    ] = False,
) -> None:
    """Print the public keys heads (or, with --events, events) are checked with (the
    current one first)."""
    from core.custody.checkpoints import trusted_verifiers
    from core.custody.server_signing import event_signer

    settings = _settings(data_dir)
    if events:
        typer.echo(event_signer(settings).vkey)
        for vkey in settings.event_trusted_keys.split(","):
            if vkey.strip():
                typer.echo(vkey.strip())
        return
    for verifier in trusted_verifiers(settings):
        typer.echo(verifier.vkey())


@contextmanager
def _verify_progress(session: Session) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar (events/s, items/s, ETA) on a terminal; nothing otherwise, so that a
    cron job's log holds only the verdict."""
    if not sys.stderr.isatty():
        yield None
        return
    from sqlalchemy import func, select
    from tqdm import tqdm

    from core.custody.models import CustodyEvent

    total = session.scalar(select(func.count()).select_from(CustodyEvent))
    started = time.monotonic()
    with tqdm(total=total, unit=" events", unit_scale=True, file=sys.stderr) as bar:

        def progress(items: int, events: int) -> None:
            bar.update(events - bar.n)
            bar.set_postfix_str(f"{items / max(time.monotonic() - started, 1e-9):,.0f} items/s")

        yield progress


@ledger_app.command("rebuild")
def ledger_rebuild(data_dir: DataDir = None) -> None:
    """Recompute every item's status and custodian from its events."""
    from core.custody.verify import rebuild_projections

    _, factory = _database(_settings(data_dir))
    with transaction(factory) as session:
        changed = rebuild_projections(session)
    typer.echo(f"rebuilt projections: {changed} changed")


class LabelFormat(StrEnum):
    pdf = "pdf"
    zpl = "zpl"
    html = "html"


@labels_app.command("print")
def labels_print(
    items: Annotated[list[str], typer.Argument(help="S10 item IDs.")],
    format: Annotated[LabelFormat, typer.Option("--format")] = LabelFormat.pdf,
    output: Annotated[Path | None, typer.Option("--output", help="File; stdout if absent.")] = None,
    dpi: Annotated[int, typer.Option(help="ZPL printer resolution: 203 or 300.")] = 203,
    layout: Annotated[
        str, typer.Option(help="PDF layout: roll (100x150) or a4 (4 per page).")
    ] = "roll",
    data_dir: DataDir = None,
) -> None:
    """Render labels for items as PDF, ZPL or HTML."""
    from tqdm import tqdm

    from core.cases.labels import label_data_for
    from core.errors import DomainError
    from labels.errors import InvalidCode
    from labels.label import render_label_html, render_label_pdf, render_label_zpl
    from labels.s10 import validate_item_id

    if format is LabelFormat.html and len(items) != 1:
        raise typer.BadParameter("html renders one label; use --format pdf for a batch")
    if dpi not in (203, 300):
        raise typer.BadParameter("dpi must be 203 or 300", param_hint="--dpi")
    if layout not in ("roll", "a4"):
        raise typer.BadParameter("layout must be roll or a4", param_hint="--layout")
    settings = _settings(data_dir)
    _, factory = _database(settings)
    try:
        codes = [validate_item_id(raw) for raw in items]
        with transaction(factory) as session:
            data = [
                label_data_for(session, settings, code)
                for code in tqdm(codes, desc="labels", unit="label", file=sys.stderr,
                                 disable=len(codes) < 2)
            ]  # fmt: skip
    except (InvalidCode, DomainError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if format is LabelFormat.pdf:
        body: bytes = render_label_pdf(data, layout=layout)  # type: ignore[arg-type]
    elif format is LabelFormat.zpl:
        body = "".join(render_label_zpl(d, dpi=dpi) for d in data).encode()
    else:
        body = render_label_html(data[0]).encode()
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(body)
        typer.echo(f"wrote {len(data)} label(s) to {output}", err=True)


def _demo_dispatch_day(session: Session, settings: Settings) -> None:
    from core.seed import seed_dispatch_day

    if seed_dispatch_day(session, settings, now=datetime.now(UTC)):
        typer.echo("today's routes planned for the demo dispatcher (dieuphoi): /dispatch")


@app.command("plan")
def plan_command(
    post_office: Annotated[
        str, typer.Option("--post-office", help="Post office code, e.g. BN-01.")
    ],
    day: Annotated[str, typer.Option("--date", help="Service date, YYYY-MM-DD (local time).")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Planner budget in seconds.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Plan (or re-plan) a post office's day and print each courier's route summary."""
    from datetime import date

    from core.dispatch.day import post_office_by_code
    from core.dispatch.service import plan_day
    from core.errors import DomainError
    from vntime import vn_time

    try:
        service_date = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a date YYYY-MM-DD", param_hint="--date") from None
    settings = _settings(data_dir)
    _, factory = _database(settings)
    migrate_schema(database_urls(settings))
    try:
        with transaction(factory) as session:
            post = post_office_by_code(session, post_office)
            summary = plan_day(session, settings, post_office_id=post.id, day=service_date,
                               now=datetime.now(UTC), time_limit_s=time_limit)  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc

    def hm(moment: datetime | None) -> str:
        return vn_time(moment, "--:--")

    typer.echo(f"{post.code} {post.name} · {service_date.isoformat()} · engine {summary.engine} "
               f"· {summary.wall_time_s:.2f} s · travel {summary.matrix_source}")  # fmt: skip
    typer.echo(f"{'courier':<24} {'stops':>5} {'first':>6} {'last':>6} {'back':>6} {'km':>7}")
    for c in summary.couriers:
        typer.echo(f"{c.name:<24} {c.stops:>5} {hm(c.first_eta):>6} {hm(c.last_eta):>6} "
                   f"{hm(c.back_at):>6} {c.distance_km:>7.1f}")  # fmt: skip
    typer.echo(f"{summary.stops_assigned} stops routed, {len(summary.unassigned)} unassigned")
    for stop_id, reason in summary.unassigned:
        typer.echo(f"  unassigned stop {stop_id}: {reason}")


pings_app = typer.Typer(help="Couriers' location pings.", no_args_is_help=True)
app.add_typer(pings_app, name="pings")


@pings_app.command("prune")
def pings_prune(
    data_dir: DataDir = None,
    days: Annotated[int, typer.Option(min=1, help="Keep this many days.")] = 30,
) -> None:
    """Delete location pings older than --days (30): run daily, e.g. from cron."""
    from core.courier.pings import prune_pings

    _, factory = _database(_settings(data_dir))
    with transaction(factory) as session:
        removed = prune_pings(session, now=datetime.now(UTC), keep_days=days)
    typer.echo(f"removed {removed} location pings older than {days} days")


@app.command()
def doctor(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each gateway.")] = 3.0,
) -> None:
    """Every problem with this configuration, judged as production would run it (exit 1 on a
    fatal one; silent on a correct configuration)."""
    from core.ops.doctor import Probe, Severity, diagnose, load_settings_for_doctor

    loaded = load_settings_for_doctor()
    problems = loaded if isinstance(loaded, list) else diagnose(loaded, Probe(timeout))
    for problem in problems:
        typer.echo(problem.line(), err=True)
    raise typer.Exit(1 if any(p.severity is Severity.fatal for p in problems) else 0)


def _refuse_wrong_production(settings: Settings) -> None:
    """In production, refuse to start on any fatal problem the doctor finds, in its words."""
    if settings.environment != "production":
        return
    from core.ops.doctor import Probe, Severity, diagnose

    # Gateways are the doctor's to check, not start-up's: a gateway down for a minute would
    # otherwise keep the app in a restart loop, while the outbox just retries later.
    fatal = [p for p in diagnose(settings, Probe(offline=True)) if p.severity is Severity.fatal]
    for problem in fatal:
        typer.echo(problem.line(), err=True)
    if fatal:
        typer.echo("hoso: không khởi động / refusing to start (hoso doctor)", err=True)
        raise typer.Exit(1)


def main() -> None:
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError

    from core.db import EmbeddedDatabaseMissing
    from core.ops.doctor import explain_invalid_settings, no_embedded_database, unreachable_database
    from core.ops.logs import configure_logging

    try:
        configure_logging(get_settings())
        app()
    except ValidationError as exc:
        # A wrong setting is one line naming it, not pydantic's traceback.
        for problem in explain_invalid_settings(exc):
            typer.echo(problem.line(), err=True)
        sys.exit(2)
    except OperationalError as exc:
        typer.echo(unreachable_database(exc).line(), err=True)
        sys.exit(2)
    except EmbeddedDatabaseMissing:
        typer.echo(no_embedded_database().line(), err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
