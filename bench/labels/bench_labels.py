"""Label throughput against the cost of the barcode and QR images alone.

Run: .venv/bin/python bench/labels/bench_labels.py [--n 1000] [--repeats 5]

"Floor" is the work no label renderer can avoid: encoding the Code 128 and the QR for
each item. It is measured two ways, as SVG images (what the HTML label inlines) and as
PNG images. Caches are cleared before every timed run so no run reuses another's QR.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labels import codes  # noqa: E402
from labels.label import (  # noqa: E402
    Address,
    LabelData,
    Party,
    render_label_pdf,
    render_label_zpl,
)
from labels.s10 import make_item_id  # noqa: E402


def make_batch(n: int) -> list[LabelData]:
    out = []
    for i in range(n):
        item_id = make_item_id("EB", 10_000_000 + i)
        out.append(
            LabelData(
                item_id=item_id,
                service="dossier" if i % 2 else "result",
                tracking_url=f"https://hoso.vnpost.vn/t/{item_id}",
                sender=Party(
                    "Nguyễn Thị Hương",
                    "0912345678",
                    Address("Số 12 ngõ 34 đường Nguyễn Đăng Đạo", "Phường Kinh Bắc", "Bắc Ninh"),
                ),
                recipient=Party(
                    "Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
                    "02223822558",
                    Address("Số 11 đường Lý Thái Tổ", "Phường Kinh Bắc", "Bắc Ninh"),
                ),
                destination_office="Bộ phận một cửa - Trung tâm PVHCC tỉnh Bắc Ninh",
                procedure_name="Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
                seal_number=f"NP-{i:07d}",
                weight_g=350,
                amount_to_collect_vnd=26000,
                date=dt.date(2025, 7, 14),
                post_office="Bưu cục Kinh Bắc - Bắc Ninh",
            )
        )
    return out


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        codes.qr_matrix.cache_clear()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def warm_up(fn: Callable[[], object], batch: list[LabelData]) -> None:
    """One untimed pass on a slice: imports, font parsing and other first-call costs."""
    saved = batch[:]
    del batch[20:]
    try:
        fn()
    finally:
        batch[:] = saved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    batch = make_batch(args.n)

    def floor_svg() -> None:
        for d in batch:
            codes.code128_svg(d.item_id)
            codes.qr_svg(d.tracking_url)

    def floor_png() -> None:
        for d in batch:
            codes.code128_png(d.item_id, dpi=203)
            codes.qr_png(d.tracking_url)

    def pdf_roll() -> None:
        render_label_pdf(batch, layout="roll")

    def pdf_a4() -> None:
        render_label_pdf(batch, layout="a4")

    def zpl() -> None:
        for d in batch:
            render_label_zpl(d, dpi=203)

    results = {}
    for name, fn in (
        ("floor: Code128 + QR as SVG", floor_svg),
        ("floor: Code128 + QR as PNG", floor_png),
        ("PDF, roll (1 label/page)", pdf_roll),
        ("PDF, A4 (4 labels/sheet)", pdf_a4),
        ("ZPL, 203 dpi", zpl),
    ):
        warm_up(fn, batch)
        results[name] = statistics.median(timed(fn, args.repeats))

    floor = min(results["floor: Code128 + QR as SVG"], results["floor: Code128 + QR as PNG"])
    print(
        f"batch of {args.n} labels, median of {args.repeats} runs, Python {sys.version.split()[0]}"
    )
    print(f"{'what':34} {'seconds':>8} {'labels/s':>9} {'x floor':>8}")
    for name, secs in results.items():
        print(f"{name:34} {secs:8.3f} {args.n / secs:9.0f} {secs / floor:8.2f}")


if __name__ == "__main__":
    main()
