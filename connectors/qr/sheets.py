"""Printable signs (A5, one per page) with the unified rescue sign and the elevator's QR code, in
three variants: the car (for passengers), the pit and the machine room (for technicians, who scan
to report from where they stand). Rendered with WeasyPrint; Chinese text needs a CJK font
(fonts-noto-cjk, installed by the Makefile)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from connectors.qr.images import page_url, qr_svg
from registry.models import Elevator, Organisation

VARIANTS: dict[str, dict[str, str]] = {
    "car": {
        "title": "电梯应急救援",
        "lead": "被困请保持冷静，不要扒门。扫码一键救援或拨打 {hotline}",
        "en": "Trapped? Stay calm. Scan to call rescue, or dial {hotline}.",
    },
    "pit": {
        "title": "底坑 · 检修安全",
        "lead": "进入底坑前切断急停开关。扫码查看电梯信息、报告故障",
        "en": "Pit: switch off the stop switch before entering. Scan for the elevator's facts.",
    },
    "machine_room": {
        "title": "机房重地 · 闲人免进",
        "lead": "维保人员扫码查看电梯信息；紧急情况拨打 {hotline}",
        "en": "Machine room: authorised staff only. Scan for the elevator's facts; emergencies {hotline}.",
    },
}
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Sign:
    variant: dict[str, str]
    register_code: str
    qr_code: str
    address: str
    maintenance_unit: str
    maintenance_phone: str
    qr_data_uri: str
    url: str


def signs(
    session: Session,
    base_url: str,
    *,
    district: str,
    variants: Iterable[str],
    visible: ColumnElement[bool] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Sign]:
    query = (
        select(Elevator, Organisation)
        .join(Organisation, Organisation.id == Elevator.maintenance_unit_id)
        .where(Elevator.district_code == district, visible if visible is not None else true())
        .order_by(Elevator.register_code)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    out: list[Sign] = []
    chosen = list(variants)
    for elevator, maint in session.execute(query):
        url = page_url(base_url, elevator.qr_code)
        svg = base64.b64encode(qr_svg(url, scale=4)).decode("ascii")
        for name in chosen:
            out.append(
                Sign(
                    VARIANTS[name],
                    elevator.register_code,
                    elevator.qr_code,
                    elevator.address,
                    maint.name,
                    maint.phone or "",
                    f"data:image/svg+xml;base64,{svg}",
                    url,
                )
            )
    return out


def render_pdf(items: list[Sign], *, hotline: str) -> bytes:
    """The signs as one PDF; `hotline`: the city profile's rescue number, printed on every sign."""
    from weasyprint import HTML  # heavy import: only when a sheet is asked for

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    signed = [replace(s, variant={k: v.format(hotline=hotline) for k, v in s.variant.items()}) for s in items]
    html = env.get_template("qr/sheet.html").render(signs=signed, hotline=hotline)
    return HTML(string=html).write_pdf()


def parse_variants(value: str | None) -> list[str]:
    """ "all" or a comma list; ValueError naming the unknown one."""
    if not value or value == "all":
        return list(VARIANTS)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown sign variant {unknown[0]!r}; choose from {', '.join(VARIANTS)} or all")
    return names
