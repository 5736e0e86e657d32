"""Visit records from a paperless maintenance system (电子维保), as CSV or JSON: each row checked
on its own and reported with its errors, the valid ones written in one transaction; rows already
imported (same source, maintenance unit and record id) are skipped, so a file can be sent again.

Columns (CSV header or JSON keys): register_code, maintained_on (YYYY-MM-DD), record_id (the
source's id), technician, periods (half_monthly;quarterly;...), results (JSON object item code
-> result, or items: codes done separated by ;), photos (references separated by ;), note.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from processes import expiry_scan
from processes.maintenance import checklist
from processes.maintenance.flows import cycle_days, write_visit
from processes.maintenance.models import MaintenanceVisit
from processes.maintenance.service import VisitRefused
from processes.system import System
from registry.models import Elevator, Role
from registry.scope import Scope, elevators_visible

MAX_ROWS = 20_000
COLUMNS = ("register_code", "maintained_on", "record_id", "technician", "periods", "results", "items", "photos", "note")
ALIASES = {
    "设备注册代码": "register_code",
    "维保日期": "maintained_on",
    "维保记录编号": "record_id",
    "维保人员": "technician",
    "维保类型": "periods",
    "维保项目": "items",
    "照片": "photos",
    "备注": "note",
}
PERIOD_ALIASES = {"半月": "half_monthly", "季度": "quarterly", "半年": "half_yearly", "年度": "yearly"}


class VisitFileError(ValueError):
    """The file as a whole cannot be read."""


@dataclass
class VisitImportReport:
    rows: int = 0
    created: int = 0
    skipped: int = 0  # already imported
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"row": n, "errors": {column: [msg]}}

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "skipped": self.skipped, "errors": self.errors}


def read_visit_rows(data: bytes, filename: str) -> list[dict[str, Any]]:
    """Rows as {column: value}; JSON: a list of objects or {"visits": [...]}."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as err:
            raise VisitFileError("the file is neither UTF-8 nor GB18030 text") from err
    if filename.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as err:
            raise VisitFileError(f"not valid JSON: {err}") from err
        rows = parsed.get("visits") if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list):
            raise VisitFileError('JSON: a list of visit objects, or {"visits": [...]}')
        out: list[dict[str, Any]] = [
            {ALIASES.get(str(k), str(k)): v for k, v in r.items()} if isinstance(r, dict) else {"_bad": r} for r in rows
        ]
    else:
        values = list(csv.reader(io.StringIO(text)))
        if not values:
            raise VisitFileError("the file is empty")
        header = [ALIASES.get(h.strip(), h.strip()) for h in values[0]]
        missing = [c for c in ("register_code", "maintained_on", "record_id") if c not in header]
        if missing:
            raise VisitFileError(f"missing columns: {', '.join(missing)} (expected: {', '.join(COLUMNS)})")
        out = [{h: v for h, v in zip(header, raw, strict=False)} if any(raw) else {} for raw in values[1:]]
    if len(out) > MAX_ROWS:
        raise VisitFileError(f"at most {MAX_ROWS} rows per file")
    return out


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value or "").replace("；", ";").split(";") if p.strip()]


def check_row(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The row's clean values and its errors by column (the register is checked by the caller)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "_bad" in row:
        return clean, {"row": ["each visit is a JSON object"]}
    for column in ("register_code", "record_id"):
        value = str(row.get(column) or "").strip()
        if not value:
            errors[column] = ["required"]
        clean[column] = value
    if len(clean["record_id"]) > 80:
        errors["record_id"] = ["at most 80 characters"]
    try:
        clean["maintained_on"] = date.fromisoformat(str(row.get("maintained_on") or "").strip()[:10])
    except ValueError:
        errors["maintained_on"] = ["a date, YYYY-MM-DD"]
    periods = [PERIOD_ALIASES.get(p, p) for p in _split(row.get("periods"))]
    known = [p["key"] for p in checklist.periods()]
    if any(p not in known for p in periods):
        errors["periods"] = [f"each one of {', '.join(known)}"]
    clean["periods"] = tuple(periods)
    results = row.get("results")
    if isinstance(results, str) and results.strip():
        try:
            results = json.loads(results)
        except json.JSONDecodeError:
            errors["results"] = ['a JSON object, item code -> result ({"A1-01": "ok"})']
    if results in (None, ""):
        results = {code: "ok" for code in _split(row.get("items"))}
    if not isinstance(results, dict):
        errors.setdefault("results", ['a JSON object, item code -> result ({"A1-01": "ok"})'])
        results = {}
    for key, messages in checklist.check_results(results, []).items():
        errors.setdefault(key, []).extend(messages)
    clean["results"] = results
    clean["technician"] = str(row.get("technician") or "")[:60]
    clean["photos"] = _split(row.get("photos"))[:20]
    clean["note"] = str(row.get("note") or "")[:1000]
    return clean, errors


def import_visits(system: System, scope: Scope, rows: list[dict[str, Any]], *, source: str) -> VisitImportReport:
    """Write the valid rows (in date order per elevator, so each answers the due date the one
    before it left), report the others; then the maintenance-overdue cases they settle close.
    A maintenance unit imports its own elevators' visits only."""
    report = VisitImportReport()
    now = system.clock.now()
    checked: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        if not row:
            continue
        report.rows += 1
        clean, errors = check_row(row)
        if not errors and clean["record_id"] in seen:
            errors["record_id"] = ["this record id appears twice in the file"]
        seen.add(clean.get("record_id", ""))
        if errors:
            report.errors.append({"row": n, "errors": errors})
        else:
            checked.append((n, clean))
    touched: set[int] = set()
    with system.sessions() as session, session.begin():
        codes = {c["register_code"] for _, c in checked}
        elevators = {
            e.register_code: e
            for e in session.scalars(
                select(Elevator).where(Elevator.register_code.in_(codes), elevators_visible(scope))
            )
        }
        # Record ids are the source system's, per maintenance unit (two units may use one vendor).
        done = {
            (unit, record)
            for unit, record in session.execute(
                select(MaintenanceVisit.maintenance_unit_id, MaintenanceVisit.external_id).where(
                    MaintenanceVisit.source == source,
                    MaintenanceVisit.external_id.in_([c["record_id"] for _, c in checked]),
                )
            )
        }
        cycle = cycle_days(system)
        for n, clean in sorted(checked, key=lambda nc: (nc[1]["register_code"], nc[1]["maintained_on"], nc[0])):
            elevator = elevators.get(clean["register_code"])
            if elevator is None:
                report.errors.append(
                    {"row": n, "errors": {"register_code": ["no elevator with this code in your scope"]}}
                )
                continue
            if not scope.has(Role.ADMIN) and elevator.maintenance_unit_id != scope.organisation_id:
                report.errors.append(
                    {"row": n, "errors": {"register_code": ["another maintenance unit maintains this elevator"]}}
                )
                continue
            if (elevator.maintenance_unit_id, clean["record_id"]) in done:
                report.skipped += 1
                continue
            try:
                with session.begin_nested():
                    write_visit(
                        session,
                        elevator,
                        maintained_on=clean["maintained_on"],
                        results=clean["results"],
                        cycle=cycle,
                        now=now,
                        actor=scope.username,
                        technician=clean["technician"],
                        photos=clean["photos"],
                        note=clean["note"],
                        source=source,
                        external_id=clean["record_id"],
                        require_all=False,
                        declared_periods=clean["periods"],
                    )
            except VisitRefused as err:
                report.errors.append({"row": n, "errors": err.errors})
                continue
            report.created += 1
            touched.add(elevator.id)
    report.errors.sort(key=lambda e: e["row"])
    if touched:
        expiry_scan.register_changed(system, touched, record_no=f"import:{source}"[:60])
    return report
