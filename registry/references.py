"""Whether the register rows a new or changed record names exist (and are of the right kind)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from registry.models import District, Elevator, Organisation, OrgKind

# Field -> the organisation kind it must name (None: any organisation).
_ORGANISATIONS: tuple[tuple[str, OrgKind | None], ...] = (
    ("use_unit_id", OrgKind.USE_UNIT),
    ("maintenance_unit_id", OrgKind.MAINTENANCE_UNIT),
    ("organisation_id", None),
    ("manufacturer_id", OrgKind.MANUFACTURER),
    ("installer_id", OrgKind.INSTALLER),
)


def unknown_references(session: Session, fields: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per field, why its reference is refused; empty when every named district, organisation and
    elevator exists."""
    errors: dict[str, list[str]] = {}
    district = fields.get("district_code")
    if district and session.get(District, district) is None:
        errors["district_code"] = [f"unknown district {district}"]
    for key, kind in _ORGANISATIONS:
        if fields.get(key) is not None:
            org = session.get(Organisation, fields[key])
            if org is None or (kind is not None and org.kind != kind):
                errors[key] = [f"no {kind or 'organisation'} with id {fields[key]}"]
    elevator = fields.get("elevator_id")
    if elevator and session.get(Elevator, elevator) is None:
        errors["elevator_id"] = [f"no elevator with id {elevator}"]
    return errors
