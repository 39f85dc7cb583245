"""One case from booking to delivery, the desk and the agency working over HTTP with real
commits, the agency hearing of every step by signed webhook; then ``hoso ledger verify``.

The citizen's booking and the courier's scans go through the services directly: their HTTP
APIs are built elsewhere (the courier app); every desk and agency step here is a request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from core.agency.models import AgencySystem
from core.agency.service import create_system, issue_key
from core.agency.webhooks import WEBHOOK_TOPIC, dispatch_due, send_webhook
from core.cli import app as cli
from core.custody.parties import party
from core.custody.service import record_one
from core.db import transaction
from core.handovers.service import open_handover
from core.identity.service import actor_for
from core.outbox.service import deliver_due
from core.settings import Settings
from tests.agency_client import signed_post
from tests.core.custody.helpers import scan
from tests.factories import make_case, make_office, make_user, unique
from tests.journey import pick_up
from tests.labels.samples import signature_png
from tests.receiver import receiver
from vntime import VN

# A dossier code carries the day the agency received the dossier: today, in Vietnam.
DAY = f"{datetime.now(VN):%y%m%d}"
SIGNATURE = "data:image/png;base64," + base64.b64encode(signature_png("Ký")).decode()


@pytest.fixture
def live_client(settings: Settings, database_url: str) -> Iterator[TestClient]:
    """The real app with its own request transactions (committed, as in production)."""
    with TestClient(create_app(settings, url=database_url)) as test_client:
        yield test_client


def test_booking_to_delivery_with_desk_and_agency_over_http(
    live_client: TestClient,
    committing: sessionmaker[Session],
    settings: Settings,
    cli_runner: CliRunner,
) -> None:
    client = live_client
    settings = settings.model_copy(update={"agency_webhook_gap_grace_seconds": 0})
    username = unique("desk")
    with receiver([200]) as hook:
        with transaction(committing) as session:
            dispatch_due(committing, settings, now=datetime.now(UTC))  # history is history
            office = make_office(session)
            make_user(session, "desk_officer", office_id=office.id, username=username,
                      password="correct horse battery")  # fmt: skip
            courier = make_user(session, "courier")
            system = create_system(session, code=unique("e2e-"), name="Một cửa Bắc Ninh",
                                   kind="provincial_one_stop", province_code="24",
                                   webhook_url=hook.url)  # fmt: skip
            key = issue_key(session, settings, system, now=datetime.now(UTC))
            case = make_case(session, settings, office=office)
            case.pickup_courier_id = case.delivery_courier_id = courier.id
            dossier = pick_up(session, case, courier)
            office_party, courier_party = party("office", office.id), party("courier", courier.id)
            to_desk = open_handover(
                session, actor_for(courier), giver=courier_party, receiver=office_party,
                item_codes=[dossier], now=datetime.now(UTC), fees_declared_vnd=200000,
            ).handover.id  # fmt: skip
            courier_actor, system_code = actor_for(courier), system.code

        login = {"username": username, "password": "correct horse battery"}
        signed_in = client.post("/login", data=login, follow_redirects=False)
        assert signed_in.headers["location"] == "/desk"
        scanned = client.post(f"/desk/handovers/{to_desk}/scan", data={"code": dossier},
                              headers={"Accept": "application/json"})  # fmt: skip
        assert scanned.json()["outcome"] == "confirmed"
        signed = {"courier_signature": SIGNATURE, "desk_signature": SIGNATURE}
        done = client.post(f"/desk/handovers/{to_desk}/complete",
                           data={"fees_confirmed_vnd": "200000", **signed},
                           follow_redirects=False)  # fmt: skip
        assert "outcome=completed" in done.headers["location"]

        code = f"000.00.24.H05-{DAY}-0321"
        received = signed_post(client, key, "/api/agency/v1/dossiers/received",
                               {"item_id": dossier, "agency_dossier_code": code,
                                "appointment_date": f"{datetime.now(VN):%Y-%m-%d}"})  # fmt: skip
        assert received.status_code == 200, received.json()
        ready = signed_post(client, key, "/api/agency/v1/results", {"agency_dossier_code": code})
        result = ready.json()["result_item_id"]

        with transaction(committing) as session:
            collect = open_handover(session, courier_actor, giver=office_party,
                                    receiver=courier_party, item_codes=[result],
                                    now=datetime.now(UTC)).handover.id  # fmt: skip
        client.post(f"/desk/handovers/{collect}/scan", data={"code": result})
        done = client.post(f"/desk/handovers/{collect}/complete",
                           data={"fees_confirmed_vnd": "0", **signed},
                           follow_redirects=False)  # fmt: skip
        assert "outcome=completed" in done.headers["location"]
        label = client.get(f"/print/labels/{result}.pdf")
        assert label.headers["content-type"] == "application/pdf"

        with transaction(committing) as session:
            record_one(session, courier_actor, scan("out_for_delivery", result))
            record_one(session, courier_actor, scan("delivered", result,
                       evidence={"proof": "otp", "otp_verified": True}))  # fmt: skip

        dispatch_due(committing, settings, now=datetime.now(UTC))
        deliver_due(committing, settings, {WEBHOOK_TOPIC: send_webhook},
                    now=datetime.now(UTC) + timedelta(seconds=1), limit=10_000)  # fmt: skip
        heard = [json.loads(r.body) for r in hook.requests]
        statuses = [(h["item_id"], h["status"]) for h in heard]
        assert statuses[0] == (dossier, "booked") and statuses[-1] == (result, "delivered")
        assert (dossier, "handed_over") in statuses and (result, "collected") in statuses
        assert heard[-1]["portal_status"] == {"code": 10, "name": "Đã trả kết quả"}
        assert heard[-1]["agency_dossier_code"] == code

    with transaction(committing) as session:
        session.execute(
            update(AgencySystem).where(AgencySystem.code == system_code).values(active=False)
        )
    verified = cli_runner.invoke(cli, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
