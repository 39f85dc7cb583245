"""Barcode and QR images for item IDs and tracking URLs.

Code 128 sizes follow UPU S10 guidance: X-dimension (narrowest bar) at least 0.33 mm,
bar height at least 12.5 mm, quiet zones of at least 10 X either side. python-barcode's
default 0.2 mm module is too thin for postal scanners, so every caller goes through
here rather than using the library defaults.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import qrcode
import qrcode.image.svg
from barcode import Code128
from barcode.writer import ImageWriter, SVGWriter

from labels.s10 import validate_item_id

UPU_MIN_MODULE_MM = 0.33
UPU_MIN_BAR_HEIGHT_MM = 12.5
# 0.375 mm is exactly 3 dots at 203 dpi, the commonest thermal printer resolution, so
# bars are not distorted by rounding; it also leaves margin above 0.33 mm when the A4
# layout shrinks labels by ~4 %.
MODULE_MM = 0.375
BAR_HEIGHT_MM = 18.0
QUIET_MODULES = 10
QR_MODULE_MM = 0.6
QR_BORDER_MODULES = 4
# Level Q (~25 % recoverable): labels get scuffed and taped over in transit. The ZPL
# renderer asks the printer for the same level (^FDQA), so every output carries the
# same symbol.
_QR_ECC = qrcode.constants.ERROR_CORRECT_Q


def code128_modules(item_id: str) -> str:
    """Return the bar pattern of the Code 128 symbol as '1' (bar) / '0' (space) modules."""
    lines: list[str] = Code128(validate_item_id(item_id)).build()
    return lines[0]


def module_mm_for_dpi(dpi: int) -> float:
    """The module width closest to MODULE_MM that is a whole number of dots at ``dpi``.

    Whole dots keep every bar the same width on a raster device; the result is never
    below the UPU minimum.
    """
    dots = max(round(MODULE_MM * dpi / 25.4), math.ceil(UPU_MIN_MODULE_MM * dpi / 25.4))
    return dots * 25.4 / dpi


def _strip_xml_prolog(svg: str) -> str:
    return svg[svg.index("<svg") :]


def code128_svg(
    item_id: str, *, module_mm: float = MODULE_MM, height_mm: float = BAR_HEIGHT_MM
) -> str:
    """Code 128 of the item ID as an SVG element (no XML prolog, ready to inline in HTML)."""
    _check_sizes(module_mm, height_mm)
    code = Code128(validate_item_id(item_id), writer=SVGWriter())
    raw: bytes = code.render(
        {
            "module_width": module_mm,
            "module_height": height_mm,
            "quiet_zone": QUIET_MODULES * module_mm,
            "margin_top": 0.0,
            "margin_bottom": 0.0,
            "write_text": False,
            "compress": False,
        }
    )
    return _strip_xml_prolog(raw.decode("utf-8"))


def code128_png(item_id: str, *, dpi: int = 300, height_mm: float = BAR_HEIGHT_MM) -> bytes:
    """Code 128 of the item ID as a 1-bit PNG at ``dpi``, bars a whole number of dots wide."""
    module_mm = module_mm_for_dpi(dpi)
    _check_sizes(module_mm, height_mm)
    code = Code128(validate_item_id(item_id), writer=ImageWriter(format="PNG", mode="1", dpi=dpi))
    buf = io.BytesIO()
    code.write(
        buf,
        {
            "module_width": module_mm,
            "module_height": height_mm,
            "quiet_zone": QUIET_MODULES * module_mm,
            "margin_top": 0.0,
            "margin_bottom": 0.0,
            "write_text": False,
        },
    )
    return buf.getvalue()


def _check_sizes(module_mm: float, height_mm: float) -> None:
    if module_mm < UPU_MIN_MODULE_MM:
        raise ValueError(f"module width {module_mm} mm is below the UPU minimum 0.33 mm")
    if height_mm < UPU_MIN_BAR_HEIGHT_MM:
        raise ValueError(f"bar height {height_mm} mm is below the UPU minimum 12.5 mm")


def _qr(data: str, border: int) -> qrcode.QRCode:
    q = qrcode.QRCode(error_correction=_QR_ECC, border=border, box_size=10)
    q.add_data(data)
    q.make(fit=True)
    return q


@lru_cache(maxsize=1024)
def qr_matrix(data: str, border: int = QR_BORDER_MODULES) -> tuple[tuple[bool, ...], ...]:
    """QR modules (True = dark), including a quiet border, for drawing as vectors.

    Cached because the same tracking URL is drawn for the PDF, HTML and reprints.
    """
    return tuple(tuple(row) for row in _qr(data, border).get_matrix())


def qr_side_modules(data: str, border: int = QR_BORDER_MODULES) -> int:
    """Side of the QR symbol in modules, quiet zone included, without drawing it.

    Choosing the version is cheap; building the matrix and scoring the 8 masks is what
    costs ~7 ms, and a ZPL printer does that itself.
    """
    q = qrcode.QRCode(error_correction=_QR_ECC, border=border)
    q.add_data(data)
    version: int = q.best_fit()
    return 17 + 4 * version + 2 * border


def qr_svg(data: str, *, module_mm: float = QR_MODULE_MM) -> str:
    """QR code of ``data`` as one SVG path (level Q, 4-module quiet zone)."""
    matrix = qr_matrix(data)
    n = len(matrix)
    path = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                path.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    size = n * module_mm
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:.3f}mm" height="{size:.3f}mm" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{"".join(path)}" fill="#000"/></svg>'
    )


def qr_png(data: str, *, box_px: int = 8) -> bytes:
    """QR code of ``data`` as a PNG with ``box_px`` pixels per module."""
    q = qrcode.QRCode(error_correction=_QR_ECC, border=QR_BORDER_MODULES, box_size=box_px)
    q.add_data(data)
    q.make(fit=True)
    buf = io.BytesIO()
    q.make_image(fill_color="black", back_color="white").save(buf)
    return buf.getvalue()
