"""Case lists and case timelines as CSV or XLSX, with the console's filters (`CaseFilters`), in a scope.

Times are written in Asia/Shanghai. A cell that a spreadsheet would run as a formula (it starts
with = + - @ or a control character) is prefixed with an apostrophe: an exported address or
form answer must not become a formula on an auditor's machine.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from engine.models import Case, TimelineEvent
from processes.case_service import CaseFilters, case_query, overdue_condition
from processes.timelines import summarize
from registry.models import District, Elevator, Organisation
from registry.scope import Scope
from reports.display import STATUS_LABELS, case_titles, local

FORMATS = ("csv", "xlsx")
CASE_COLUMNS = (
    ("number", "案件编号"),
    ("type", "案件类型"),
    ("status", "状态"),
    ("priority", "优先级"),
    ("district", "区县"),
    ("register_code", "电梯注册代码"),
    ("address", "地址"),
    ("use_unit", "使用单位"),
    ("maintenance_unit", "维保单位"),
    ("opened_at", "立案时间"),
    ("closed_at", "结案时间"),
    ("close_reason", "结案原因"),
    ("escalation_level", "升级级别"),
    ("overdue", "逾期"),
)
EVENT_COLUMNS = (
    ("number", "案件编号"),
    ("seq", "序号"),
    ("at", "时间"),
    ("kind", "事件"),
    ("actor", "操作人"),
    ("summary", "摘要"),
    ("payload", "内容(JSON)"),
    ("prev_hash", "前序哈希"),
    ("hash", "哈希"),
)


def filtered_ids(scope: Scope, f: CaseFilters, now: datetime) -> Any:
    """The console's own query (processes/case_service.py), so an export lists what the screen lists."""
    return case_query(scope, f, now).with_only_columns(Case.id).subquery()


def case_rows(session: Session, scope: Scope, f: CaseFilters, now: datetime) -> list[dict[str, Any]]:
    ids = filtered_ids(scope, f, now)
    use_unit, maint = aliased(Organisation), aliased(Organisation)
    district = aliased(District)
    is_overdue = overdue_condition(now)
    stmt = (
        select(Case, Elevator, use_unit.name, maint.name, district.name, is_overdue.label("overdue"))
        .join(ids, ids.c.id == Case.id)
        .outerjoin(Elevator, Elevator.id == Case.elevator_id)
        .outerjoin(use_unit, use_unit.id == Elevator.use_unit_id)
        .outerjoin(maint, maint.id == Elevator.maintenance_unit_id)
        .outerjoin(district, district.code == func.coalesce(Case.district_code, Elevator.district_code))
        .order_by(Case.opened_at, Case.id)
    )
    titles = case_titles()
    return [
        {
            "number": c.number,
            "type": titles.get(c.case_type, c.case_type),
            "status": STATUS_LABELS.get(c.status, c.status),
            "priority": c.priority or "",
            "district": dname or "",
            "register_code": e.register_code if e else "",
            "address": e.address if e else "",
            "use_unit": uu or "",
            "maintenance_unit": mu or "",
            "opened_at": local(c.opened_at),
            "closed_at": local(c.closed_at),
            "close_reason": c.close_reason or "",
            "escalation_level": c.escalation_level,
            "overdue": "是" if overdue else "否",
        }
        for c, e, uu, mu, dname, overdue in session.execute(stmt)
    ]


def event_rows(session: Session, scope: Scope, f: CaseFilters, now: datetime) -> Iterator[dict[str, Any]]:
    ids = filtered_ids(scope, f, now)
    stmt = (
        select(Case.number, TimelineEvent)
        .join(ids, ids.c.id == TimelineEvent.case_id)
        .join(Case, Case.id == TimelineEvent.case_id)
        .order_by(Case.opened_at, Case.id, TimelineEvent.seq)
    )
    for number, e in session.execute(stmt):
        yield {
            "number": number,
            "seq": e.seq,
            "at": local(e.at),
            "kind": e.kind,
            "actor": e.actor,
            "summary": summarize(e.kind, e.payload),
            "payload": json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value and (value[0] in "=+-@\t\r" or value[0] < " "):
        return "'" + value
    return value


def to_csv(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([safe_cell(row[key]) for key, _ in columns])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]], sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.freeze_panes = "A2"
    header = []
    for _, label in columns:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([safe_cell(row[key]) for key, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_cases(session: Session, scope: Scope, f: CaseFilters, *, fmt: str, now: datetime) -> bytes:
    """The filtered case list in `fmt` (csv or xlsx)."""
    rows = case_rows(session, scope, f, now)
    return _encode(fmt, CASE_COLUMNS, rows, "案件列表")


def export_timelines(session: Session, scope: Scope, f: CaseFilters, *, fmt: str, now: datetime) -> bytes:
    """Every timeline event of the filtered cases, one row each, with its hash chain fields."""
    return _encode(fmt, EVENT_COLUMNS, event_rows(session, scope, f, now), "案件时间线")


def _encode(fmt: str, columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]], sheet: str) -> bytes:
    if fmt == "csv":
        return to_csv(columns, rows)
    if fmt == "xlsx":
        return to_xlsx(columns, rows, sheet)
    raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
