"""The role × endpoint matrix: every route of the app, called by every kind of user, answers
what ``EXPECTED`` says.

The routes are read from the app itself (every OpenAPI operation and every HTML route), so a
route added without a row here fails ``test_every_route_is_in_the_matrix``. Each row names one
concrete request on objects of post office 1 / office 1 / citizen A, created through the
services; the principals of post office 2, office 2 and citizen B are the strangers, so the
object-level checks are exercised (another citizen's case is 404, another post office's
hand-over 403).

One app and one set of objects for the module; each call runs in a savepoint rolled back
afterwards, so a call that changes something (a cancel, a revoke) does not change the next.
The app keeps its own request transactions (commit, roll back, close), as in production.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.admin.users import Binding
from core.booking.models import BookingTerms
from core.booking.pricing import DEFAULT_TABLE, make_quote
from core.courier.bags import open_bag
from core.courier.devices import sign_in
from core.courier.pings import Fix, record_pings
from core.custody.checkpoints import make_checkpoint
from core.custody.parties import party
from core.custody.service import record_one
from core.dispatch.day import today_in_vietnam
from core.dispatch.models import RouteStop
from core.dispatch.service import plan_day
from core.handovers.service import open_handover
from core.identity.models import SignInFailure
from core.identity.service import MAX_FAILURES_PER_ACCOUNT, actor_for, issue_token
from core.money import record_payment
from core.money.bank.service import import_statement
from core.settings import Settings
from tests.core.admin.helpers import staff
from tests.core.custody.helpers import scan
from tests.core.money.bank_helpers import statement_csv
from tests.factories import (
    KINH_BAC,
    dossier_of,
    make_case,
    make_office,
    make_post_office,
    make_user,
)
from tests.labels.samples import signature_png
from vntime import VN

PRINCIPALS = (
    "anon",
    "citizen_a",
    "citizen_b",
    "courier_1",
    "dispatcher_1",
    "courier_2",
    "dispatcher_2",
    "desk_1",
    "desk_2",
    "admin",
    "supervisor_1",
    "clerk_1",
)
# A drawn signature as the desk's pads post it (a hand-over record needs both).
SIGNED = "data:image/png;base64," + base64.b64encode(signature_png("Ký")).decode()
CITIZENS = ("citizen_a", "citizen_b")
STAFF = tuple(p for p in PRINCIPALS if p not in ("anon", *CITIZENS))
SIGNED_IN = PRINCIPALS[1:]
# Routes the framework adds (documentation), not ours to authorise; /static is a mount.
FRAMEWORK = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
             ("GET", "/redoc")}  # fmt: skip

# An expected answer: a status, or (303, "error") for a form that redirects back with an
# error (the desk's way of refusing another office's objects), (303, "ok") without one.
Expected = int | tuple[int, str]


def cells(default: Expected, **by_principal: Expected) -> dict[str, Expected]:
    unknown = set(by_principal) - set(PRINCIPALS)
    assert not unknown, unknown
    return {p: by_principal.get(p, default) for p in PRINCIPALS}


def public(status: Expected = 200) -> dict[str, Expected]:
    return cells(status)


def api_for(allowed: dict[str, Expected]) -> dict[str, Expected]:
    """A JSON endpoint: 401 without a token, 403 for a role without access."""
    return cells(403, anon=401, **allowed)


def page_for(allowed: dict[str, Expected], login: int = 303) -> dict[str, Expected]:
    """A page: sent to sign in without a session, a 403 page for a role without access."""
    return cells(403, anon=login, **allowed)


def each(principals: tuple[str, ...], status: Expected) -> dict[str, Expected]:
    return dict.fromkeys(principals, status)


@dataclass
class Objects:
    """What the rows refer to, all on the side of post office 1, office 1 and citizen A."""

    case_a: int = 0
    item_a: str = ""
    handover_1: int = 0
    bag_1: str = ""
    device_1: int = 0
    stop_1: int = 0
    courier_1: int = 0
    courier_2: int = 0
    post_office_1: str = ""
    post_office_1_id: int = 0
    line_1: int = 0  # an unmatched bank line of post office 1
    receipt_a: int = 0
    receipt_1: str = ""  # the pickup's event id: a citizen's receipt
    head_size: int = 0  # a signed head of the ledger
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    expected: dict[str, Expected]
    json: Any = None
    data: dict[str, str] | None = None
    params: dict[str, Any] | None = None


def calls(o: Objects) -> dict[tuple[str, str], Call]:
    """One row per route: the route's template, the concrete request, the answers."""
    field_roles = each(("courier_1", "dispatcher_1", "courier_2", "dispatcher_2", "clerk_1"), 422)
    couriers_422 = each(("courier_1", "courier_2"), 422)
    printing = {**each(("courier_1", "dispatcher_1", "desk_1", "admin", "supervisor_1",
                        "clerk_1"), 200),
                **each(("courier_2", "dispatcher_2", "desk_2"), 403)}  # fmt: skip
    desks = each(("desk_1", "desk_2"), 200)
    messages_staff = each(("dispatcher_1", "dispatcher_2", "admin"), 200)
    admins = each(("admin", "supervisor_1"), 200)
    admins_422 = each(("admin", "supervisor_1"), 422)
    admins_303 = each(("admin", "supervisor_1"), 303)
    bankers = ("dispatcher_1", "dispatcher_2", "admin", "supervisor_1")
    bankers_1 = ("dispatcher_1", "admin", "supervisor_1")
    reconcile_day = {"date": "2026-12-03", "post_office_id": o.post_office_1_id}
    money_roles = ("dispatcher_1", "dispatcher_2", "clerk_1", "supervisor_1", "admin")
    cash_up_roles = ("dispatcher_1", "dispatcher_2", "clerk_1", "admin")
    # Post office 1's money: its own staff, its province's supervisor, admins.
    money_po1 = {**each(money_roles, 200), "dispatcher_2": 403}
    correctors = ("dispatcher_1", "dispatcher_2", "admin", "supervisor_1")
    window = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    rows = [
        # -- public: home, sign-in, tracking, the courier app's shell, health ---------------
        Call("GET", "/", public()),
        Call("GET", "/login", public()),
        # A name locked by failed sign-ins: refused at once, without hashing a password.
        Call("POST", "/login", public(429), data={"username": LOCKED_NAME, "password": "x"}),
        Call("POST", "/logout", public(303)),
        Call("GET", "/courier", public()),
        Call("GET", "/courier/", public()),
        Call("GET", "/courier/sw.js", public()),
        Call("GET", "/courier/manifest.webmanifest", public()),
        Call("GET", "/healthz", public()),
        Call("GET", "/api/v1/tracking/{item_id}", public()),
        Call("GET", "/t", public(303), params={"id": o.item_a}),
        Call("GET", "/t/{item_id}", public()),
        Call("GET", "/t/{item_id}/barcode.svg", public()),
        Call("GET", "/t/{item_id}/qr.svg", public()),
        Call("GET", "/mobile/v1/reasons", public()),
        # -- the ledger's signed heads, proofs and citizens' receipts: public ---------------
        Call("GET", "/api/v1/ledger/checkpoints", public()),
        Call("GET", "/api/v1/ledger/checkpoints/{size}", public()),
        Call("GET", "/api/v1/ledger/consistency", public(),
             params={"first": 1, "second": o.head_size}),
        Call("GET", "/api/v1/ledger/public-keys", public()),
        Call("GET", "/api/v1/receipts/{event_id}", public()),
        Call("GET", "/r/{event_id}", public()),
        # -- agency systems: HMAC-signed, so every user without the key is refused ----------
        Call("POST", "/api/agency/v1/dossiers/received", public(401), json={}),
        Call("POST", "/api/agency/v1/results", public(401), json={}),
        Call("POST", "/api/agency/v1/dossiers/returned", public(401), json={}),
        # -- booking: public look-ups (bad bodies are 422 for everyone) ---------------------
        Call("POST", "/api/v1/citizen/sign-in/code", public(422), json={}),
        Call("POST", "/api/v1/citizen/sign-in", public(422), json={}),
        Call("POST", "/api/v1/citizen/sign-out", public(204)),
        Call("GET", "/api/v1/procedures", public()),
        Call("POST", "/api/v1/addresses/parse", public(422), json={}),
        Call("GET", "/api/v1/offices", public(), params={"commune_code": KINH_BAC}),
        Call("GET", "/api/v1/windows", public(422)),
        Call("POST", "/api/v1/quotes", public(422), json={}),
        Call("GET", "/citizen/sign-in", public()),
        Call("POST", "/citizen/sign-in", public(422), data={}),
        # -- a citizen's own cases (API): the other citizen gets 404, staff 403 -------------
        Call("POST", "/api/v1/bookings", api_for(each(CITIZENS, 422)), json={}),
        Call("GET", "/api/v1/my/cases", api_for(each(CITIZENS, 200))),
        Call("GET", "/api/v1/my/cases/{case_id}", api_for({"citizen_a": 200, "citizen_b": 404})),
        Call("GET", "/api/v1/my/cases/{case_id}/eta",
             api_for({"citizen_a": 200, "citizen_b": 404})),
        Call("POST", "/api/v1/my/cases/{case_id}/cancel",
             api_for({"citizen_a": 409, "citizen_b": 404})),
        Call("POST", "/api/v1/my/cases/{case_id}/reschedule",
             api_for({"citizen_a": 409, "citizen_b": 404}),
             json={"pickup_window_start": window}),
        Call("POST", "/api/v1/my/cases/{case_id}/rating",
             api_for({"citizen_a": 409, "citizen_b": 404}), json={"stars": 5}),
        Call("GET", "/api/v1/my/cases/{case_id}/quote.pdf",
             api_for({"citizen_a": 200, "citizen_b": 404})),
        Call("GET", "/api/v1/my/cases/{case_id}/receipts/{receipt_id}.pdf",
             api_for({"citizen_a": 200, "citizen_b": 404})),
        Call("GET", "/api/v1/my/cases/{case_id}/payment-qr.png",
             api_for({"citizen_a": 422, "citizen_b": 404})),
        # -- a citizen's pages -----------------------------------------------------------------
        Call("GET", "/book", page_for(each(CITIZENS, 200))),
        Call("POST", "/book", page_for(each(CITIZENS, 200)), data={"stage": "search"}),
        Call("GET", "/my", page_for(each(CITIZENS, 200))),
        Call("GET", "/my/cases/{case_id}", page_for({"citizen_a": 200, "citizen_b": 404})),
        Call("POST", "/my/cases/{case_id}/{action}",
             page_for({"citizen_a": 422, "citizen_b": 404})),
        # -- the courier app (couriers and dispatchers; admins watch devices and couriers) --
        Call("POST", "/mobile/v1/auth/login", public(422), json={}),
        Call("POST", "/mobile/v1/auth/logout", api_for(each(SIGNED_IN, 204))),
        Call("GET", "/mobile/v1/me", api_for(each(SIGNED_IN, 200))),
        Call("GET", "/mobile/v1/devices",
             api_for(each(("dispatcher_1", "dispatcher_2", "admin", "supervisor_1"), 200))),
        Call("POST", "/mobile/v1/devices/{device_id}/revoke",
             api_for({"dispatcher_1": 200, "admin": 200})),
        Call("POST", "/mobile/v1/scans", api_for(field_roles), json={}),
        Call("POST", "/mobile/v1/pickups", api_for(couriers_422), json={}),
        Call("POST", "/mobile/v1/pickups/refusals", api_for(couriers_422), json={}),
        Call("POST", "/mobile/v1/deliveries", api_for(couriers_422), json={}),
        Call("POST", "/mobile/v1/deliveries/attempts", api_for(couriers_422), json={}),
        Call("POST", "/mobile/v1/deliveries/{code}/otp",
             api_for({"courier_1": 422, "courier_2": 422})),  # a dossier, not a result
        Call("GET", "/mobile/v1/returns", api_for(each(("courier_1", "courier_2"), 200))),
        Call("GET", "/mobile/v1/cases/{case_id}/slip.pdf",
             api_for({"courier_1": 200, "dispatcher_1": 200, "clerk_1": 200})),
        Call("GET", "/mobile/v1/runsheet",
             api_for({"courier_1": 200, "dispatcher_1": 200, "clerk_1": 200}),
             params={"courier_id": o.courier_1}),
        # A courier's own figures; their post office's dispatcher and clerk, the province's
        # supervisor and an admin may read them too (core.access.sla_reach).
        Call("GET", "/mobile/v1/figures",
             api_for(each(("courier_1", "dispatcher_1", "clerk_1", "admin", "supervisor_1"),
                          200)),
             params={"courier_id": o.courier_1}),
        Call("PUT", "/mobile/v1/media/{sha256}", api_for(field_roles)),
        Call("POST", "/mobile/v1/media/missing", api_for(field_roles), json={}),
        Call("POST", "/mobile/v1/handovers", api_for(field_roles), json={}),
        Call("GET", "/mobile/v1/handovers",
             api_for(each(("courier_1", "dispatcher_1", "courier_2", "dispatcher_2", "clerk_1"),
                          200))),
        Call("GET", "/mobile/v1/handovers/{handover_id}",
             api_for({"courier_1": 200, "dispatcher_1": 200})),
        Call("POST", "/mobile/v1/handovers/{handover_id}/items",
             api_for({"courier_1": 403}), json={"code": o.item_a}),
        Call("POST", "/mobile/v1/handovers/{handover_id}/lines",
             api_for({"courier_1": 403}),
             json={"code": o.item_a, "outcome": "damaged", "reason": "torn", "accept": True}),
        Call("POST", "/mobile/v1/handovers/{handover_id}/complete",
             api_for({"courier_1": 403}),
             json={"fees_confirmed_vnd": 0, "giver_signature_sha256": "a" * 64,
                   "receiver_signature_sha256": "b" * 64}),
        Call("POST", "/mobile/v1/bags",
             api_for(each(("courier_1", "dispatcher_1", "courier_2", "dispatcher_2", "clerk_1"),
                          201))),
        Call("GET", "/mobile/v1/bags/{bag_code}",
             api_for({"courier_1": 200, "dispatcher_1": 200, "clerk_1": 200})),
        Call("POST", "/mobile/v1/bags/{bag_code}/items",
             api_for({"courier_1": 200, "dispatcher_1": 200, "clerk_1": 200}),
             json={"code": o.item_a, "client_event_id": str(uuid.uuid4())}),
        Call("POST", "/mobile/v1/bags/{bag_code}/items/remove",
             api_for({"courier_1": 422, "dispatcher_1": 422, "clerk_1": 422}),  # not in the bag
             json={"code": o.item_a, "client_event_id": str(uuid.uuid4())}),
        Call("POST", "/mobile/v1/bags/{bag_code}/seal",  # an empty bag is not sealed
             api_for({"courier_1": 409, "dispatcher_1": 409, "clerk_1": 409}),
             json={"seal_number": "S-1"}),
        Call("POST", "/mobile/v1/pings", api_for(couriers_422), json={}),
        Call("GET", "/mobile/v1/couriers/{courier_id}/position",
             api_for({"dispatcher_1": 200, "admin": 200, "supervisor_1": 200})),
        Call("POST", "/mobile/v1/stops/{stop_id}/arrival", api_for(couriers_422), json={}),
        # -- print files: staff of post office 1 / office 1, and admins -------------------------
        Call("GET", "/print/labels.pdf", api_for(printing), params={"items": [o.item_a]}),
        Call("GET", "/print/labels/{item_id}.pdf", api_for(printing)),
        Call("GET", "/print/labels.zpl", api_for(printing), params={"items": [o.item_a]}),
        Call("GET", "/print/labels/{item_id}.zpl", api_for(printing)),
        Call("GET", "/print/labels/{item_id}.html", api_for(printing)),
        Call("GET", "/print/dossier-slips/{item_id}.pdf", api_for(printing)),
        Call("GET", "/print/receipts/{item_id}.pdf", api_for(printing)),
        # Another side's receipt is not found rather than forbidden: its number says nothing.
        Call("GET", "/print/money-receipts/{receipt_id}.pdf",
             api_for({**printing, **each(("courier_2", "dispatcher_2", "desk_2"), 404)})),
        # Courier 1 to office 1: a clerk reads the post office's own hand-overs, not these.
        Call("GET", "/print/handovers/{handover_id}.pdf", api_for({**printing, "clerk_1": 403})),
        # -- the desk: desk officers; another office's objects are refused -----------------
        Call("GET", "/desk", page_for(desks)),
        Call("POST", "/desk/find", page_for({"desk_1": (303, "ok"), "desk_2": (303, "error")}),
             data={"code": o.item_a}),
        Call("GET", "/desk/handovers/{handover_id}", page_for({"desk_1": 200, "desk_2": 403})),
        Call("POST", "/desk/handovers/{handover_id}/scan",
             page_for({"desk_1": (303, "ok"), "desk_2": (303, "error")}),
             data={"code": o.item_a}),
        Call("POST", "/desk/handovers/{handover_id}/lines",
             page_for({"desk_1": (303, "ok"), "desk_2": (303, "error")}),
             data={"code": o.item_a, "outcome": "damaged", "reason": "torn", "accept": "true"}),
        Call("POST", "/desk/handovers/{handover_id}/complete",
             page_for({"desk_1": (303, "ok"), "desk_2": (303, "error")}),
             data={"fees_confirmed_vnd": "0", "courier_signature": SIGNED,
                   "desk_signature": SIGNED}),
        # The record is still open in this world (each call starts afresh), so office 1's
        # desk is refused for that after its office check passed; the page test
        # (tests/api/test_desk.py) corrects a signed record and is refused another office's.
        Call("POST", "/desk/handovers/{handover_id}/correct",
             page_for({"desk_1": (303, "error"), "desk_2": (303, "error")}),
             data={"reason": "Đếm lại", "note": "Niêm phong còn nguyên",
                   "courier_signature": SIGNED, "desk_signature": SIGNED}),
        Call("GET", "/desk/cases/{case_id}", page_for({"desk_1": 200, "desk_2": 404})),
        Call("GET", "/desk/codes", page_for(desks)),
        Call("POST", "/desk/codes", page_for({"desk_1": (303, "ok"), "desk_2": (303, "error")}),
             data={"item_id": o.item_a,
                   "agency_dossier_code": f"000.00.24.H05-{datetime.now(VN):%y%m%d}-0001"}),
        Call("GET", "/desk/results", page_for(desks)),
        Call("POST", "/desk/results",
             page_for({"desk_1": (303, "ok"), "desk_2": (303, "error")}),
             data={"code": o.item_a}),
        # -- dispatch: dispatchers for their own post office, admins for any ------------------
        Call("GET", "/dispatch", page_for(each(("dispatcher_1", "dispatcher_2", "admin"), 200))),
        Call("GET", "/api/v1/dispatch/day", api_for({"dispatcher_1": 200, "admin": 200}),
             params={"post_office": o.post_office_1}),
        Call("POST", "/api/v1/dispatch/plan",
             api_for(each(("dispatcher_1", "dispatcher_2", "admin"), 422)), json={}),
        Call("POST", "/api/v1/dispatch/stops/{stop_id}/move",
             api_for({"dispatcher_1": 422, "admin": 422}), json={"courier_id": o.courier_2}),
        Call("POST", "/api/v1/dispatch/stops/{stop_id}/lock",
             api_for({"dispatcher_1": 200, "admin": 200}), json={"locked": True}),
        # -- operating the service -------------------------------------------------------------
        Call("GET", "/api/v1/admin/webhooks/dead", api_for({"admin": 200})),
        Call("POST", "/api/v1/admin/webhooks/{message_id}/replay", api_for({"admin": 404})),
        # -- citizens' messages: their delivery status for dispatchers and admins -------------
        Call("GET", "/api/v1/admin/messages", api_for(messages_staff)),
        Call("POST", "/api/v1/admin/messages/{message_id}/retry",
             api_for(each(("dispatcher_1", "dispatcher_2", "admin"), 404))),
        Call("GET", "/staff/messages", page_for(messages_staff)),
        Call("POST", "/staff/messages/{message_id}/retry",
             page_for(each(("dispatcher_1", "dispatcher_2", "admin"), 404))),
        # -- a citizen's channel for messages -------------------------------------------------
        Call("GET", "/api/v1/my/channel", api_for(each(CITIZENS, 200))),
        Call("PUT", "/api/v1/my/channel", api_for(each(CITIZENS, 422)), json={}),
        Call("POST", "/my/channel", page_for(each(CITIZENS, 422)), data={}),
        # -- metrics: for the monitoring's address or token, never a user's session ------------
        Call("GET", "/metrics", public(403)),
        # -- changing one's own password (public forms: the old password proves who it is) --
        Call("GET", "/password", public()),
        # An empty form is a wrong username or password, like the sign-in form's.
        Call("POST", "/password", public(401), data={}),
        Call("POST", "/mobile/v1/auth/password", public(422), json={}),
        # -- the admin area: admins everywhere, the supervisor for province 24's staff ---------
        Call("GET", "/admin", page_for(each(("admin", "supervisor_1"), 303))),  # to the users
        Call("GET", "/admin/audit", page_for({"admin": 200})),
        Call("GET", "/api/v1/admin/audit", api_for({"admin": 200})),
        Call("GET", "/admin/users", page_for(admins)),
        Call("GET", "/api/v1/admin/users", api_for(admins)),
        Call("GET", "/admin/users/new", page_for(admins)),
        Call("POST", "/admin/users/new", page_for(admins_422), data={}),
        Call("POST", "/api/v1/admin/users", api_for(admins_422), json={}),
        Call("GET", "/admin/users/{user_id}", page_for(admins)),
        Call("GET", "/api/v1/admin/users/{user_id}", api_for(admins)),
        Call("POST", "/admin/users/{user_id}", page_for(admins_422), data={}),
        Call("PATCH", "/api/v1/admin/users/{user_id}", api_for(admins), json={}),
        Call("POST", "/admin/users/{user_id}/deactivate", page_for(admins_303)),
        Call("POST", "/api/v1/admin/users/{user_id}/deactivate", api_for(admins)),
        Call("POST", "/admin/users/{user_id}/reactivate", page_for(admins_303)),
        Call("POST", "/api/v1/admin/users/{user_id}/reactivate", api_for(admins)),
        Call("POST", "/admin/users/{user_id}/reset-password", page_for(admins)),
        Call("POST", "/api/v1/admin/users/{user_id}/reset-password", api_for(admins_422)),
        Call("GET", "/api/v1/admin/users/{user_id}/devices", api_for(admins)),
        Call("POST", "/admin/users/{user_id}/devices/{device_id}/revoke", page_for(admins_303)),
        Call("POST", "/api/v1/admin/users/{user_id}/devices/{device_id}/revoke", api_for(admins)),
        # -- the catalogue: admins every province, the supervisor their own -------------------
        Call("GET", "/admin/catalogue", page_for(admins)),
        Call("GET", "/admin/catalogue/{kind}", page_for(admins)),
        Call("GET", "/api/v1/admin/catalogue/{kind}", api_for(admins)),
        Call("GET", "/admin/catalogue/{kind}/edit", page_for(admins)),
        Call("POST", "/admin/catalogue/{kind}/edit", page_for(admins_422), data={}),
        Call("GET", "/admin/catalogue/{kind}/export", page_for(admins)),
        Call("GET", "/api/v1/admin/catalogue/{kind}/export", api_for(admins)),
        Call("POST", "/admin/catalogue/{kind}/upload", page_for(admins_422)),
        Call("POST", "/admin/catalogue/{kind}/import", page_for(admins_422), data={}),
        Call("POST", "/api/v1/admin/catalogue/{kind}/import", api_for(admins_422)),
        # -- bank lines and reconciliation: post office 1's dispatcher, the supervisor of its
        # province, admins; post office 2's dispatcher is a stranger to line 1 ---------------
        Call("POST", "/api/v1/money/bank/statements", api_for(each(bankers, 422))),
        Call("GET", "/api/v1/money/bank/queue", api_for(each(bankers, 200))),
        Call("POST", "/api/v1/money/bank/lines/{line_id}/match",
             api_for({**each(bankers_1, 200), "dispatcher_2": 403}), json={"item_code": o.item_a}),
        Call("POST", "/api/v1/money/bank/lines/{line_id}/refund",
             api_for({**each(bankers_1, 200), "dispatcher_2": 403}), json={"note": "nhầm"}),
        Call("POST", "/api/v1/money/bank/cases/{case_id}/refund",  # nothing is owed back
             api_for({**each(bankers_1, 409), "dispatcher_2": 404}), json={"note": "huỷ"}),
        Call("GET", "/api/v1/money/reconciliation",
             api_for({**each(bankers_1, 200), "dispatcher_2": 403}), params=reconcile_day),
        Call("GET", "/api/v1/money/reconciliation.{fmt}",
             api_for({**each(bankers_1, 200), "dispatcher_2": 403}), params=reconcile_day),
        Call("POST", "/api/bank/v1/notifications", public(401), json={}),
        Call("GET", "/money/bank", page_for(each(bankers, 200))),
        Call("POST", "/money/bank/statements", page_for(each(bankers, 422))),
        Call("POST", "/money/bank/lines/{line_id}/match",
             page_for({**each(bankers_1, (303, "ok")), "dispatcher_2": 403}),
             data={"item_code": o.item_a}),
        Call("POST", "/money/bank/lines/{line_id}/refund",
             page_for({**each(bankers_1, (303, "ok")), "dispatcher_2": 403}),
             data={"note": "nhầm"}),
        Call("POST", "/money/bank/cases/{case_id}/refund",
             page_for({**each(bankers_1, 409), "dispatcher_2": 404}), data={"note": "huỷ"}),
        Call("GET", "/money/reconciliation", page_for(each(bankers, 200))),
        # -- money: a post office's cash and cash-ups, money exceptions, a case's payments -----
        Call("GET", "/api/v1/money/cash-ups", api_for(money_po1),
             params={"post_office_id": o.post_office_1_id}),
        Call("POST", "/api/v1/money/cash-ups", api_for(each(cash_up_roles, 422)), json={}),
        Call("GET", "/api/v1/money/exceptions", api_for(each(money_roles, 200))),
        Call("POST", "/api/v1/money/exceptions/{exception_id}/resolve",
             api_for(each(("supervisor_1", "admin"), 404)), json={"resolution": "đã kiểm tra"}),
        Call("GET", "/api/v1/money/cases/{case_id}", api_for({**money_po1, "dispatcher_2": 404})),
        Call("POST", "/api/v1/money/receipts/{receipt_id}/cancel",
             api_for({**each(("dispatcher_1", "clerk_1", "admin"), 200), "dispatcher_2": 403}),
             json={"reason": "ghi nhầm"}),
        Call("GET", "/money/cash-up", page_for(money_po1),
             params={"post_office_id": o.post_office_1_id}),
        Call("POST", "/money/cash-up", page_for(each(cash_up_roles, 422)), data={}),
        Call("GET", "/money/exceptions", page_for(each(money_roles, 200))),
        Call("POST", "/money/exceptions/{exception_id}/resolve",
             page_for(each(("supervisor_1", "admin"), 404)), data={"resolution": "x"}),
        # -- service quality: every staff role its own figures; other levels refused ----------
        Call("GET", "/sla", page_for(each(STAFF, 200))),
        Call("GET", "/sla/export/{table}.{fmt}", page_for(each(STAFF, 200))),
        Call("GET", "/sla/report.pdf", page_for({**each(STAFF, 403), "admin": 200,
                                                 "supervisor_1": 200}),
             params={"province": "24", "month": "2026-11"}),
        Call("GET", "/api/v1/sla/figures",
             api_for({**each(STAFF, 403), **each(("dispatcher_1", "clerk_1", "admin",
                                                   "supervisor_1"), 200)}),
             params={"level": "post_office", "id": o.post_office_1_id}),
        Call("GET", "/api/v1/sla/trend", api_for(each(STAFF, 200))),
        Call("POST", "/sla/complaints/{complaint_id}/answer",
             page_for({**each(STAFF, 403), "admin": 404, "supervisor_1": 404}),
             data={"answer": "Đã xử lý"}),
        Call("POST", "/api/v1/my/cases/{case_id}/complaints",
             api_for({"citizen_a": 201, "citizen_b": 404}), json={"text": "Bưu tá đến muộn"}),
        # -- the ledger: EPCIS export by reach, corrections and exceptions --------------------
        Call("GET", "/api/v1/epcis/events",
             api_for(each(("dispatcher_1", "dispatcher_2", "desk_1", "desk_2", "admin",
                           "supervisor_1", "clerk_1"), 200))),
        Call("GET", "/api/agency/v1/epcis/events", public(401)),
        Call("POST", "/api/v1/ledger/corrections", api_for(each(correctors, 422)), json={}),
        Call("GET", "/api/v1/ledger/exceptions", api_for(each(correctors, 200))),
        Call("POST", "/api/v1/ledger/exceptions/{exception_id}/resolve",
             api_for(each(correctors, 404)), json={"resolution": "đã kiểm tra"}),
        Call("GET", "/ledger/items",
             page_for({"dispatcher_1": 303, "dispatcher_2": 403, "admin": 303,
                       "supervisor_1": 303}), params={"code": o.item_a}),
        Call("GET", "/ledger/items/{code}",
             page_for({"dispatcher_1": 200, "dispatcher_2": 403, "admin": 200,
                       "supervisor_1": 200})),
        Call("POST", "/ledger/items/{code}/corrections",
             page_for({"dispatcher_1": 422, "dispatcher_2": 403, "admin": 422,
                       "supervisor_1": 422}), data={}),
        Call("GET", "/ledger/exceptions", page_for(each(correctors, 200))),
        Call("POST", "/ledger/exceptions/{exception_id}/resolve",
             page_for(each(correctors, 404)), data={"resolution": "đã kiểm tra"}),
        # -- digitised dossiers: item A is held by courier 1 (an empty page is 422 for them)
        Call("PUT", "/mobile/v1/dossiers/{code}/pages/{sha256}", api_for({"courier_1": 422})),
        Call("POST", "/mobile/v1/dossiers/{code}/digitised", api_for(field_roles), json={}),
        Call("GET", "/mobile/v1/dossiers/{code}/digitised", api_for({"courier_1": 404})),
        Call("GET", "/api/agency/v1/dossiers/{item_id}/digitised", public(401)),
        Call("GET", "/api/v1/digitised/files/{token}", public(403)),
        # -- the post office's counter: its clerks; the queue's ticket page is public --------
        Call("GET", "/counter", page_for({"clerk_1": 200})),
        Call("POST", "/counter/find", page_for({"clerk_1": (303, "ok")}),
             data={"code": o.item_a}),
        # Item A is on its way to office 1, not to the post office: refused.
        Call("POST", "/counter/receive", page_for({"clerk_1": (303, "error")}),
             data={"code": o.item_a}),
        Call("POST", "/counter/queue/next", page_for({"clerk_1": (303, "error")})),
        Call("POST", "/counter/queue/call", page_for({"clerk_1": (303, "error")}),
             data={"number": "1"}),
        Call("POST", "/counter/queue/done", page_for({"clerk_1": 303})),
        Call("GET", "/counter/walk-in", page_for({"clerk_1": 200})),
        Call("POST", "/counter/walk-in", page_for({"clerk_1": 422}), data={}),
        Call("GET", "/counter/cases/{case_id}", page_for({"clerk_1": 200})),
        # Case A's dossier is already picked up: each step refuses, back to the case.
        Call("POST", "/counter/cases/{case_id}/receive", page_for({"clerk_1": (303, "error")}),
             data={}),
        Call("POST", "/counter/cases/{case_id}/refuse", page_for({"clerk_1": (303, "error")}),
             data={"reason_code": "citizen_withdrew"}),
        Call("POST", "/counter/cases/{case_id}/hand-off", page_for({"clerk_1": (303, "error")}),
             data={"courier_id": str(o.courier_1)}),
        Call("POST", "/counter/cases/{case_id}/code", page_for({"clerk_1": (303, "error")})),
        Call("POST", "/counter/cases/{case_id}/hand-out",
             page_for({"clerk_1": (303, "error")}), data={}),
        # Case A's dossier is in its courier's hands, not at the post office: refused.
        Call("POST", "/counter/digitise/{case_id}", page_for({"clerk_1": (303, "error")}),
             data={}),
        Call("GET", "/q/{post_office_id}", public()),
        Call("POST", "/q/{post_office_id}", public(303)),
        Call("GET", "/q/{post_office_id}/qr.svg", public()),
        Call("GET", "/q/{post_office_id}/{number}", public(404)),
        Call("POST", "/counter/bags", page_for({"clerk_1": 303})),
        Call("GET", "/counter/bags/{bag_code}", page_for({"clerk_1": 200})),
        # Item A is in a hand-off to office 1; the bag is open, with no destination chosen.
        Call("POST", "/counter/bags/{bag_code}/items", page_for({"clerk_1": (303, "error")}),
             data={"code": o.item_a}),
        Call("POST", "/counter/bags/{bag_code}/seal", page_for({"clerk_1": (303, "error")}),
             data={"seal_number": "S-1"}),
        Call("POST", "/counter/bags/{bag_code}/depart", page_for({"clerk_1": (303, "error")})),
        # A bag's manifest: staff reaching its post office (a desk officer reaches none).
        Call("GET", "/print/bags/{bag_code}/manifest.pdf",
             api_for({**printing, "desk_1": 403, **each(("courier_2", "dispatcher_2", "desk_2"),
                                                        403)})),
    ]  # fmt: skip
    values = {
        "case_id": o.case_a,
        "item_id": o.item_a,
        "code": o.item_a,
        "handover_id": o.handover_1,
        "bag_code": o.bag_1,
        "device_id": o.device_1,
        "courier_id": o.courier_1,
        "stop_id": o.stop_1,
        "message_id": 999_999,
        "exception_id": 999_999,
        "sha256": "0" * 64,
        "action": "cancel",
        "user_id": o.courier_1,
        "kind": "offices",
        "line_id": o.line_1,
        "fmt": "csv",
        "receipt_id": o.receipt_a,
        "table": "figures",
        "complaint_id": 999_999,
        "size": o.head_size,
        "event_id": o.receipt_1,
        "token": "1.1.1.not-a-link",
        "post_office_id": o.post_office_1_id,
        "number": 9_999,
    }
    table = {}
    for row in rows:
        key = (row.method, row.path)
        assert key not in table, f"two rows for {key}"
        table[key] = Call(row.method, row.path.format(**values), row.expected, row.json,
                          row.data, row.params)  # fmt: skip
    return table


# -- the world -----------------------------------------------------------------------------------


@dataclass
class World:
    app: FastAPI
    client: TestClient
    connection: Connection
    objects: Objects


LOCKED_NAME = "matrix-locked-account"

# Side 2's place: Phường Hoàn Kiếm, Hà Nội (province 01), away from side 1's Bắc Ninh (24).
HOAN_KIEM_AT: dict[str, Any] = {"commune_code": "00070", "lat": 21.0245, "lon": 105.8530}
HOAN_KIEM: dict[str, Any] = {
    "province_code": "01",
    "address": "Phường Hoàn Kiếm, Hà Nội",
    **HOAN_KIEM_AT,
}

# What the courier app records at a pickup (the dossier slip prints the checklist).
PICKED_UP = {
    "seal_number": "SEAL-1",
    "fees_collected_vnd": 200000,
    "checklist": [{"name": "Tờ khai", "form": "original", "present": True}],
}


def _build(db: Session, settings: Settings) -> Objects:
    now = datetime.now(UTC)
    # Post office 1 and office 1 are in Bắc Ninh (24), their strangers in Hà Nội (01): the
    # province supervisor of 24 is a stranger to everything of side 2.
    po1, office1 = make_post_office(db), make_office(db)
    po2 = make_post_office(db, name="Bưu cục Hoàn Kiếm", **HOAN_KIEM)
    office2 = make_office(db, name_vi="Trung tâm Phục vụ hành chính công phường Hoàn Kiếm",
                          name_en="Hoan Kiem Ward Public Administration Service Centre",
                          **HOAN_KIEM)  # fmt: skip
    users = {
        "citizen_a": make_user(db, "citizen"),
        "citizen_b": make_user(db, "citizen"),
        "courier_1": make_user(db, "courier", post_office_id=po1.id),
        "dispatcher_1": make_user(db, "dispatcher", post_office_id=po1.id),
        "courier_2": make_user(db, "courier", post_office_id=po2.id),
        "dispatcher_2": make_user(db, "dispatcher", post_office_id=po2.id),
        "desk_1": make_user(db, "desk_officer", office_id=office1.id),
        "desk_2": make_user(db, "desk_officer", office_id=office2.id),
        "admin": make_user(db, "admin"),
        # The two roles the users administration adds, created through it.
        "supervisor_1": staff(db, "province_supervisor", Binding(province_code=po1.province_code)),
        "clerk_1": staff(db, "counter_clerk", Binding(post_office_id=po1.id)),
    }
    case_a = make_case(db, settings, post_office=po1, office=office1,
                       citizen_user_id=users["citizen_a"].id)  # fmt: skip
    make_case(db, settings, post_office=po2, office=office2, citizen_user_id=users["citizen_b"].id,
              address_text="1 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội", **HOAN_KIEM_AT)  # fmt: skip
    courier_1 = users["courier_1"]
    item_a = dossier_of(db, case_a).code
    pickup = record_one(db, actor_for(courier_1), scan("picked_up", item_a, details=PICKED_UP))
    receipt_a = _quoted_and_paid(db, case_a.id, courier_1.id)
    opened = open_handover(db, actor_for(courier_1), giver=party("courier", courier_1.id),
                           receiver=party("office", office1.id), item_codes=[item_a],
                           now=now)  # fmt: skip
    bag = open_bag(db, actor_for(courier_1), now=now)
    phone = sign_in(db, settings, username=courier_1.username, password="correct horse battery",
                    install_id="matrix-phone-1", device_name="Phone", platform="android",
                    now=now)  # fmt: skip
    record_pings(db, courier_1.id, phone.device.id,
                 [Fix(fixed_at=now, lat=21.18, lon=106.07, accuracy_m=10.0)], now=now)  # fmt: skip
    tomorrow = today_in_vietnam(now) + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=VN)
    make_case(db, settings, post_office=po1, office=office1, service_option="send",
              pickup_window_start=start, pickup_window_end=start + timedelta(hours=2))  # fmt: skip
    plan_day(db, settings, post_office_id=po1.id, day=tomorrow, now=now, time_limit_s=0.2)
    stop = db.scalars(
        select(RouteStop)
        .where(RouteStop.post_office_id == po1.id)
        .order_by(RouteStop.courier_id.is_(None), RouteStop.id)
    ).first()
    assert stop is not None
    db.add_all(
        SignInFailure(username=LOCKED_NAME, client_ip=None, failed_at=now)
        for _ in range(MAX_FAILURES_PER_ACCOUNT)
    )
    tokens = {name: issue_token(db, settings, user, now=now).token for name, user in users.items()}
    tokens["courier_1"] = phone.token.token
    unknown_transfer = statement_csv([("MATRIX-1", 52_000, "chuyen tien")])
    statement = import_statement(db, data=unknown_transfer, filename="matrix.csv",
                                 user=users["dispatcher_1"], at=now)  # fmt: skip
    head = make_checkpoint(db, settings, now=now, force=True)
    assert head is not None
    db.commit()
    return Objects(case_a=case_a.id, item_a=item_a, handover_1=opened.handover.id,
                   bag_1=bag.code, device_1=phone.device.id, stop_1=stop.id,
                   courier_1=courier_1.id, courier_2=users["courier_2"].id,
                   post_office_1=po1.code, post_office_1_id=po1.id, receipt_a=receipt_a,
                   line_1=statement.new[0].line.id, receipt_1=str(pickup.events[0]["event_id"]),
                   head_size=head.tree_size, tokens=tokens)  # fmt: skip


def _quoted_and_paid(db: Session, case_id: int, courier_id: int) -> int:
    """Case A as a booking leaves it: a quote the citizen owes, then cash taken at the door."""
    quote = make_quote(DEFAULT_TABLE, service_option="both", zone="same_commune",
                       weight_g=100, admin_fee_vnd=200_000, pay_fee_on_behalf=True,
                       fee_transfer_vnd=8_000)  # fmt: skip
    db.add(BookingTerms(case_id=case_id, payment_method="cash", pay_fee_on_behalf=True,
                        weight_g=100, zone="same_commune", quote=quote.to_json(),
                        total_vnd=quote.total_vnd, reschedule_count=0))  # fmt: skip
    db.flush()
    receipt = record_payment(db, case_id=case_id, method="cash", amount_vnd=quote.total_vnd,
                             at=datetime.now(UTC), actor_user_id=courier_id, payer="Nguyễn Văn A",
                             reference="", idempotency_key=f"matrix-{case_id}")  # fmt: skip
    return receipt.id


@pytest.fixture(scope="module")
def world(engine: Engine, database_url: str) -> Iterator[World]:
    settings = Settings(environment="test", secret_key="test-secret", database_url=None)
    connection = engine.connect()
    outer = connection.begin()
    bound = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                         autoflush=False, expire_on_commit=False)  # fmt: skip
    with bound() as db:
        objects = _build(db, settings)
    app = create_app(settings, url=database_url)
    app.state.sessionmaker = bound
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    try:
        yield World(app, client, connection, objects)
    finally:
        client.close()
        outer.rollback()
        connection.close()


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, from its routers (HTML routes included)."""
    found: set[tuple[str, str]] = set()

    def add(path: str | None, methods: set[str] | None) -> None:
        for method in methods or ():
            if method != "HEAD" and path is not None:
                found.add((method, path))

    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # an included router (FastAPI ≥ 0.120 keeps them nested)
            for context in contexts():
                add(context.path, getattr(context.original_route, "methods", None))
        else:
            add(getattr(route, "path", None), getattr(route, "methods", None))
    return found - FRAMEWORK


def _openapi_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_every_route_is_in_the_matrix(world: World) -> None:
    table = calls(world.objects)
    routes = _routes(world.app)
    assert _openapi_operations(world.app) <= routes
    assert routes - set(table) == set(), "add these routes to the matrix"
    assert set(table) - routes == set(), "these rows name no route"


def _answer(world: World, call: Call, principal: str) -> Expected:
    token = world.objects.tokens.get(principal)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    world.client.cookies.clear()
    if token:
        world.client.cookies.set("hoso_session", token)
    savepoint = world.connection.begin_nested()
    try:
        response = world.client.request(call.method, call.path, headers=headers, json=call.json,
                                        data=call.data, params=call.params)  # fmt: skip
    finally:
        savepoint.rollback()
    if response.status_code == 303 and isinstance(call.expected[principal], tuple):
        return (303, "error" if "error=" in response.headers["location"] else "ok")
    if response.status_code in (401, 403) and response.headers["content-type"].startswith(
        "application/json"
    ):
        refusal = response.json()
        assert set(refusal) >= {"error", "detail", "field"} and refusal["field"], response.text
    if response.status_code == 403 and response.headers["content-type"].startswith("text/html"):
        # A page in Vietnamese with the switch to English, like every page.
        assert '<html lang="vi">' in response.text and 'hreflang="en"' in response.text
    status: int = response.status_code
    return status


def test_every_role_gets_the_expected_answer_from_every_route(world: World) -> None:
    table = calls(world.objects)
    wrong = []
    for key, call in sorted(table.items()):
        for principal in PRINCIPALS:
            got = _answer(world, call, principal)
            if got != call.expected[principal]:
                wrong.append(f"{key[0]} {key[1]} as {principal}: {got}, "
                             f"expected {call.expected[principal]}")  # fmt: skip
    size = len(table) * len(PRINCIPALS)
    print(f"role × endpoint matrix: {len(table)} routes × {len(PRINCIPALS)} principals = {size}")
    assert not wrong, "\n".join(wrong)
    assert not any(str(s).startswith("5") for c in table.values() for s in c.expected.values())
