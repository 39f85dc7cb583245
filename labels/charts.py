"""Small trend charts as SVG text: drawn on the server, so they need no network and no
script, print as they show, and go into the monthly PDF as they are (fpdf2 reads SVG).

Pure: plain values in, markup out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str  # under the axis (only some are printed when there are many)
    rate: float | None  # 0..1; None = nothing measured in that bucket (a gap, not a zero)
    total: int


def rate_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    goal: float | None = None,
    width: int = 360,
    height: int = 140,
    lower_is_better: bool = False,
) -> str:
    """Bars of a rate per bucket on a 0–100 % axis, a dashed goal line, labels that thin
    out as buckets grow. Each bar carries its figure in a <title> for a hover."""
    left, right, top, bottom = 30, 6, 16, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(bars))
    step = plot_w / n
    bar_w = max(1.0, step * 0.7)
    every = max(1, -(-n // 8))  # at most about 8 labels
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'class="chart">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        f'stroke="#bbb" stroke-width="0.5"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<text x="{left - 3}" y="{y + 3:.1f}" font-size="8" text-anchor="end" '
            f'fill="#555">{int(frac * 100)}%</text>'
        )
    for i, bar in enumerate(bars):
        x = left + i * step + (step - bar_w) / 2
        if bar.rate is not None:
            h = plot_h * max(0.0, min(1.0, bar.rate))
            good = goal is None or (bar.rate <= goal if lower_is_better else bar.rate >= goal)
            colour = "#2e7d32" if good else "#c62828"
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 0.5):.1f}" fill="{colour}"><title>{escape(bar.label)}: '
                f"{bar.rate * 100:.1f}% ({bar.total})</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" font-size="8" '
                f'text-anchor="middle" fill="#555">{escape(bar.label)}</text>'
            )
    if goal is not None:
        y = top + plot_h * (1 - goal)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#1565c0" stroke-dasharray="3,2" stroke-width="1"/>'
        )
    if not any(b.rate is not None for b in bars):
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" font-size="10" '
            f'text-anchor="middle" fill="#777">—</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
