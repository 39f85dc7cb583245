"""Sample inputs shared by the label and document tests (plain functions, no fixtures state)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from labels.label import Address, LabelData, Party
from labels.s10 import make_item_id
from vntime import VN


def make_label(**overrides: Any) -> LabelData:
    item_id = overrides.pop("item_id", make_item_id("EB", 12345678))
    data = LabelData(
        item_id=item_id,
        service="dossier",
        tracking_url=f"https://hoso.vnpost.vn/t/{item_id}",
        sender=Party(
            name="Nguyễn Thị Hương",
            phone="0912345678",
            address=Address(
                street="Số 12 ngõ 34 đường Nguyễn Đăng Đạo, khu phố Tiền An",
                commune="Phường Kinh Bắc",
                province="Bắc Ninh",
            ),
        ),
        recipient=Party(
            name="Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
            phone="02223822558",
            address=Address(
                street="Số 11 đường Lý Thái Tổ",
                commune="Phường Kinh Bắc",
                province="Bắc Ninh",
            ),
        ),
        destination_office="Bộ phận một cửa - Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
        procedure_name="Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        seal_number="NP-0012345",
        weight_g=350,
        amount_to_collect_vnd=26000,
        date=dt.date(2025, 7, 14),
        post_office="Bưu cục Kinh Bắc - Bắc Ninh",
    )
    return replace(data, **overrides)


def signature_png(text: str = "Hương") -> bytes:
    """A small signature-like PNG drawn with Pillow (no files on disk)."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (300, 120), "white")
    draw = ImageDraw.Draw(img)
    draw.line(
        [(20, 90), (80, 30), (120, 95), (170, 35), (220, 90), (280, 40)], fill="navy", width=5
    )
    draw.text((30, 100), text, fill="navy")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_slip(**overrides: Any) -> Any:
    from labels.documents import DocumentLine, DossierSlip, FeeLine

    slip = DossierSlip(
        slip_no="PHS-2025-000123",
        item_id=make_item_id("EB", 12345678),
        created_at=dt.datetime(2025, 7, 14, 9, 30, tzinfo=VN),
        post_office="Bưu cục Kinh Bắc - Bắc Ninh",
        procedure_name="Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        destination_office="Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
        citizen_name="Nguyễn Thị Hương",
        citizen_phone="0912345678",
        citizen_address="Số 12 ngõ 34 đường Nguyễn Đăng Đạo, Phường Kinh Bắc, Bắc Ninh",
        courier_name="Trần Văn Đức",
        documents=(
            DocumentLine("Tờ khai đề nghị đổi giấy phép lái xe", "original", 2),
            DocumentLine("Giấy chứng nhận sức khỏe", "certified_copy", 1),
            DocumentLine("Bản sao giấy phép lái xe", "copy", 1),
            DocumentLine("Căn cước công dân", "original", 0, "shown"),
            DocumentLine(
                "Văn bản ủy quyền", "certified_copy", 0, "not_applicable", "nếu ủy quyền nhận thay"
            ),  # fmt: skip
            DocumentLine("Ảnh 3x4", "original", 0, "missing"),
        ),
        seal_number="NP-0012345",
        fees=(
            FeeLine("Lệ phí cấp đổi giấy phép lái xe", 135000),
            FeeLine("Cước dịch vụ bưu chính công ích", 26000),
        ),
        citizen_signature_png=signature_png("Hương"),
        courier_signature_png=None,
        notes="Công dân hẹn bổ sung ảnh 3x4 khi nhận kết quả.",
    )
    return replace(slip, **overrides)


def make_handover(**overrides: Any) -> Any:
    from labels.documents import Discrepancy, FeeLine, HandoverItem, HandoverRecord

    rec = HandoverRecord(
        record_no="BBBG-2025-07-000045",
        handed_at=dt.datetime(2025, 7, 14, 14, 5, tzinfo=VN),
        direction="dossiers_to_office",
        office_name="Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
        post_office="Bưu cục Kinh Bắc - Bắc Ninh",
        courier_name="Trần Văn Đức",
        desk_officer_name="Lê Thị Thu Hằng",
        items=(
            HandoverItem(
                make_item_id("EB", 12345678),
                "Cấp đổi giấy phép lái xe",
                5,
                "NP-0012345",
                "Đơn đề nghị (bản chính, 2 tờ); Giấy khám sức khỏe (bản chính, 3 tờ)",
                135000,
                135000,
                "000.00.24.H05-250714-0001",
                dt.date(2025, 7, 24),
            ),  # fmt: skip
            HandoverItem(
                make_item_id("EB", 12345679),
                "Đăng ký khai sinh",
                3,
                "NP-0012346",
                fees_declared_vnd=0,
                fees_confirmed_vnd=0,
            ),  # fmt: skip
            HandoverItem(
                make_item_id("EB", 12345680),
                "Cấp phiếu lý lịch tư pháp",
                4,
                "NP-0012347",
                fees_declared_vnd=200000,
                fees_confirmed_vnd=150000,
            ),
        ),
        discrepancies=(
            Discrepancy(
                make_item_id("EB", 12345680),
                "broken_seal",
                "Niêm phong bị rách một góc khi vận chuyển",
            ),
            Discrepancy(
                make_item_id("EB", 12345681), "missing", "Không có trong túi dù có trong danh sách"
            ),
        ),
        fees_handed_over=(FeeLine("Lệ phí cấp đổi giấy phép lái xe", 135000),),
        record_url="https://hoso.vnpost.vn/bb/BBBG-2025-07-000045",
        courier_signature_png=signature_png("Đức"),
        desk_signature_png=signature_png("Hằng"),
    )
    return replace(rec, **overrides)


def make_quote(**overrides: Any) -> Any:
    from labels.documents import FeeLine
    from labels.money import QuoteDoc
    from labels.vietqr import build_vietqr

    quote = QuoteDoc(
        number="BG-000987",
        issued_at=dt.datetime(2025, 7, 14, 9, 35, tzinfo=VN),
        post_office="Bưu cục Kinh Bắc - Bắc Ninh",
        citizen_name="Nguyễn Thị Hương",
        item_id=make_item_id("EB", 12345678),
        lines=(
            FeeLine("Lệ phí cấp đổi giấy phép lái xe", 135000),
            FeeLine("Cước dịch vụ bưu chính công ích", 26000),
        ),
        payment_method_label="Chuyển khoản VietQR / VietQR bank transfer",
        payment_qr_payload=build_vietqr("970415", "0011001932418", 161000, "HOSO EB123456785VN"),
    )
    return replace(quote, **overrides)
