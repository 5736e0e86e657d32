"""The fields of a record that sources report and the register tracks, and their values as the
sources' table stores them (JSON: dates as ISO text) and back."""

from __future__ import annotations

from datetime import date
from typing import Any

from registry.equipment.models import Equipment
from registry.models import Elevator

ELEVATOR, EQUIPMENT = "elevator", "equipment"
RECORDS: dict[str, type[Elevator] | type[Equipment]] = {ELEVATOR: Elevator, EQUIPMENT: Equipment}
_SHARED = (
    "address",
    "district_code",
    "lat",
    "lon",
    "installed_on",
    "use_unit_id",
    "maintenance_unit_id",
    "next_inspection_due",
    "manufacturer_id",
    "model",
    "factory_number",
    "installer_id",
    "use_certificate_no",
    "place_category",
    "key_place",
)
TRACKED: dict[str, tuple[str, ...]] = {
    ELEVATOR: (*_SHARED, "floors", "rated_load_kg", "rated_speed"),
    EQUIPMENT: (*_SHARED, "name", "last_inspected_on", "inspection_cycle_months"),
}
# The file column a field is read from, where the names differ (organisations come by their code).
COLUMN_OF = {
    "use_unit_id": "use_unit_code",
    "maintenance_unit_id": "maintenance_unit_code",
    "manufacturer_id": "manufacturer_code",
    "installer_id": "installer_code",
}
ORGANISATION_FIELDS = frozenset(COLUMN_OF)

# Who reports: the provincial platform's export, maintenance units' systems, inspection results,
# and the register's own edits (an admin's change or a regulator's decision).
PROVINCIAL, MAINTENANCE, INSPECTION, LOCAL = "provincial", "maintenance", "inspection", "local"
SOURCES = (PROVINCIAL, MAINTENANCE, INSPECTION, LOCAL)
IMPORTED_SOURCES = (PROVINCIAL, MAINTENANCE, INSPECTION)


def stored(value: Any) -> Any:
    """A field's value as the sources' table keeps it."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def field_value(record_type: str, field: str, value: Any) -> Any:
    """A stored value as the record's column takes it (dates from ISO text)."""
    column = RECORDS[record_type].__table__.columns[field]
    if value is not None and column.type.python_type is date:
        return date.fromisoformat(value)
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as stored; 3 and 3.0 are the same number."""
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return float(a) == float(b)
    return stored(a) == stored(b)
