from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from labels.documents import (
    Discrepancy,
    DocumentLine,
    FeeLine,
    render_dossier_slip,
    render_handover_record,
)
from labels.errors import InvalidLabelData
from labels.money import render_quote
from labels.s10 import make_item_id
from labels.vietqr import parse_vietqr

from .decode import decoded, pdf_pages, pdf_text
from .samples import make_handover, make_quote, make_slip


def _one_text(pdf: bytes) -> str:
    return "\n".join(pdf_text(pdf))


def _flat(pdf: bytes) -> str:
    """The text with every run of whitespace as one space: table cells wrap their words."""
    return " ".join(_one_text(pdf).split())


def test_dossier_slip_text(artifacts: Path) -> None:
    pdf = render_dossier_slip(make_slip())
    pdf_pages(pdf, dpi=110)[0].save(artifacts / "dossier_slip.png")
    text = _flat(pdf)
    for expected in (
        "PHIẾU HỒ SƠ / DOSSIER SLIP",
        "Cấp đổi giấy phép lái xe",
        "Giấy chứng nhận sức khỏe",
        "Bản chính / Original",
        "Bản sao / Copy",
        "Bản sao chứng thực / Certified copy",
        "Xuất trình, không thu / Shown, not taken",
        "Không áp dụng / Not applicable (nếu ủy quyền nhận thay)",
        "Hồ sơ thiếu / Missing: Ảnh 3x4",
        "Số tờ / Pages",
        "Cộng giấy tờ nhận / Documents received: 3",
        "NP-0012345",
        "135.000 ₫",
        "161.000 ₫",
        "Người nộp hồ sơ / Citizen",
        "Trần Văn Đức",
        "09******78",
    ):
        assert expected in text, expected
    assert "0912345678" not in text


def test_dossier_slip_embeds_given_signatures_only() -> None:
    import pypdfium2 as pdfium

    def image_count(pdf: bytes) -> int:
        doc = pdfium.PdfDocument(pdf)
        try:
            return sum(
                1 for obj in doc[0].get_objects() if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE
            )
        finally:
            doc.close()

    both_blank = replace(make_slip(), citizen_signature_png=None, courier_signature_png=None)
    assert image_count(render_dossier_slip(make_slip())) == 1
    assert image_count(render_dossier_slip(both_blank)) == 0


def test_handover_record_text_and_qr(artifacts: Path) -> None:
    record = make_handover()
    pdf = render_handover_record(record)
    page = pdf_pages(pdf, dpi=203)[0]
    page.save(artifacts / "handover_record.png")
    assert decoded(page)["qr"] == [record.record_url]
    text = _flat(pdf)
    for expected in (
        "BIÊN BẢN BÀN GIAO / HANDOVER RECORD",
        "Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
        "Lê Thị Thu Hằng",
        "EB 123 456 785 VN",
        "Cộng / Total: 3",
        "Niêm phong không còn nguyên",
        "Niêm phong bị rách một góc khi vận chuyển",
        "Thiếu / Missing",
        "135.000 ₫",
        "Phí khai / Declared",
        "Phí nhận / Confirmed",
        "Mã hồ sơ / Code: 000.00.24.H05-250714-0001",
        "Hẹn trả / Due: 24/07/2025",
        "Giấy khám sức khỏe (bản chính, 3 tờ)",
        "Chênh lệch phí, lệ phí / Fee difference: -50.000 ₫",
        "Bên giao / Handed over by",
    ):
        assert expected in text, expected
    # The pages total counts each dossier's pages: 5 + 3 + 4.
    assert "Số tờ / Pages: 12" in text


def test_handover_without_discrepancies_says_none() -> None:
    text = _one_text(render_handover_record(make_handover(discrepancies=())))
    assert "Sai lệch / Discrepancies\r\nKhông có / None" in text or (
        "Sai lệch / Discrepancies\nKhông có / None" in text
    )


def test_long_handover_flows_onto_more_pages() -> None:
    items = tuple(
        replace(make_handover().items[0], item_id=make_item_id("EB", 20000000 + i))
        for i in range(60)
    )
    pdf = render_handover_record(make_handover(items=items))
    pages = pdf_text(pdf)
    assert len(pages) >= 2
    assert "Cộng / Total: 60" in "".join(pages)


def test_quote_text_and_vietqr(artifacts: Path) -> None:
    quote = make_quote()
    pdf = render_quote(quote)
    page = pdf_pages(pdf, dpi=203)[0]
    page.save(artifacts / "quote.png")
    qrs = decoded(page)["qr"]
    assert qrs == [quote.payment_qr_payload]
    assert parse_vietqr(qrs[0]).amount == 161000
    text = _one_text(pdf)
    for expected in (
        "BÁO GIÁ DỊCH VỤ / QUOTE",
        "Chuyển khoản VietQR / VietQR bank transfer",
        "26.000 ₫",
        "161.000 ₫",
        "Nguyễn Thị Hương",
    ):
        assert expected in text, expected


def test_cash_quote_has_no_qr() -> None:
    pdf = render_quote(make_quote(payment_method_label="Tiền mặt / Cash", payment_qr_payload=None))
    assert decoded(pdf_pages(pdf, dpi=150)[0])["qr"] == []
    assert "Tiền mặt / Cash" in _one_text(pdf)


@pytest.mark.parametrize(
    ("render", "sample", "overrides", "message"),
    [
        (render_dossier_slip, make_slip, {"item_id": "EB123456780VN"}, "item_id: check digit"),
        (render_dossier_slip, make_slip, {"documents": ()}, "documents is empty"),
        (
            render_dossier_slip,
            make_slip,
            {"documents": (DocumentLine("Tờ khai", "original", 0),)},
            r"documents\[0\]",
        ),
        (render_dossier_slip, make_slip, {"citizen_signature_png": b"GIF89a"}, "PNG"),
        (render_dossier_slip, make_slip, {"fees": (FeeLine("Lệ phí", -1),)}, "negative"),
        (render_handover_record, make_handover, {"items": (), "discrepancies": ()}, "at least one"),
        (
            render_handover_record,
            make_handover,
            {"discrepancies": (Discrepancy(make_item_id("EB", 1), "missing", " "),)},
            "needs a reason",
        ),
        (
            render_handover_record,
            make_handover,
            {"discrepancies": (Discrepancy(make_item_id("EB", 1), "lost", "x"),)},  # type: ignore[arg-type]
            "kind must be one of",
        ),
        (render_handover_record, make_handover, {"record_url": "ftp://x"}, "record_url"),
        (render_quote, make_quote, {"lines": ()}, "lines is empty"),
    ],
)
def test_bad_documents_are_refused_with_the_field_named(
    render: object, sample: object, overrides: dict[str, object], message: str
) -> None:
    assert callable(render) and callable(sample)
    with pytest.raises(InvalidLabelData, match=message):
        render(sample(**overrides))


def test_dossier_slip_prints_the_receipt_link_and_its_qr() -> None:
    url = "https://hoso.example.vn/r/6f1c2a2e-0d6b-4b8e-9a51-0c6d4f1e2b3a"
    pdf = render_dossier_slip(replace(make_slip(), receipt_url=url))
    assert url in _one_text(pdf).replace("\n", "")
    assert url in [qr for page in pdf_pages(pdf, dpi=200) for qr in decoded(page)["qr"]]
    # Without a link, no receipt block.
    assert "Verifiable receipt" not in _one_text(render_dossier_slip(make_slip()))
