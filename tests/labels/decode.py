"""Rasterise and decode helpers for round-trip tests."""

from __future__ import annotations

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image


def pdf_pages(pdf: bytes, dpi: int = 203) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72).to_pil() for i in range(len(doc))]
    finally:
        doc.close()


def pdf_text(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def decoded(image: Image.Image) -> dict[str, list[str]]:
    """Decoded symbols by kind: {"code128": [...], "qr": [...]}."""
    out: dict[str, list[str]] = {"code128": [], "qr": []}
    for result in zxingcpp.read_barcodes(image):
        if result.format == zxingcpp.BarcodeFormat.Code128:
            out["code128"].append(result.text)
        elif result.format == zxingcpp.BarcodeFormat.QRCode:
            out["qr"].append(result.text)
    return out
