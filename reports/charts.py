"""Small inline SVG charts for the PDF reports (bars with their values written on them).

Own code because the need is tiny (two chart shapes) and WeasyPrint draws inline SVG natively;
a plotting library would bring far more than it gives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

FONT = "Noto Sans CJK SC, sans-serif"
BAR = "#2f6db5"
AXIS = "#555"


def _text(x: float, y: float, s: str, size: float = 9, anchor: str = "middle", fill: str = "#222") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-family="{FONT}" fill="{fill}">{escape(s)}</text>'
    )


def bar_chart(
    items: Sequence[tuple[str, float]], *, title: str = "", width: int = 520, height: int = 190, unit: str = ""
) -> str:
    """Vertical bars, one per (label, value); the value is written above each bar."""
    top, bottom, left, right = (22 if title else 8), 26, 10, 10
    plot_h = height - top - bottom
    n = max(len(items), 1)
    slot = (width - left - right) / n
    peak = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    if title:
        parts.append(_text(width / 2, 14, title, size=10.5))
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{AXIS}" stroke-width="0.8"/>')
    for i, (label, value) in enumerate(items):
        h = plot_h * 0.88 * (value / peak)
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{BAR}"/>')
        shown = f"{value:g}{unit}"
        parts.append(_text(x + w / 2, base - h - 3, shown, size=8))
        parts.append(_text(x + w / 2, base + 12, label, size=8))
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(items: Sequence[tuple[str, float]], *, title: str = "", width: int = 520, unit: str = "") -> str:
    """Horizontal bars for labelled counts (case types, districts)."""
    row = 18
    top = 22 if title else 6
    label_w = 110
    height = top + row * max(len(items), 1) + 6
    peak = max((v for _, v in items), default=0) or 1
    span = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    if title:
        parts.append(_text(width / 2, 14, title, size=10.5))
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = span * (value / peak)
        parts.append(_text(label_w - 6, y + 12, label, size=9, anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{BAR}"/>')
        parts.append(_text(label_w + w + 4, y + 12, f"{value:g}{unit}", size=8.5, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)
