"""The 100 x 150 mm item label, as HTML, PDF and ZPL.

All three renderers print the same blocks in the same places, so a courier sees the same
label whichever printer the post office has. Text is Vietnamese first, English after.
Phone numbers are masked: a label is read by everyone who handles the item.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from fpdf import FPDF
from fpdf.drawing_primitives import Transform

from labels import codes
from labels.errors import InvalidCode, InvalidLabelData
from labels.fonts import BOLD, FAMILY, REGULAR
from labels.s10 import format_item_id, validate_item_id
from labels.text import format_vnd, mask_phone

Service = Literal["dossier", "result"]

LABEL_W_MM = 100.0
LABEL_H_MM = 150.0
MARGIN_MM = 4.0

SERVICE_TITLES: dict[str, str] = {
    "dossier": "HỒ SƠ TTHC / DOSSIER",
    "result": "KẾT QUẢ TTHC / RESULT",
}


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    """House number, street, hamlet (thôn/ấp/tổ) - whatever comes before the commune."""
    commune: str
    """Commune-level unit with its type, e.g. ``Phường Kinh Bắc``."""
    province: str
    """Province-level unit, e.g. ``Bắc Ninh``."""

    def one_line(self) -> str:
        return ", ".join(p for p in (self.street, self.commune, self.province) if p)


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    phone: str
    address: Address


@dataclass(frozen=True, slots=True)
class LabelData:
    item_id: str
    service: Service
    tracking_url: str
    sender: Party
    recipient: Party
    destination_office: str
    procedure_name: str
    seal_number: str | None
    weight_g: int
    amount_to_collect_vnd: int
    date: dt.date
    post_office: str


def _checked(data: LabelData) -> LabelData:
    """Refuse data that would print a label no scanner or courier can use."""
    try:
        validate_item_id(data.item_id)
    except InvalidCode as exc:
        raise InvalidLabelData(f"item_id: {exc}") from None
    if data.service not in SERVICE_TITLES:
        raise InvalidLabelData(f"service must be 'dossier' or 'result', got {data.service!r}")
    url = data.tracking_url
    if not url.startswith(("https://", "http://")) or not url.isascii() or " " in url:
        raise InvalidLabelData(
            f"tracking_url must be an absolute http(s) URL in ASCII without spaces, got {url!r}"
        )
    if data.weight_g < 0:
        raise InvalidLabelData(f"weight_g must not be negative, got {data.weight_g}")
    if data.amount_to_collect_vnd < 0:
        raise InvalidLabelData(
            f"amount_to_collect_vnd must not be negative, got {data.amount_to_collect_vnd}"
        )
    for role, party in (("sender", data.sender), ("recipient", data.recipient)):
        if not party.name.strip():
            raise InvalidLabelData(f"{role}.name is empty")
        if not party.address.commune.strip() or not party.address.province.strip():
            raise InvalidLabelData(f"{role}.address needs both commune and province")
    return data


def _fmt_date(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def _weight(g: int) -> str:
    return f"{g} g" if g < 1000 else f"{g / 1000:.2f} kg".replace(".", ",")


def _collect(amount: int) -> str:
    return format_vnd(amount) if amount else "Không / None"


# ---------------------------------------------------------------------------------------
# Layout, in mm from the label's top-left corner. Shared by the three renderers.
# ---------------------------------------------------------------------------------------
_BAR_TOP = 19.0
_BAR_W = (156 + 2 * codes.QUIET_MODULES) * codes.MODULE_MM  # 156 modules for any S10 ID
_BAR_LEFT = (LABEL_W_MM - _BAR_W) / 2
_HR_TOP = _BAR_TOP + codes.BAR_HEIGHT_MM + 0.8
_RECIP_TOP = 45.0
_SENDER_TOP = 84.0
_PROC_TOP = 104.0
_BOTTOM_TOP = 117.0
_QR_SIZE = 29.0
_QR_LEFT = LABEL_W_MM - MARGIN_MM - _QR_SIZE
_QR_TOP = LABEL_H_MM - MARGIN_MM - _QR_SIZE


# ---------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------
def _new_pdf(page: tuple[float, float]) -> FPDF:
    pdf = FPDF(unit="mm", format=page)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font(FAMILY, "", str(REGULAR))
    pdf.add_font(FAMILY, "B", str(BOLD))
    pdf.set_creator("hoso labels")
    return pdf


def _text_lines(pdf: FPDF, text: str, width: float, max_lines: int) -> list[str]:
    """Wrap ``text`` to ``width`` and cut it to ``max_lines``, marking the cut with '…'."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if pdf.get_string_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while pdf.get_string_width(current) > width and len(current) > 1:
            # A single word longer than the line (e.g. a long URL): hard-break it.
            cut = len(current) - 1
            while cut > 1 and pdf.get_string_width(current[:cut]) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and pdf.get_string_width(last + "…") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _put(
    pdf: FPDF,
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    bold: bool = False,
    width: float | None = None,
    max_lines: int = 1,
    leading: float = 1.2,
) -> float:
    """Draw text with its top at ``y``; return the y just below the last line."""
    pdf.set_font(FAMILY, "B" if bold else "", size)
    line_h = size * leading * 25.4 / 72
    lines = _text_lines(pdf, text, width, max_lines) if width is not None else [text]
    for i, line in enumerate(lines):
        # fpdf2 places text by baseline; 0.8 of the size puts the cap height at y.
        pdf.text(x, y + i * line_h + size * 0.8 * 25.4 / 72, line)
    return y + len(lines) * line_h


def _draw_bars(pdf: FPDF, modules: str, x: float, y: float, module: float, h: float) -> None:
    i, n = 0, len(modules)
    while i < n:
        if modules[i] == "1":
            start = i
            while i < n and modules[i] == "1":
                i += 1
            pdf.rect(x + start * module, y, (i - start) * module, h, style="F")
        else:
            i += 1


def _draw_qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    matrix = codes.qr_matrix(data)
    n = len(matrix)
    m = size / n
    for row_i, row in enumerate(matrix):
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                pdf.rect(x + start * m, y + row_i * m, (col - start) * m, m, style="F")
            else:
                col += 1


def _draw_label(pdf: FPDF, d: LabelData) -> None:
    inner_w = LABEL_W_MM - 2 * MARGIN_MM
    x0 = MARGIN_MM
    pdf.set_draw_color(0)
    pdf.set_fill_color(0)
    pdf.set_text_color(0)
    pdf.set_line_width(0.3)

    # Header: operator, post office, date; service in a black box so sorters see it first.
    _put(pdf, x0, 4.0, "BƯU ĐIỆN VIỆT NAM", 10, bold=True)
    _put(pdf, x0, 9.0, f"Bưu cục / Post office: {d.post_office}", 6.5, width=52, max_lines=2)
    box_w = 36.0
    pdf.rect(LABEL_W_MM - MARGIN_MM - box_w, 4.0, box_w, 6.5, style="F")
    pdf.set_text_color(255)
    pdf.set_font(FAMILY, "B", 7.5)
    title = SERVICE_TITLES[d.service]
    tw = pdf.get_string_width(title)
    pdf.text(LABEL_W_MM - MARGIN_MM - box_w / 2 - tw / 2, 8.5, title)
    pdf.set_text_color(0)
    _put(pdf, LABEL_W_MM - MARGIN_MM - box_w, 12.0, f"Ngày / Date: {_fmt_date(d.date)}", 6.5)
    pdf.line(x0, 17.0, LABEL_W_MM - MARGIN_MM, 17.0)

    # Barcode and its spaced human-readable line.
    modules = codes.code128_modules(d.item_id)
    _draw_bars(
        pdf,
        modules,
        _BAR_LEFT + codes.QUIET_MODULES * codes.MODULE_MM,
        _BAR_TOP,
        codes.MODULE_MM,
        codes.BAR_HEIGHT_MM,
    )
    pdf.set_font(FAMILY, "B", 13)
    hr = format_item_id(d.item_id)
    pdf.text((LABEL_W_MM - pdf.get_string_width(hr)) / 2, _HR_TOP + 4.2, hr)
    pdf.line(x0, _RECIP_TOP - 2.0, LABEL_W_MM - MARGIN_MM, _RECIP_TOP - 2.0)

    # Recipient: the block a courier reads at arm's length, so the largest text.
    r = d.recipient
    y = _put(pdf, x0, _RECIP_TOP, "Người nhận / Recipient", 7, bold=True)
    y = _put(pdf, x0, y + 0.5, r.name, 11, bold=True, width=inner_w, max_lines=2)
    y = _put(pdf, x0, y + 0.3, f"ĐT / Tel: {mask_phone(r.phone)}", 9)
    y = _put(pdf, x0, y + 0.3, r.address.street, 9, width=inner_w, max_lines=2)
    y = _put(
        pdf,
        x0,
        y + 0.2,
        f"{r.address.commune}, {r.address.province}",
        10.5,
        bold=True,
        width=inner_w,
        max_lines=1,
    )
    _put(
        pdf,
        x0,
        max(y + 0.5, 74.9),
        f"Nơi nhận / Destination office: {d.destination_office}",
        7.5,
        width=inner_w,
        max_lines=2,
    )
    pdf.line(x0, _SENDER_TOP - 2.0, LABEL_W_MM - MARGIN_MM, _SENDER_TOP - 2.0)

    s = d.sender
    y = _put(pdf, x0, _SENDER_TOP, "Người gửi / Sender", 7, bold=True)
    y = _put(
        pdf,
        x0,
        y + 0.3,
        f"{s.name} · ĐT / Tel: {mask_phone(s.phone)}",
        8,
        width=inner_w,
        max_lines=1,
    )
    _put(pdf, x0, y + 0.2, s.address.one_line(), 7.5, width=inner_w, max_lines=2)
    pdf.line(x0, _PROC_TOP - 2.0, LABEL_W_MM - MARGIN_MM, _PROC_TOP - 2.0)

    y = _put(pdf, x0, _PROC_TOP, "Thủ tục / Procedure", 7, bold=True)
    _put(pdf, x0, y + 0.2, d.procedure_name, 8, width=inner_w, max_lines=2)
    pdf.line(x0, _BOTTOM_TOP - 2.0, LABEL_W_MM - MARGIN_MM, _BOTTOM_TOP - 2.0)

    left_w = _QR_LEFT - x0 - 2.0
    y = _BOTTOM_TOP
    for caption, value, bold in (
        ("Số niêm phong / Seal no.", d.seal_number or "—", True),
        ("Khối lượng / Weight", _weight(d.weight_g), False),
        ("Thu hộ / Collect", _collect(d.amount_to_collect_vnd), d.amount_to_collect_vnd > 0),
    ):
        y = _put(pdf, x0, y, caption, 6.5)
        y = _put(pdf, x0, y, value, 10, bold=bold, width=left_w) + 0.6
    y = _put(pdf, x0, y, "Tra cứu / Track:", 6.5)
    _put(pdf, x0, y, d.tracking_url, 6, width=left_w, max_lines=2)
    _draw_qr(pdf, d.tracking_url, _QR_LEFT, _QR_TOP, _QR_SIZE)


# A4 holds 2 x 2 labels only if they shrink a little (2 x 150 mm > 297 mm) and leave room
# for the unprintable margin of office printers. 0.956 keeps the module at 0.359 mm and
# the bars at 17.2 mm, both above the UPU minima.
_A4 = (210.0, 297.0)
_A4_MARGIN = 5.0
A4_SCALE = min(
    (_A4[0] - 2 * _A4_MARGIN) / (2 * LABEL_W_MM), (_A4[1] - 2 * _A4_MARGIN) / (2 * LABEL_H_MM)
)


def render_label_pdf(labels: Sequence[LabelData], layout: Literal["roll", "a4"] = "roll") -> bytes:
    """Labels as one PDF: a 100 x 150 mm page each ("roll"), or four per A4 sheet ("a4")."""
    if not labels:
        raise InvalidLabelData("no labels to render")
    checked = [_checked(d) for d in labels]
    if layout == "roll":
        pdf = _new_pdf((LABEL_W_MM, LABEL_H_MM))
        for d in checked:
            pdf.add_page()
            _draw_label(pdf, d)
    elif layout == "a4":
        pdf = _new_pdf(_A4)
        cell_w, cell_h = LABEL_W_MM * A4_SCALE, LABEL_H_MM * A4_SCALE
        ox = (_A4[0] - 2 * cell_w) / 2
        oy = (_A4[1] - 2 * cell_h) / 2
        for i, d in enumerate(checked):
            slot = i % 4
            if slot == 0:
                pdf.add_page()
            x = ox + (slot % 2) * cell_w
            y = oy + (slot // 2) * cell_h
            with pdf.transform(Transform.scaling(A4_SCALE).translate(x, y)):
                _draw_label(pdf, d)
            # Thin cut guides, outside the transform so they stay hairlines.
            pdf.set_draw_color(180)
            pdf.set_line_width(0.1)
            pdf.rect(x, y, cell_w, cell_h)
            pdf.set_draw_color(0)
    else:
        raise InvalidLabelData(f"layout must be 'roll' or 'a4', got {layout!r}")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _font_face_css() -> str:
    """@font-face rules with the TTFs inlined, so the page renders the same offline."""
    rules = []
    for path, weight in ((REGULAR, 400), (BOLD, 700)):
        b64 = base64.b64encode(path.read_bytes()).decode("ascii")
        rules.append(
            f"@font-face{{font-family:'{FAMILY}';font-weight:{weight};font-style:normal;"
            f"src:url(data:font/ttf;base64,{b64}) format('truetype');}}"
        )
    return "\n".join(rules)


_CSS = f"""
@page {{ size: 100mm 150mm; margin: 0; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: '{FAMILY}', 'Noto Sans', 'DejaVu Sans', sans-serif; color: #000;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.label {{ position: relative; width: 100mm; height: 150mm; overflow: hidden;
  page-break-after: always; break-after: page; background: #fff; }}
.abs {{ position: absolute; }}
.rule {{ position: absolute; left: 4mm; right: 4mm; border-top: 0.3mm solid #000; }}
.cap {{ font-size: 7pt; font-weight: 700; }}
.small {{ font-size: 6.5pt; }}
.clamp1, .clamp2 {{ overflow: hidden; display: -webkit-box; -webkit-box-orient: vertical; }}
.clamp1 {{ -webkit-line-clamp: 1; }}
.clamp2 {{ -webkit-line-clamp: 2; }}
.svc {{ background: #000; color: #fff; font-weight: 700; font-size: 7.5pt; text-align: center;
  line-height: 6.5mm; }}
.hr {{ font-weight: 700; font-size: 13pt; text-align: center; letter-spacing: 0.2mm; }}
.url {{ font-size: 6pt; word-break: break-all; }}
svg {{ display: block; }}
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _label_body(d: LabelData) -> str:
    r, s = d.recipient, d.sender
    inner = LABEL_W_MM - 2 * MARGIN_MM
    left_w = _QR_LEFT - MARGIN_MM - 2.0
    return f"""<section class="label" data-item-id="{_esc(d.item_id)}">
<div class="abs" style="left:4mm;top:4mm;font-weight:700;font-size:10pt">BƯU ĐIỆN VIỆT NAM</div>
<div class="abs small clamp2" style="left:4mm;top:9mm;width:52mm">Bưu cục / Post office: \
{_esc(d.post_office)}</div>
<div class="abs svc" style="right:4mm;top:4mm;width:36mm;height:6.5mm">\
{_esc(SERVICE_TITLES[d.service])}</div>
<div class="abs small" style="left:60mm;top:12mm">Ngày / Date: {_fmt_date(d.date)}</div>
<div class="rule" style="top:17mm"></div>
<div class="abs" style="left:{_BAR_LEFT:.3f}mm;top:{_BAR_TOP}mm">\
{codes.code128_svg(d.item_id)}</div>
<div class="abs hr" style="left:0;width:100mm;top:{_HR_TOP:.1f}mm">\
{_esc(format_item_id(d.item_id))}</div>
<div class="rule" style="top:{_RECIP_TOP - 2}mm"></div>
<div class="abs" style="left:4mm;top:{_RECIP_TOP}mm;width:{inner}mm;height:37mm">
 <div class="cap">Người nhận / Recipient</div>
 <div class="clamp2" style="font-size:11pt;font-weight:700;line-height:1.2">{_esc(r.name)}</div>
 <div style="font-size:9pt">ĐT / Tel: {_esc(mask_phone(r.phone))}</div>
 <div class="clamp2" style="font-size:9pt">{_esc(r.address.street)}</div>
 <div class="clamp1" style="font-size:10.5pt;font-weight:700">{_esc(r.address.commune)}, \
{_esc(r.address.province)}</div>
 <div class="clamp2" style="font-size:7.5pt;margin-top:0.5mm">Nơi nhận / Destination office: \
{_esc(d.destination_office)}</div>
</div>
<div class="rule" style="top:{_SENDER_TOP - 2}mm"></div>
<div class="abs" style="left:4mm;top:{_SENDER_TOP}mm;width:{inner}mm">
 <div class="cap">Người gửi / Sender</div>
 <div class="clamp1" style="font-size:8pt">{_esc(s.name)} · ĐT / Tel: \
{_esc(mask_phone(s.phone))}</div>
 <div class="clamp2" style="font-size:7.5pt">{_esc(s.address.one_line())}</div>
</div>
<div class="rule" style="top:{_PROC_TOP - 2}mm"></div>
<div class="abs" style="left:4mm;top:{_PROC_TOP}mm;width:{inner}mm">
 <div class="cap">Thủ tục / Procedure</div>
 <div class="clamp2" style="font-size:8pt">{_esc(d.procedure_name)}</div>
</div>
<div class="rule" style="top:{_BOTTOM_TOP - 2}mm"></div>
<div class="abs" style="left:4mm;top:{_BOTTOM_TOP}mm;width:{left_w}mm">
 <div class="small">Số niêm phong / Seal no.</div>
 <div style="font-size:10pt;font-weight:700">{_esc(d.seal_number or "—")}</div>
 <div class="small">Khối lượng / Weight</div>
 <div style="font-size:10pt">{_esc(_weight(d.weight_g))}</div>
 <div class="small">Thu hộ / Collect</div>
 <div style="font-size:10pt;font-weight:{700 if d.amount_to_collect_vnd else 400}">\
{_esc(_collect(d.amount_to_collect_vnd))}</div>
 <div class="small">Tra cứu / Track:</div>
 <div class="url clamp2">{_esc(d.tracking_url)}</div>
</div>
<div class="abs" style="left:{_QR_LEFT}mm;top:{_QR_TOP}mm">\
{codes.qr_svg(d.tracking_url, module_mm=_QR_SIZE / len(codes.qr_matrix(d.tracking_url)))}</div>
</section>"""


def render_label_html(data: LabelData, *, embed_font: bool = True) -> str:
    """A standalone HTML page holding one label, sized for a 100 x 150 mm printer page.

    The font is inlined by default so the page prints the same on a desk PC that lacks
    Vietnamese fonts; pass ``embed_font=False`` when the page is served next to a
    stylesheet that already declares it.
    """
    d = _checked(data)
    fonts = _font_face_css() if embed_font else ""
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>Nhãn bưu gửi / Item label {_esc(d.item_id)}</title>
<style>
{fonts}
{_CSS}
</style>
</head>
<body>
{_label_body(d)}
</body>
</html>
"""


# ---------------------------------------------------------------------------------------
# ZPL
# ---------------------------------------------------------------------------------------
ZPL_FONT_NAME = "BVNPRO"
"""Name the Be Vietnam Pro TTF is stored under on the printer (``E:BVNPRO.TTF``)."""


def zpl_font_download() -> str:
    """``~DY`` command that stores the bundled TTF on the printer's flash as E:BVNPRO.TTF.

    Send once per printer (or before each job on printers that lose E: on reboot). The
    printer's built-in fonts have no Vietnamese glyphs, so without this font the text
    would print as boxes; the label never falls back to unaccented text silently.
    """
    data = REGULAR.read_bytes()
    return f"~DYE:{ZPL_FONT_NAME},A,T,{len(data)},,{data.hex().upper()}\n"


def _zpl_field(text: str) -> str:
    """Field data safe inside ^FD...^FS: ^ and ~ would start commands, so hex-escape them
    (with ^FH, default escape '_', so '_' itself is escaped too)."""
    out = []
    for ch in text:
        if ch in "^~_":
            out.append(f"_{ord(ch):02X}")
        elif ch in "\r\n\t":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class _Zpl:
    dpi: int

    @property
    def dpmm(self) -> float:
        # "203 dpi" print heads are really 8 dots/mm (203.2 dpi); dividing 203 by 25.4
        # would lose a dot column and print 799 x 1199 instead of the 800 x 1200 page.
        return 8.0 if self.dpi == 203 else self.dpi / 25.4

    def d(self, mm: float) -> int:
        return round(mm * self.dpmm)

    def pt(self, points: float) -> int:
        """Character height in dots for a type size in points."""
        return max(round(points * 25.4 / 72 * self.dpmm), 10)

    def text(
        self,
        x_mm: float,
        y_mm: float,
        text: str,
        size_pt: float,
        *,
        width_mm: float | None = None,
        lines: int = 1,
        reverse: bool = False,
        center: bool = False,
    ) -> str:
        h = self.pt(size_pt)
        block = ""
        if width_mm is not None:
            block = f"^FB{self.d(width_mm)},{lines},0,{'C' if center else 'L'},0"
        rev = "^FR" if reverse else ""
        return (
            f"^FO{self.d(x_mm)},{self.d(y_mm)}^A1N,{h},{h}{block}{rev}^FH^FD{_zpl_field(text)}^FS"
        )


def render_label_zpl(data: LabelData, dpi: int = 203, *, include_font: bool = False) -> str:
    """ZPL II for a 100 x 150 mm label on a 203 or 300 dpi thermal printer.

    Text uses the TTF stored as ``E:BVNPRO.TTF`` (see ``zpl_font_download``), mapped to
    font 1 with ``^CW``, in UTF-8 (``^CI28``). With ``include_font=True`` the ``~DY``
    download is prepended, which makes the job about 260 kB.
    """
    if dpi not in (203, 300):
        raise InvalidLabelData(f"dpi must be 203 or 300, got {dpi}")
    d = _checked(data)
    z = _Zpl(dpi)
    module_dots = round(codes.module_mm_for_dpi(dpi) * z.dpmm)
    bar_h = z.d(codes.BAR_HEIGHT_MM)
    bar_w_dots = (156 + 2 * codes.QUIET_MODULES) * module_dots
    # QR magnification: the largest whole dots-per-module that fits the QR box.
    qr_n = codes.qr_side_modules(d.tracking_url)
    qr_mag = max(1, min(10, z.d(_QR_SIZE) // qr_n))
    qr_dots = qr_n * qr_mag
    inner = LABEL_W_MM - 2 * MARGIN_MM
    r, s = d.recipient, d.sender
    x0 = MARGIN_MM
    left_w = _QR_LEFT - x0 - 2.0
    out = [
        "^XA",
        "^CI28",
        f"^PW{z.d(LABEL_W_MM)}",
        f"^LL{z.d(LABEL_H_MM)}",
        "^LH0,0",
        f"^CW1,E:{ZPL_FONT_NAME}.TTF",
        z.text(x0, 4.0, "BƯU ĐIỆN VIỆT NAM", 10),
        z.text(
            x0, 9.0, _clip(f"Bưu cục / Post office: {d.post_office}", 90), 6.5, width_mm=52, lines=2
        ),
        f"^FO{z.d(LABEL_W_MM - MARGIN_MM - 36)},{z.d(4.0)}^GB{z.d(36)},{z.d(6.5)},{z.d(6.5)}^FS",
        z.text(
            LABEL_W_MM - MARGIN_MM - 36,
            5.3,
            SERVICE_TITLES[d.service],
            7.5,
            width_mm=36,
            reverse=True,
            center=True,
        ),
        z.text(LABEL_W_MM - MARGIN_MM - 36, 12.0, f"Ngày / Date: {_fmt_date(d.date)}", 6.5),
        f"^FO{z.d(x0)},{z.d(17.0)}^GB{z.d(inner)},{z.d(0.3) or 1},{z.d(0.3) or 1}^FS",
        # Field origin is the quiet zone's left edge: ^BC draws no quiet zone itself.
        f"^FO{z.d(LABEL_W_MM / 2) - bar_w_dots // 2 + codes.QUIET_MODULES * module_dots},"
        f"{z.d(_BAR_TOP)}^BY{module_dots},3,{bar_h}^BCN,{bar_h},N,N,N,A^FD{d.item_id}^FS",
        z.text(0, _HR_TOP, format_item_id(d.item_id), 13, width_mm=LABEL_W_MM, center=True),
        f"^FO{z.d(x0)},{z.d(_RECIP_TOP - 2)}^GB{z.d(inner)},{z.d(0.3) or 1},{z.d(0.3) or 1}^FS",
        z.text(x0, _RECIP_TOP, "Người nhận / Recipient", 7),
        z.text(x0, _RECIP_TOP + 3.5, _clip(r.name, 80), 11, width_mm=inner, lines=2),
        z.text(x0, _RECIP_TOP + 12.0, f"ĐT / Tel: {mask_phone(r.phone)}", 9),
        z.text(x0, _RECIP_TOP + 16.0, _clip(r.address.street, 100), 9, width_mm=inner, lines=2),
        z.text(
            x0, _RECIP_TOP + 23.2, _clip(f"{r.address.commune}, {r.address.province}", 44), 10.5
        ),
        z.text(
            x0,
            74.9,
            _clip(f"Nơi nhận / Destination office: {d.destination_office}", 120),
            7.5,
            width_mm=inner,
            lines=2,
        ),
        f"^FO{z.d(x0)},{z.d(_SENDER_TOP - 2)}^GB{z.d(inner)},{z.d(0.3) or 1},{z.d(0.3) or 1}^FS",
        z.text(x0, _SENDER_TOP, "Người gửi / Sender", 7),
        z.text(x0, _SENDER_TOP + 3.5, _clip(f"{s.name} · ĐT / Tel: {mask_phone(s.phone)}", 60), 8),
        z.text(
            x0, _SENDER_TOP + 7.5, _clip(s.address.one_line(), 140), 7.5, width_mm=inner, lines=2
        ),
        f"^FO{z.d(x0)},{z.d(_PROC_TOP - 2)}^GB{z.d(inner)},{z.d(0.3) or 1},{z.d(0.3) or 1}^FS",
        z.text(x0, _PROC_TOP, "Thủ tục / Procedure", 7),
        z.text(x0, _PROC_TOP + 3.5, _clip(d.procedure_name, 130), 8, width_mm=inner, lines=2),
        f"^FO{z.d(x0)},{z.d(_BOTTOM_TOP - 2)}^GB{z.d(inner)},{z.d(0.3) or 1},{z.d(0.3) or 1}^FS",
        z.text(x0, _BOTTOM_TOP, "Số niêm phong / Seal no.", 6.5),
        z.text(x0, _BOTTOM_TOP + 2.8, _clip(d.seal_number or "—", 24), 10),
        z.text(x0, _BOTTOM_TOP + 7.6, "Khối lượng / Weight", 6.5),
        z.text(x0, _BOTTOM_TOP + 10.4, _weight(d.weight_g), 10),
        z.text(x0, _BOTTOM_TOP + 15.2, "Thu hộ / Collect", 6.5),
        z.text(x0, _BOTTOM_TOP + 18.0, _collect(d.amount_to_collect_vnd), 10),
        z.text(x0, _BOTTOM_TOP + 22.8, "Tra cứu / Track:", 6.5),
        z.text(x0, _BOTTOM_TOP + 25.4, _clip(d.tracking_url, 90), 6, width_mm=left_w, lines=2),
        # The printer draws no quiet zone, so the symbol starts 4 modules into the box.
        f"^FO{z.d(_QR_LEFT) + (z.d(_QR_SIZE) - qr_dots) // 2 + codes.QR_BORDER_MODULES * qr_mag},"
        f"{z.d(_QR_TOP) + (z.d(_QR_SIZE) - qr_dots) // 2 + codes.QR_BORDER_MODULES * qr_mag}"
        f"^BQN,2,{qr_mag}^FDQA,{d.tracking_url}^FS",
        "^PQ1",
        "^XZ",
    ]
    zpl = "\n".join(out) + "\n"
    return zpl_font_download() + zpl if include_font else zpl
