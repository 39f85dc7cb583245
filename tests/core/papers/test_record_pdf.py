"""The hand-over record as printed: both sides named as they signed, each dossier with its
documents, seal, fees declared and confirmed, its code and due date, the difference."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.custody.parties import party
from core.desk.printing import handover_record_for
from core.handovers.service import open_handover
from core.identity.service import actor_for
from core.settings import Settings
from labels.documents import render_handover_record
from labels.s10 import format_item_id
from tests.core.papers.helpers import NOW, appointment, code_for, signed_handover
from tests.factories import make_case, make_office, make_user
from tests.journey import pick_up
from tests.papers_helpers import flat_text, save_pages


def test_the_signed_record_lists_each_dossier_and_the_fee_gap(
    db: Session, settings: Settings
) -> None:
    signed = signed_handover(db, settings)
    pdf = render_handover_record(handover_record_for(db, settings, signed.handover_id))
    save_pages(pdf, "handover_record_signed")
    text = flat_text(pdf)
    received, missing = (format_item_id(c) for c in signed.codes)
    for expected in (
        f"Số / No.: {signed.handover_code}",
        "Cán bộ tiếp nhận / Desk officer: Lê Thị Một Cửa",
        "Bưu tá / Courier: Phạm Văn Bưu",
        f"{received} Hồ sơ: Cấp Phiếu lý lịch tư pháp — Trần Thị Hoa Tờ khai (bản sao, 1 tờ)",
        f"Mã hồ sơ / Code: {code_for(signed.case)} Hẹn trả / Due: {appointment(10):%d/%m/%Y}",
        "SEAL-001 200.000 ₫ 200.000 ₫",
        f"{missing} Hồ sơ: Cấp Phiếu lý lịch tư pháp — Trần Thị Hoa [thiếu, không nhận]",
        "SEAL-001 200.000 ₫ 0 ₫",
        "Cộng / Total: 2 Số tờ / Pages: 1 400.000 ₫ 200.000 ₫",
        "Chênh lệch phí, lệ phí / Fee difference: -200.000 ₫",
        "Mã hồ sơ, ngày hẹn (ghi sau khi ký) / Dossier codes recorded later",
        "Signed content sealed in the custody ledger: SHA-256",
        "Bên giao / Handed over by",
        "Bên nhận / Received by",
    ):
        assert expected in text, expected
    # Signed by the two of them: the courier gives, the desk officer receives.
    assert text.index("Phạm Văn Bưu", text.index("Bên giao")) < text.index(
        "Lê Thị Một Cửa", text.index("Bên nhận")
    )


def test_an_open_record_is_a_draft_and_never_names_the_courier_as_desk_officer(
    db: Session, settings: Settings
) -> None:
    office = make_office(db)
    courier = make_user(db, "courier", full_name="Bùi Thị Hạnh")
    code = pick_up(db, make_case(db, settings, office=office), courier)
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=[code], now=NOW,
                           fees_declared_vnd=200_000)  # fmt: skip
    pdf = render_handover_record(handover_record_for(db, settings, opened.handover.id))
    save_pages(pdf, "handover_record_draft")
    text = flat_text(pdf)
    assert "Cán bộ tiếp nhận / Desk officer: —" in text
    assert text.count("Bùi Thị Hạnh") == 2  # the courier line and the giver's signature box
    assert "CHƯA KÝ — BẢN NHÁP / NOT SIGNED — DRAFT" in text
    assert "200.000 ₫ —" in text  # declared, not yet confirmed
