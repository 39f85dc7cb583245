from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from labels import codes
from labels.errors import InvalidItemId
from labels.s10 import make_item_id

from .decode import decoded

ITEM = make_item_id("EB", 12345678)


def test_default_module_is_above_upu_minimum_and_whole_dots_at_203() -> None:
    assert codes.MODULE_MM >= codes.UPU_MIN_MODULE_MM
    assert codes.BAR_HEIGHT_MM >= codes.UPU_MIN_BAR_HEIGHT_MM
    assert codes.MODULE_MM * 203 / 25.4 == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_module_for_dpi_is_whole_dots_and_never_below_minimum(dpi: int) -> None:
    mm = codes.module_mm_for_dpi(dpi)
    assert mm >= codes.UPU_MIN_MODULE_MM
    assert mm * dpi / 25.4 == pytest.approx(round(mm * dpi / 25.4))


def test_code128_of_an_s10_id_is_156_modules() -> None:
    # StartB E B CodeC 12 34 56 78 CodeB 5 V N check: 12 symbols x 11 + stop 13 + ... = 156
    assert len(codes.code128_modules(ITEM)) == 156


def test_svg_has_upu_sizes_and_no_xml_prolog() -> None:
    svg = codes.code128_svg(ITEM)
    assert svg.startswith("<svg")
    widths = {float(w) for w in re.findall(r'width="([0-9.]+)mm" height="18.000mm"', svg)}
    assert min(widths) == pytest.approx(0.375)
    assert 'height="18.000mm"' in svg


def test_svg_refuses_thin_modules() -> None:
    with pytest.raises(ValueError, match="below the UPU minimum 0.33"):
        codes.code128_svg(ITEM, module_mm=0.2)
    with pytest.raises(ValueError, match="12.5"):
        codes.code128_svg(ITEM, height_mm=10)


@pytest.mark.parametrize("dpi", [203, 300])
def test_png_decodes_and_has_the_right_bar_height(dpi: int) -> None:
    img = Image.open(io.BytesIO(codes.code128_png(ITEM, dpi=dpi)))
    assert decoded(img)["code128"] == [ITEM]
    assert img.height >= round(codes.UPU_MIN_BAR_HEIGHT_MM * dpi / 25.4)


def test_png_refuses_a_bad_id() -> None:
    with pytest.raises(InvalidItemId, match="check digit"):
        codes.code128_png("EB123456784VN")


def test_qr_png_and_matrix_round_trip() -> None:
    url = f"https://hoso.vnpost.vn/t/{ITEM}"
    assert decoded(Image.open(io.BytesIO(codes.qr_png(url))))["qr"] == [url]
    matrix = codes.qr_matrix(url)
    assert len(matrix) == len(matrix[0])
    # 4-module quiet zone all round
    assert not any(matrix[0]) and not any(row[0] for row in matrix)


def test_qr_svg_is_one_path_sized_in_mm() -> None:
    svg = codes.qr_svg("https://hoso.vnpost.vn/t/x", module_mm=0.5)
    n = len(codes.qr_matrix("https://hoso.vnpost.vn/t/x"))
    assert f'width="{n * 0.5:.3f}mm"' in svg
    assert svg.count("<path") == 1


@pytest.mark.parametrize("length", [10, 40, 80, 200])
def test_qr_side_without_drawing_matches_the_drawn_matrix(length: int) -> None:
    data = "https://hoso.vnpost.vn/t/" + "x" * length
    assert codes.qr_side_modules(data) == len(codes.qr_matrix(data))
