from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from labels import codes
from labels.errors import InvalidLabelData
from labels.label import (
    A4_SCALE,
    Address,
    render_label_html,
    render_label_pdf,
    render_label_zpl,
    zpl_font_download,
)
from labels.s10 import make_item_id

from .decode import decoded, pdf_pages, pdf_text
from .samples import make_label

GOLDEN = Path(__file__).parent / "golden"


# --------------------------------------------------------------------------- PDF
def test_roll_pdf_round_trip_at_203_dpi(artifacts: Path) -> None:
    labels = [make_label(item_id=make_item_id("EB", 12345678 + i)) for i in range(3)]
    pages = pdf_pages(render_label_pdf(labels, layout="roll"), dpi=203)
    assert len(pages) == 3
    # 100 x 150 mm at 203 dpi is the thermal printer's 800 x 1200 dots (rounding aside).
    assert abs(pages[0].width - 800) <= 1 and abs(pages[0].height - 1200) <= 1
    pages[0].save(artifacts / "label_roll_203dpi.png")
    for label, page in zip(labels, pages, strict=True):
        found = decoded(page)
        assert found["code128"] == [label.item_id]
        assert found["qr"] == [label.tracking_url]


def test_a4_pdf_puts_four_labels_per_sheet_and_all_decode(artifacts: Path) -> None:
    labels = [make_label(item_id=make_item_id("RR", 40000000 + i)) for i in range(5)]
    pages = pdf_pages(render_label_pdf(labels, layout="a4"), dpi=203)
    assert len(pages) == 2
    pages[0].save(artifacts / "label_a4_203dpi.png")
    first = decoded(pages[0])
    assert sorted(first["code128"]) == [d.item_id for d in labels[:4]]
    assert sorted(first["qr"]) == sorted(d.tracking_url for d in labels[:4])
    assert decoded(pages[1])["code128"] == [labels[4].item_id]


def test_a4_scale_keeps_upu_minima() -> None:
    assert codes.MODULE_MM * A4_SCALE >= codes.UPU_MIN_MODULE_MM
    assert codes.BAR_HEIGHT_MM * A4_SCALE >= codes.UPU_MIN_BAR_HEIGHT_MM


def test_pdf_text_keeps_vietnamese_and_masks_phones() -> None:
    text = pdf_text(render_label_pdf([make_label()]))[0]
    for expected in (
        "Người nhận / Recipient",
        "Người gửi / Sender",
        "Phường Kinh Bắc, Bắc Ninh",
        "Nguyễn Thị Hương",
        "Cấp đổi giấy phép lái xe",
        "09******78",
        "26.000 ₫",
        "EB 123 456 785 VN",
        "HỒ SƠ TTHC / DOSSIER",
    ):
        assert expected in text, expected
    assert "0912345678" not in text


def test_pdf_cuts_overlong_text_with_an_ellipsis() -> None:
    long_name = "Trung tâm Phục vụ hành chính công " * 6
    label = make_label(recipient=replace(make_label().recipient, name=long_name))
    text = pdf_text(render_label_pdf([label]))[0]
    assert "…" in text
    assert text.count("Trung tâm Phục vụ hành chính công") < 6


def test_result_label_title() -> None:
    text = pdf_text(render_label_pdf([make_label(service="result")]))[0]
    assert "KẾT QUẢ TTHC / RESULT" in text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"item_id": "EB123456784VN"}, "item_id: check digit should be 5, got 4"),
        ({"tracking_url": "hoso.vnpost.vn/t/x"}, "tracking_url"),
        ({"tracking_url": "https://hoso.vn/tra cứu"}, "tracking_url"),
        ({"weight_g": -1}, "weight_g"),
        ({"amount_to_collect_vnd": -1}, "amount_to_collect_vnd"),
        ({"service": "parcel"}, "service"),
    ],
)
def test_bad_label_data_is_refused_with_the_field_named(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidLabelData, match=message):
        render_label_pdf([make_label(**overrides)])


def test_missing_commune_is_refused() -> None:
    sender = replace(make_label().sender, address=Address("Số 1", "", "Bắc Ninh"))
    with pytest.raises(InvalidLabelData, match="sender.address needs both commune and province"):
        render_label_zpl(make_label(sender=sender))


def test_empty_batch_and_bad_layout_are_refused() -> None:
    with pytest.raises(InvalidLabelData, match="no labels"):
        render_label_pdf([])
    with pytest.raises(InvalidLabelData, match="layout"):
        render_label_pdf([make_label()], layout="a5")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- HTML
def test_html_is_a_standalone_100x150_page() -> None:
    html = render_label_html(make_label())
    assert html.startswith("<!DOCTYPE html>")
    assert "@page { size: 100mm 150mm; margin: 0; }" in html
    assert "@font-face" in html and "base64," in html
    assert html.count("<svg") == 2
    assert "Người nhận / Recipient" in html
    assert "0912345678" not in html and "09******78" in html
    assert "http" not in html.replace(make_label().tracking_url, "").replace(
        "http://www.w3.org/2000/svg", ""
    )  # nothing to fetch: prints the same offline


def test_html_escapes_user_text() -> None:
    label = make_label(procedure_name="<script>alert(1)</script> & co")
    html = render_label_html(label, embed_font=False)
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.browser
def test_html_screenshot_round_trip_in_chromium(artifacts: Path, browser: Any) -> None:
    from PIL import Image

    label = make_label(item_id=make_item_id("EE", 87654321))
    html = render_label_html(label)
    # CSS px are 1/96 in; this scale gives 203 device px per inch like the printer.
    page = browser.new_page(device_scale_factor=203 / 96, viewport={"width": 378, "height": 567})
    try:
        page.set_content(html)
        page.evaluate("document.fonts.ready")
        shot = artifacts / "label_html_203dpi.png"
        page.locator("section.label").screenshot(path=str(shot))
        family = page.evaluate("getComputedStyle(document.querySelector('.cap')).fontFamily")
        loaded = page.evaluate("document.fonts.check('12px BeVietnamPro')")
    finally:
        page.close()
    assert "BeVietnamPro" in family and loaded
    image = Image.open(shot)
    assert abs(image.width - 800) <= 2 and abs(image.height - 1200) <= 2
    found = decoded(image)
    assert found["code128"] == [label.item_id]
    assert found["qr"] == [label.tracking_url]


# --------------------------------------------------------------------------- ZPL
@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_matches_golden(dpi: int) -> None:
    zpl = render_label_zpl(make_label(), dpi=dpi)
    golden = GOLDEN / f"label_{dpi}dpi.zpl"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(zpl, encoding="utf-8")
    assert zpl == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(("dpi", "width", "length"), [(203, 800, 1200), (300, 1181, 1772)])
def test_zpl_barcode_and_qr_fields_meet_upu_minima(dpi: int, width: int, length: int) -> None:
    label = make_label()
    zpl = render_label_zpl(label, dpi=dpi)
    assert zpl.startswith(f"^XA\n^CI28\n^PW{width}\n^LL{length}\n")
    assert zpl.rstrip().endswith("^XZ")
    dots_per_mm = dpi / 25.4

    bc = re.search(r"\^FO(\d+),(\d+)\^BY(\d+),[\d.]+,(\d+)\^BCN,(\d+),N,N,N,A\^FD([^^]*)\^FS", zpl)
    assert bc is not None
    x, _, module, _, height, data = (bc.group(i) for i in range(1, 7))
    assert data == label.item_id
    assert int(module) / dots_per_mm >= codes.UPU_MIN_MODULE_MM
    assert int(height) / dots_per_mm >= codes.UPU_MIN_BAR_HEIGHT_MM
    # Quiet zones of 10 modules fit on both sides of the 156-module symbol.
    assert int(x) >= 10 * int(module)
    assert int(x) + 156 * int(module) + 10 * int(module) <= width

    qr = re.search(r"\^BQN,2,(\d+)\^FDQA,([^^]*)\^FS", zpl)
    assert qr is not None
    assert qr.group(2) == label.tracking_url
    assert int(qr.group(1)) / dots_per_mm >= 0.5  # modules big enough for phone cameras


def test_zpl_text_is_utf8_with_a_vietnamese_font() -> None:
    zpl = render_label_zpl(make_label())
    assert "^CI28" in zpl and "^CW1,E:BVNPRO.TTF" in zpl
    assert "^FH^FDNgười nhận / Recipient^FS" in zpl
    assert "Phường Kinh Bắc, Bắc Ninh" in zpl
    # Every text field uses the downloaded font (font 1), never a built-in one.
    assert re.findall(r"\^A([0-9A-Z@])", zpl) and set(re.findall(r"\^A([0-9A-Z@])", zpl)) == {"1"}
    assert "0912345678" not in zpl


def test_zpl_escapes_command_characters_in_data() -> None:
    zpl = render_label_zpl(make_label(procedure_name="Thủ tục ^XZ ~JR a_b"))
    assert "Thủ tục _5EXZ _7EJR a_5Fb" in zpl
    assert zpl.count("^XZ") == 1


def test_zpl_font_download_preamble() -> None:
    pre = zpl_font_download()
    m = re.match(r"~DYE:BVNPRO,A,T,(\d+),,([0-9A-F]+)\n$", pre)
    assert m is not None
    assert len(m.group(2)) == 2 * int(m.group(1))
    assert render_label_zpl(make_label(), include_font=True).startswith("~DYE:BVNPRO")


def test_zpl_refuses_other_resolutions() -> None:
    with pytest.raises(InvalidLabelData, match="203 or 300"):
        render_label_zpl(make_label(), dpi=600)
