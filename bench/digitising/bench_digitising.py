"""Digitising a 10-page dossier: what the phone uploads, and the server's time to the PDF.

Run: .venv/bin/python bench/digitising/bench_digitising.py [--pages 10] [--repeats 3]

The pages are rendered A4 forms in Vietnamese, photographed as a 12-megapixel phone camera
would store them (4000×3000 px, JPEG quality 92, with sensor noise so they compress like
photos, not like flat renders). The phone's step is then done here as the courier app does
it in the browser (scale to 1,600 px on the long side, JPEG quality 0.8), with Pillow in
place of the browser's canvas encoder. Timed on the server, as the work is now split: the
request's part (``core.digitising.service.digitise``: the image-only PDF with img2pdf and
its SHA-256) and the worker's part (``core.digitising.text_layer``: the searchable PDF with
Tesseract's Vietnamese text layer and its SHA-256), against a reference measured in the
same run: decoding the same ten uploaded JPEGs with Pillow. No database: the ledger's event
and the rows add a few milliseconds to each side.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.digitising.assemble import assemble, tesseract_for  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CAMERA = (3000, 4000)  # portrait: a page photographed upright
PHONE_SIDE = 1600
PHONE_QUALITY = 80


def camera_photo(number: int, rng: np.random.Generator) -> bytes:
    """An A4 form as a phone camera stores it: text, a grey cast, sensor noise, JPEG 92."""
    page = Image.new("L", CAMERA, 236)
    draw = ImageDraw.Draw(page)
    title = ImageFont.truetype(FONT, 110)
    body = ImageFont.truetype(FONT, 72)
    draw.text((260, 300), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=title, fill=20)
    draw.text((260, 520), f"Tờ khai — trang {number}", font=title, fill=20)
    lines = ["Họ và tên: Nguyễn Thị Hường", "Ngày sinh: 12/03/1986",
             "Địa chỉ: phường Kinh Bắc, tỉnh Bắc Ninh",
             "Nội dung: đề nghị cấp Phiếu lý lịch tư pháp số 1",
             "Mục đích sử dụng: bổ sung hồ sơ xin việc"]  # fmt: skip
    for index, line in enumerate(lines * 4):
        draw.text((260, 900 + index * 140), line, font=body, fill=30)
    noisy = np.asarray(page, dtype=np.int16) + rng.normal(0, 6, (CAMERA[1], CAMERA[0]))
    rgb = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).convert("RGB")
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=92)
    return out.getvalue()


def phone_compress(photo: bytes) -> bytes:
    """What digitise.js does: scale to 1,600 px on the long side, re-encode as JPEG 0.8."""
    with Image.open(io.BytesIO(photo)) as image:
        image.thumbnail((PHONE_SIDE, PHONE_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=PHONE_QUALITY)
        return out.getvalue()


def decode_all(pages: list[bytes]) -> None:
    for page in pages:
        with Image.open(io.BytesIO(page)) as image:
            image.load()


def _hashed(pdf: bytes) -> str:
    return hashlib.sha256(pdf).hexdigest()


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(18)
    photos = [camera_photo(n, rng) for n in range(1, args.pages + 1)]
    uploads = [phone_compress(p) for p in photos]
    camera_kb = sum(map(len, photos)) / 1024
    upload_kb = sum(map(len, uploads)) / 1024
    print(f"{args.pages} pages, camera JPEGs {camera_kb:,.0f} KB; uploaded after the phone's "
          f"compression {upload_kb:,.0f} KB ({upload_kb / args.pages:,.0f} KB a page, "
          f"{camera_kb / upload_kb:.1f}x smaller)")  # fmt: skip
    engine = tesseract_for("vie")
    reference = median_seconds(lambda: decode_all(uploads), args.repeats)
    request = median_seconds(lambda: _hashed(assemble(uploads, ocr_languages=None).pdf),
                             args.repeats)  # fmt: skip
    print(f"reference (decode the {args.pages} uploads with Pillow): {reference:.3f} s")
    print(f"request: image-only PDF (img2pdf) + SHA-256: {request:.3f} s  "
          f"ratio {request / reference:.2f}")  # fmt: skip
    if engine is None:
        print("Tesseract with Vietnamese is not installed: no worker figure")
        return
    made = assemble(uploads, ocr_languages="vie")
    worker = median_seconds(lambda: _hashed(assemble(uploads, ocr_languages="vie").pdf),
                            args.repeats)  # fmt: skip
    print(f"worker: searchable PDF ({engine}, 2 pages at a time) + SHA-256: {worker:.3f} s  "
          f"ratio {worker / reference:.1f}  ({worker / args.pages:.2f} s a page); "
          f"PDF {len(made.pdf) / 1024:,.0f} KB")  # fmt: skip
    print(f"worker / request: {worker / request:.0f}x")
    print(f"medians over {args.repeats} runs")


if __name__ == "__main__":
    main()
