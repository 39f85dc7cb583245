"""One PDF from a dossier's page images, with a Vietnamese text layer when Tesseract is here.

The images go into the PDF as they are (img2pdf embeds a JPEG's bytes without re-encoding,
so nothing is lost twice). The text layer is Tesseract's own text-only PDF of each page
(``textonly_pdf=1``: invisible glyphs placed where the words are), laid under the page's
image with pikepdf and scaled to it — the way OCRmyPDF does it. Without Tesseract, or
without its Vietnamese data, the PDF is made without a text layer: that is recorded, not
refused. The same pages in the same order give the same bytes (no dates, a deterministic
document ID), so a copy made twice hashes the same.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import img2pdf
import pikepdf

log = logging.getLogger(__name__)

# The resolution both the PDF and Tesseract assume: a phone photo of an A4 page scaled to
# 1,600 px on its long side is about 140 dpi, close enough for the page to print at A4.
PAGE_DPI = 150


@dataclass(frozen=True)
class Assembled:
    pdf: bytes
    # "tesseract 5.3.0 vie" when the text layer was made; None when it was not.
    text_layer: str | None


@lru_cache(maxsize=4)
def tesseract_for(languages: str) -> str | None:
    """'tesseract <version> <languages>' when Tesseract and all those languages are here."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True,
                                timeout=30, check=False)  # fmt: skip
        version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    have = set(listed.stdout.split())
    if not all(lang in have for lang in languages.split("+")):
        log.warning("digitising.ocr_language_missing", extra={"languages": languages})
        return None
    first = (version.stdout or version.stderr).split("\n", 1)[0].split()
    return f"tesseract {first[-1] if first else '?'} {languages}"


def _text_only_page(image: bytes, languages: str, timeout: float) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="hoso-ocr-") as tmp:
        source = Path(tmp) / "page.img"
        source.write_bytes(image)
        out = Path(tmp) / "page"
        # One thread per Tesseract: the pages themselves run side by side.
        done = subprocess.run(
            ["tesseract", str(source), str(out), "-l", languages, "--dpi", str(PAGE_DPI),
             "-c", "textonly_pdf=1", "pdf"],
            capture_output=True, timeout=timeout, check=False,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        )  # fmt: skip
        result = out.with_suffix(".pdf")
        if done.returncode != 0 or not result.exists():
            log.warning(
                "digitising.ocr_failed",
                extra={"stderr": done.stderr[-300:].decode(errors="replace")},
            )
            return None
        return result.read_bytes()


def assemble(
    pages: Sequence[bytes],
    *,
    ocr_languages: str | None = "vie",
    ocr_timeout_seconds: float = 120.0,
    workers: int = 2,
) -> Assembled:
    """The PDF of ``pages`` (JPEG or PNG bytes, in order)."""
    identity = b"".join(hashlib.sha256(p).digest() for p in pages)
    layout = img2pdf.get_fixed_dpi_layout_fun((PAGE_DPI, PAGE_DPI))
    base = img2pdf.convert(list(pages), layout_fun=layout, nodate=True)
    engine = tesseract_for(ocr_languages) if ocr_languages else None
    if engine is None or ocr_languages is None:
        return Assembled(pdf=_normalised(base, identity), text_layer=None)
    languages = ocr_languages
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        layers = list(pool.map(lambda p: _text_only_page(p, languages, ocr_timeout_seconds), pages))
    if any(layer is None for layer in layers):
        # A page Tesseract could not read: the copy is still made, without a text layer, so
        # the layer never claims words for some pages and silently lacks others.
        return Assembled(pdf=_normalised(base, identity), text_layer=None)
    with pikepdf.open(io.BytesIO(base)) as pdf:
        for page, layer in zip(pdf.pages, layers, strict=True):
            assert layer is not None
            with pikepdf.open(io.BytesIO(layer)) as text_pdf:
                _lay_under(pdf, page, text_pdf.pages[0])
        return Assembled(pdf=_save(pdf, identity + engine.encode()), text_layer=engine)


def _lay_under(pdf: pikepdf.Pdf, page: pikepdf.Page, text_page: pikepdf.Page) -> None:
    """``text_page`` as a form drawn before (under) the image, scaled to the page. Named
    here rather than by pikepdf's ``add_underlay``, whose random resource name would make
    the same pages hash differently each time."""
    form = pdf.copy_foreign(text_page.as_form_xobject())
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name("/HosoText"))
    box = pikepdf.Rectangle(*(float(v) for v in page.mediabox))
    draw = page.calc_form_xobject_placement(form, name, box)
    page.contents_add(pikepdf.Stream(pdf, b"q\n" + bytes(draw) + b"\nQ\n"), prepend=True)


def _normalised(data: bytes, identity: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return _save(pdf, identity)


def _save(pdf: pikepdf.Pdf, identity: bytes) -> bytes:
    """Saved with an ID of our own, made from the inputs: qpdf's own "deterministic" ID
    came out different for the same pages once a text layer was copied in."""
    pdf.docinfo["/Producer"] = "hoso"
    ident = pikepdf.String(hashlib.sha256(identity).digest()[:16])
    pdf.trailer.ID = pikepdf.Array([ident, ident])
    out = io.BytesIO()
    pdf.save(out, static_id=True, compress_streams=True)
    return out.getvalue()
