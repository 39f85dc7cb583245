"""Print files for the desk and couriers: item labels (PDF roll or A4, ZPL, HTML), the dossier
slip, the receipts of money taken and the handover record. Staff only, each within their own
office or post office (``core.desk.access``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.staff import PrintingUser
from core.access import may_see_case, require_handover
from core.cases.labels import label_data_for
from core.cases.service import case_context
from core.courier.manifest import bag_manifest
from core.custody.receipts import pickup_receipt_url
from core.desk.access import scoped_item
from core.desk.printing import handover_record_for, latest_receipt
from core.errors import InvalidInput, NotFound, code_refusal
from core.handovers.models import Handover
from core.identity.models import User
from core.money.models import Receipt
from core.money.printing import receipt_doc
from core.papers.slip import dossier_slip_for
from core.settings import Settings
from edge.deps import SessionDep, SettingsDep
from labels.documents import render_dossier_slip, render_handover_record
from labels.errors import InvalidLabelData
from labels.label import LabelData, render_label_html, render_label_pdf, render_label_zpl
from labels.manifest import render_bag_manifest
from labels.money import render_receipt

router = APIRouter(prefix="/print", tags=["print"])
StaffUser = PrintingUser
Layout = Annotated[Literal["roll", "a4"], Query(description="roll: 100x150 mm pages; a4: 4 a page")]
Dpi = Annotated[int, Query(description="Thermal printer resolution: 203 or 300.")]
MAX_BATCH = 200
PDF = "application/pdf"
ZPL = "application/vnd.zebra-zpl; charset=utf-8"


def _file(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _labels(
    session: Session, settings: Settings, user: User, codes: list[str], field: str = "items"
) -> list[LabelData]:
    if not codes:
        raise InvalidInput("name at least one item", field=field)
    if len(codes) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} labels at once", field=field)
    return [
        label_data_for(session, settings, scoped_item(session, user, code, field).code)
        for code in codes
    ]


@router.get("/labels.pdf", response_class=Response)
def labels_pdf(
    user: StaffUser,
    session: SessionDep,
    settings: SettingsDep,
    items: Annotated[list[str], Query()] = [],  # noqa: B006  (FastAPI reads it, never mutates)
    layout: Layout = "a4",
) -> Response:
    """A batch of labels as one PDF (default 4 a page on A4)."""
    data = _labels(session, settings, user, items)
    return _file(_pdf_labels(data, layout), PDF, f"labels-{len(data)}.pdf")


@router.get("/labels/{item_id}.pdf", response_class=Response)
def label_pdf(
    item_id: str,
    user: StaffUser,
    session: SessionDep,
    settings: SettingsDep,
    layout: Layout = "roll",
) -> Response:
    data = _labels(session, settings, user, [item_id], "item_id")
    return _file(_pdf_labels(data, layout), PDF, f"{data[0].item_id}.pdf")


def _pdf_labels(data: list[LabelData], layout: Literal["roll", "a4"]) -> bytes:
    try:
        return render_label_pdf(data, layout=layout)
    except InvalidLabelData as exc:
        raise code_refusal(exc, "items") from exc


def _check_dpi(dpi: int) -> None:
    if dpi not in (203, 300):
        raise InvalidInput(f"dpi must be 203 or 300, got {dpi}", field="dpi")


@router.get("/labels.zpl", response_class=Response)
def labels_zpl(
    user: StaffUser,
    session: SessionDep,
    settings: SettingsDep,
    items: Annotated[list[str], Query()] = [],  # noqa: B006
    dpi: Dpi = 203,
) -> Response:
    _check_dpi(dpi)
    data = _labels(session, settings, user, items)
    body = "".join(render_label_zpl(d, dpi=dpi) for d in data)
    return _file(body.encode(), ZPL, f"labels-{len(data)}-{dpi}dpi.zpl")


@router.get("/labels/{item_id}.zpl", response_class=Response)
def label_zpl(
    item_id: str, user: StaffUser, session: SessionDep, settings: SettingsDep, dpi: Dpi = 203
) -> Response:
    _check_dpi(dpi)
    (data,) = _labels(session, settings, user, [item_id], "item_id")
    return _file(render_label_zpl(data, dpi=dpi).encode(), ZPL, f"{data.item_id}-{dpi}dpi.zpl")


@router.get("/labels/{item_id}.html", response_class=HTMLResponse)
def label_html(
    item_id: str, user: StaffUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    (data,) = _labels(session, settings, user, [item_id], "item_id")
    return HTMLResponse(render_label_html(data))


@router.get("/dossier-slips/{item_id}.pdf", response_class=Response)
def dossier_slip_pdf(
    item_id: str, user: StaffUser, session: SessionDep, settings: SettingsDep
) -> Response:
    item = scoped_item(session, user, item_id)
    if item.kind != "dossier":
        raise InvalidInput(f"{item.code} is a result item; a dossier slip is for dossiers",
                           field="item_id")  # fmt: skip
    slip = dossier_slip_for(session, item)
    slip = replace(slip, receipt_url=pickup_receipt_url(session, settings, item.id))
    return _file(render_dossier_slip(slip), PDF, f"phieu-{item.code}.pdf")


@router.get("/receipts/{item_id}.pdf", response_class=Response)
def fee_receipt_pdf(item_id: str, user: StaffUser, session: SessionDep) -> Response:
    item = scoped_item(session, user, item_id)
    if item.kind != "dossier":
        raise InvalidInput(f"fees are collected with the dossier, not with {item.code}",
                           field="item_id")  # fmt: skip
    doc = latest_receipt(session, item)
    return _file(render_receipt(doc), PDF, f"{doc.number}.pdf")


@router.get("/money-receipts/{receipt_id}.pdf", response_class=Response)
def money_receipt_pdf(receipt_id: int, user: StaffUser, session: SessionDep) -> Response:
    """Reprint a receipt (or a cancelling receipt) exactly as it was issued."""
    receipt = session.get(Receipt, receipt_id) if 0 < receipt_id < 2**63 else None
    context = case_context(session, receipt.case_id) if receipt is not None else None
    if receipt is None or context is None or not may_see_case(user, context.booking,
                                                              context.case):  # fmt: skip
        raise NotFound(f"no receipt {receipt_id}", field="receipt_id")
    return _file(render_receipt(receipt_doc(session, receipt)), PDF, f"{receipt.number}.pdf")


@router.get("/handovers/{handover_id}.pdf", response_class=Response)
def handover_record_pdf(
    handover_id: int, user: StaffUser, session: SessionDep, settings: SettingsDep
) -> Response:
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound(f"no hand-over {handover_id}", field="handover_id")
    require_handover(session, user, handover)
    try:
        body = render_handover_record(handover_record_for(session, settings, handover_id))
    except InvalidLabelData as exc:
        raise code_refusal(exc, "handover_id") from exc
    return _file(body, PDF, f"{handover.code}.pdf")


@router.get("/bags/{bag_code}/manifest.pdf", response_class=Response)
def bag_manifest_pdf(bag_code: str, user: StaffUser, session: SessionDep) -> Response:
    """The bag's manifest (bảng kê): items, seals, from and to, who closed it."""
    manifest = bag_manifest(session, user, bag_code)
    return _file(render_bag_manifest(manifest), PDF, f"bang-ke-{manifest.bag_code}.pdf")
