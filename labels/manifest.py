"""The bag manifest (bảng kê túi gói): what a sealed bag carries, from where to where, under
which seals, closed by whom. Printed to travel with the bag and kept as PDF evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf.fonts import FontFace

from labels.documents import (
    _CONTENT_W,
    _HEAD,
    _field,
    _header,
    _new_pdf,
    _section,
    _signatures,
)
from labels.fonts import FAMILY
from labels.s10 import format_item_id
from vntime import vn_stamp


@dataclass(frozen=True, slots=True)
class ManifestLine:
    item_id: str
    kind: str  # "dossier" or "result"
    seal_number: str | None  # the envelope's own seal (the dossier's, taken at pickup)
    destination: str  # the office or citizen's commune the item goes to


@dataclass(frozen=True, slots=True)
class BagManifest:
    bag_code: str
    seal_number: str | None
    origin: str
    destination: str | None
    sealed_by: str | None
    sealed_at: dt.datetime | None
    lines: Sequence[ManifestLine]


_KINDS = {"dossier": "Hồ sơ / Dossier", "result": "Kết quả / Result"}


def render_bag_manifest(manifest: BagManifest) -> bytes:
    pdf = _new_pdf(f"Bảng kê túi {manifest.bag_code}")
    _header(
        pdf, manifest.origin, "BẢNG KÊ TÚI GÓI / BAG MANIFEST", format_item_id(manifest.bag_code)
    )
    _field(pdf, "Túi / Bag", format_item_id(manifest.bag_code))
    _field(
        pdf, "Số niêm phong túi / Bag seal", manifest.seal_number or "Chưa niêm phong / Not sealed"
    )
    _field(pdf, "Nơi đi / From", manifest.origin)
    _field(pdf, "Nơi đến / To", manifest.destination or "Chưa ghi / Not set")
    _field(pdf, "Người đóng túi / Closed by", manifest.sealed_by or "—")
    _field(
        pdf,
        "Thời gian đóng / Closed at",
        vn_stamp(manifest.sealed_at) if manifest.sealed_at else "—",
    )
    _section(pdf, f"Bưu gửi trong túi / Items in the bag: {len(manifest.lines)}")
    pdf.set_font(FAMILY, "", 9)
    with pdf.table(
        col_widths=(10, 42, 30, 34, 64),
        text_align=("CENTER", "LEFT", "LEFT", "LEFT", "LEFT"),
        headings_style=_HEAD,
        line_height=5,
    ) as table:
        head = table.row()
        for text in ("STT", "Mã bưu gửi / Item", "Loại / Kind", "Niêm phong / Seal",
                     "Nơi nhận / Destination"):  # fmt: skip
            head.cell(text)
        for i, line in enumerate(manifest.lines, 1):
            row = table.row()
            row.cell(str(i))
            row.cell(format_item_id(line.item_id))
            row.cell(_KINDS.get(line.kind, line.kind))
            row.cell(line.seal_number or "—")
            row.cell(line.destination)
        row = table.row(style=FontFace(emphasis="BOLD"))
        row.cell("")
        row.cell(f"Cộng / Total: {len(manifest.lines)}")
    pdf.set_font(FAMILY, "", 9)
    pdf.ln(2)
    pdf.multi_cell(_CONTENT_W, 5, "Bên nhận kiểm tra niêm phong túi trước khi mở. / The receiver "
                   "checks the bag's seal before opening it.")  # fmt: skip
    _signatures(
        pdf,
        (
            ("Người đóng túi / Closed by", manifest.sealed_by or "", None),
            ("Bên nhận / Received by", "", None),
        ),
    )
    return bytes(pdf.output())
