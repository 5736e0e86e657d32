"""Bulk import of special equipment from CSV or XLSX, like the elevators' (registry/importing.py):
every row checked, a per-row error report, valid rows inserted or updated by register code in one
write. Class-specific attributes come in columns named `attr.<name>` (e.g. `attr.rated_pressure_mpa`),
typed by the class's schema and validated by it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.equipment.classes import EquipmentClass, code_problems, equipment_class
from registry.equipment.models import Equipment, EquipmentStatus
from registry.equipment.service import completed
from registry.importing import (
    NO,
    YES,
    Fail,
    ImportReport,
    check_coordinates,
    check_dates,
    check_organisations,
    check_record,
    read_rows,
)
from registry.models import District, Organisation

ATTR = "attr."
COLUMNS = (
    "equipment_class",
    "register_code",
    "name",
    "address",
    "district_code",
    "lat",
    "lon",
    "use_unit_code",
    "maintenance_unit_code",
    "manufacturer_code",
    "installer_code",
    "model",
    "factory_number",
    "use_certificate_no",
    "place_category",
    "key_place",
    "installed_on",
    "last_inspected_on",
    "next_inspection_due",
    "inspection_cycle_months",
)
REQUIRED = ("equipment_class", "register_code", "name", "address", "district_code", "use_unit_code")
ALIASES = {
    "设备类别": "equipment_class",
    "设备代码": "register_code",
    "设备注册代码": "register_code",
    "设备名称": "name",
    "设备地址": "address",
    "安装地址": "address",
    "区县代码": "district_code",
    "纬度": "lat",
    "经度": "lon",
    "使用单位编码": "use_unit_code",
    "维保单位编码": "maintenance_unit_code",
    "制造单位编码": "manufacturer_code",
    "安装单位编码": "installer_code",
    "型号": "model",
    "出厂编号": "factory_number",
    "使用登记证编号": "use_certificate_no",
    "场所类别": "place_category",
    "重点场所": "key_place",
    "安装日期": "installed_on",
    "上次检验日期": "last_inspected_on",
    "下次检验日期": "next_inspection_due",
    "检验周期(月)": "inspection_cycle_months",
    "检验周期": "inspection_cycle_months",
}
DATES = ("installed_on", "last_inspected_on", "next_inspection_due")


def read_equipment_rows(data: bytes, filename: str) -> list[dict[str, Any]]:
    return read_rows(data, filename, columns=COLUMNS, aliases=ALIASES, required=REQUIRED, prefixes=(ATTR,))


@dataclass(frozen=True)
class KnownReferences:
    districts: set[str]
    orgs: dict[str, tuple[int, str]]
    province_prefix: str | None


def _attribute(value: Any, schema: dict[str, Any]) -> Any:
    """A cell as the type its schema asks for; ValueError when it cannot be one."""
    match schema.get("type"):
        case "integer":
            number = float(value)
            if number != int(number):
                raise ValueError("must be a whole number")
            return int(number)
        case "number":
            return float(value)
        case "boolean":
            text = str(value).strip().lower()
            if text in YES or text in NO:
                return text in YES
            raise ValueError("must be 是/否 (yes/no)")
    return str(value).strip()


def _check_attributes(row: dict[str, Any], cls: EquipmentClass, clean: dict[str, Any], fail: Fail) -> None:
    properties = cls.attributes["properties"]
    attributes: dict[str, Any] = {}
    unreadable: set[str] = set()  # cells already reported: not "required" again
    for column, value in row.items():
        if not column.startswith(ATTR) or value in (None, ""):
            continue
        name = column[len(ATTR) :]
        try:
            attributes[name] = _attribute(value, properties.get(name, {}))
        except (TypeError, ValueError, OverflowError) as err:
            fail(column, str(err) if "must" in str(err) else "must be a number")
            unreadable.add(f"'{name}'")
    for where, messages in cls.attribute_errors(attributes).items():
        for message in messages:
            if where == "attributes" and any(name in message for name in unreadable):
                continue
            fail(ATTR + where if where != "attributes" else "attributes", message)
    clean["attributes"] = attributes


def check_equipment_row(row: dict[str, Any], known: KnownReferences) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    def fail(column: str, message: str) -> None:
        errors.setdefault(column, []).append(message)

    for column in REQUIRED:
        if row.get(column) in (None, ""):
            fail(column, "required")
    cls = equipment_class(str(row.get("equipment_class") or ""))
    if cls is None and row.get("equipment_class") not in (None, ""):
        fail("equipment_class", f"unknown class {row['equipment_class']}")
    code = str(row.get("register_code") or "").strip()
    if cls is not None:
        clean["equipment_class"] = cls.key
        if code:
            for problem in code_problems(code, cls, known.province_prefix):
                fail("register_code", problem)
        _check_attributes(row, cls, clean, fail)
    clean["register_code"] = code
    for column, length in (("name", 120), ("address", 200)):
        clean[column] = str(row.get(column) or "").strip()[:length]
    district = str(row.get("district_code") or "").strip()
    if district and district not in known.districts:
        fail("district_code", f"unknown district {district}")
    clean["district_code"] = district
    check_coordinates(row, clean, fail)
    check_dates(row, clean, fail, DATES)
    check_organisations(row, known.orgs, clean, fail)
    check_record(row, clean, fail)
    cycle = row.get("inspection_cycle_months")
    if cycle not in (None, ""):
        try:
            clean["inspection_cycle_months"] = int(float(cycle))
            if not 1 <= clean["inspection_cycle_months"] <= 120:
                fail("inspection_cycle_months", "must be between 1 and 120")
        except (TypeError, ValueError, OverflowError):
            fail("inspection_cycle_months", "must be a whole number of months")
    return {k: v for k, v in clean.items() if v is not None}, errors


def import_equipment(
    session: Session, rows: list[dict[str, Any]], *, now: datetime, dry_run: bool = False, province_prefix: str | None
) -> ImportReport:
    """Check every row; unless `dry_run`, insert new register codes and update known ones (a retired
    record is refused: it is history). Rows with errors are reported and left out."""
    known = KnownReferences(
        set(session.scalars(select(District.code))),
        {
            code: (oid, kind)
            for oid, code, kind in session.execute(select(Organisation.id, Organisation.code, Organisation.kind))
        },
        province_prefix,
    )
    report = ImportReport()
    seen: dict[str, int] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if not row:
            continue
        report.rows += 1
        clean, errors = check_equipment_row(row, known)
        code = clean.get("register_code")
        if code and code in seen:
            errors.setdefault("register_code", []).append(f"repeats row {seen[code]}")
        if errors:
            report.errors.append({"row": number, "errors": errors})
            continue
        seen[code] = number
        good.append((number, clean))
    codes = [clean["register_code"] for _, clean in good]
    existing = {
        e.register_code: e for e in session.scalars(select(Equipment).where(Equipment.register_code.in_(codes)))
    }
    writes: list[tuple[Equipment | None, dict[str, Any]]] = []
    for number, clean in good:
        current = existing.get(clean["register_code"])
        if current is not None and current.status == EquipmentStatus.RETIRED:
            report.errors.append(
                {"row": number, "errors": {"register_code": ["retired: a retired record is not changed"]}}
            )
            continue
        if current is not None and current.equipment_class != clean["equipment_class"]:
            message = f"already registered as {current.equipment_class}"
            report.errors.append({"row": number, "errors": {"equipment_class": [message]}})
            continue
        writes.append((current, clean))
    report.errors.sort(key=lambda e: e["row"])
    if dry_run:
        return report
    for current, clean in writes:
        if current is None:
            fields = completed(clean)
            session.add(Equipment(status=EquipmentStatus.IN_USE, created_at=now, updated_at=now, **fields))
            report.created += 1
        else:
            for key, value in completed(clean, current).items():
                setattr(current, key, value)
            current.updated_at = now
            report.updated += 1
    session.flush()
    return report
