"""QR images of an elevator's public page (`{base}/r/{code}`), SVG and PNG, with segno."""

from __future__ import annotations

import io

import segno


def page_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


def qr_svg(url: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    # error level M: survives a scratch or a sticker corner on a car wall
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=True, svgns=True)
    return out.getvalue()


def qr_png(url: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
