"""Reads for the reports, always inside a user's (or a regulator's) scope. No side effects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy import case as when
from sqlalchemy.orm import Session, aliased

from detectors.models import ElevatorRisk
from engine.models import Case, ProcessDefinition
from engine.timeline import verify_chain
from engine.timeline_store import links_of
from infra.errors import NotFound
from infra.settings import CITY_TZ
from processes.case_service import case_by_number, case_tasks, visible_case
from processes.catalogue import CASE_TYPES
from processes.rescue import metric_steps
from processes.sla_state import milestone_states
from processes.visibility import cases_visible
from registry.models import District, Elevator, Organisation, OrgKind
from registry.scope import Scope, elevators_visible
from reports.case_sections import CaseReport, form_rows, photo_rows, timeline_rows, unit_names
from reports.display import case_titles, local
from reports.figures import CaseFacts, RescueFigures, rescue_figures
from reports.models import StoredReport


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) local dates as UTC instants."""
    lo = datetime.combine(start, time(0), tzinfo=CITY_TZ).astimezone(UTC)
    hi = datetime.combine(end, time(0), tzinfo=CITY_TZ).astimezone(UTC)
    return lo, hi


def district_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(District.code, District.name)).all())


def scope_label(session: Session, scope: Scope) -> str:
    if scope.city_wide:
        city = session.scalar(select(Organisation.name).where(Organisation.kind == OrgKind.CITY_REGULATOR).limit(1))
        return (city or "全市").replace("市场监督管理局", "") or "全市"
    if scope.district_code and scope.organisation_kind == OrgKind.DISTRICT_REGULATOR:
        return district_names(session).get(scope.district_code, scope.district_code)
    if scope.organisation_id is not None:
        org = session.get(Organisation, scope.organisation_id)
        return org.name if org else "—"
    return "—"


def _parse_milestones(raw: dict[str, Any] | None) -> dict[str, datetime]:
    out = {}
    for step, value in (raw or {}).items():
        try:
            out[step] = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            continue  # a malformed entry is left out rather than failing the whole report
    return out


def period_cases(session: Session, scope: Scope, start: date, end: date) -> list[CaseFacts]:
    lo, hi = local_bounds(start, end)
    stmt = (
        select(
            Case.id,
            Case.number,
            Case.case_type,
            Case.status,
            func.coalesce(Case.district_code, Elevator.district_code),
            Elevator.maintenance_unit_id,
            Case.opened_at,
            Case.closed_at,
            Case.close_reason,
            Case.escalation_level,
            Case.milestones,
        )
        .outerjoin(Elevator, Elevator.id == Case.elevator_id)
        .where(cases_visible(scope), Case.opened_at >= lo, Case.opened_at < hi)
        .order_by(Case.id)
    )
    return [
        CaseFacts(
            id=r[0],
            number=r[1],
            case_type=r[2],
            status=r[3],
            district_code=r[4],
            maintenance_unit_id=r[5],
            opened_at=r[6],
            closed_at=r[7],
            close_reason=r[8],
            escalation_level=r[9] or 1,
            milestones=_parse_milestones(r[10]),
        )
        for r in session.execute(stmt)
    ]


def rescue_report(session: Session, scope: Scope, start: date, end: date) -> RescueFigures:
    cases = period_cases(session, scope, start, end)
    units = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT)
        ).all()
    )
    unit_elevators = dict(
        session.execute(
            select(Elevator.maintenance_unit_id, func.count())
            .where(elevators_visible(scope))
            .group_by(Elevator.maintenance_unit_id)
        ).all()
    )
    return rescue_figures(
        cases,
        start=start,
        end=end,
        steps=metric_steps(),
        titles=case_titles(),
        district_names=district_names(session),
        unit_names=units,
        unit_elevators=unit_elevators,
    )


# -- one case ----------------------------------------------------------------------------------
def case_report(session: Session, scope: Scope, ref: int | str, *, now: datetime, upload_dir: Path) -> CaseReport:
    case = visible_case(session, scope, ref) if isinstance(ref, int) else case_by_number(session, scope, ref)
    elevator = session.get(Elevator, case.elevator_id) if case.elevator_id else None
    use_unit, maintenance_unit = unit_names(session, elevator)
    district_code = case.district_code or (elevator.district_code if elevator else None)
    broken = verify_chain(case.id, links_of(session, case.id), case.timeline_head, case.timeline_seq)
    events = timeline_rows(session, case.id)
    tasks = case_tasks(session, case.id)
    titles = {t.bpmn_id: t.title for t in tasks}
    milestones = CASE_TYPES[case.case_type].milestones if case.case_type in CASE_TYPES else {}
    return CaseReport(
        case=case,
        type_title=case_titles().get(case.case_type, case.case_type),
        elevator=elevator,
        district=district_names(session).get(district_code or "", district_code or ""),
        use_unit=use_unit,
        maintenance_unit=maintenance_unit,
        chain_ok=broken is None,
        chain_message="完整（哈希链校验通过）" if broken is None else f"异常：{broken}",
        events=events,
        sla=[(titles.get(m.task, m.milestone), m) for m in milestone_states(milestones, tasks, now)],
        forms=form_rows(tasks, session.get_one(ProcessDefinition, case.definition_id).forms),
        photos=photo_rows(session, case.id, upload_dir),
    )


# -- elevators ---------------------------------------------------------------------------------
def risk_report(session: Session, scope: Scope, *, limit: int = 50) -> dict[str, Any]:
    """The highest-risk elevators in scope with their factors, and the count per level."""
    use_unit, maint = aliased(Organisation), aliased(Organisation)
    rows = session.execute(
        select(ElevatorRisk, Elevator, use_unit.name, maint.name)
        .join(Elevator, Elevator.id == ElevatorRisk.elevator_id)
        .join(use_unit, use_unit.id == Elevator.use_unit_id)
        .join(maint, maint.id == Elevator.maintenance_unit_id)
        .where(elevators_visible(scope))
        .order_by(ElevatorRisk.score.desc(), Elevator.id)
        .limit(limit)
    ).all()
    levels = dict(
        session.execute(
            select(ElevatorRisk.level, func.count())
            .join(Elevator, Elevator.id == ElevatorRisk.elevator_id)
            .where(elevators_visible(scope))
            .group_by(ElevatorRisk.level)
        ).all()
    )
    scored_at = session.scalar(
        select(func.max(ElevatorRisk.scored_at))
        .join(Elevator, Elevator.id == ElevatorRisk.elevator_id)
        .where(elevators_visible(scope))
    )
    names = district_names(session)
    return {
        "levels": [(lvl, label, levels.get(lvl, 0)) for lvl, label in RISK_LEVELS],
        "scored": sum(levels.values()),
        "scored_at": local(scored_at),
        "model_version": rows[0][0].model_version if rows else "",
        "rows": [
            {
                "rank": i,
                "register_code": e.register_code,
                "address": e.address,
                "district": names.get(e.district_code, e.district_code),
                "use_unit": uu,
                "maintenance_unit": mu,
                "score": round(r.score, 1),
                "level": dict(RISK_LEVELS).get(r.level, r.level),
                "factors": [
                    f"{f.get('label') or f.get('factor')}：{f.get('value')}（+{float(f.get('contribution') or 0):.1f}）"
                    for f in (r.factors or [])[:4]
                    if isinstance(f, dict)
                ],
            }
            for i, (r, e, uu, mu) in enumerate(rows, start=1)
        ],
    }


RISK_LEVELS = (("critical", "极高"), ("high", "高"), ("medium", "中"), ("low", "低"))


def _inspection_by_district(
    session: Session, scope: Scope, today: date, maintenance_cycle_days: int, names: dict[str, str]
) -> list[dict[str, Any]]:
    """Per district: elevators, inspections expired / due within 30 / within 60 days / unknown,
    maintenance overdue, stopped from use."""
    soon = today + timedelta(days=30)
    later = today + timedelta(days=60)
    # Maintained before the start of the day `cycle` days ago: the 15-day cycle (sla.toml) has lapsed.
    maint_cutoff = datetime.combine(today - timedelta(days=maintenance_cycle_days), time(0), tzinfo=CITY_TZ)
    due = Elevator.next_inspection_due
    base = select(
        Elevator.district_code,
        func.count(),
        func.sum(_int(due < today)),
        func.sum(_int((due >= today) & (due < soon))),
        func.sum(_int((due >= soon) & (due < later))),
        func.sum(_int(due.is_(None))),
        func.sum(_int(Elevator.last_maintenance_at < maint_cutoff)),
        func.sum(_int(Elevator.stop_use.is_(True))),
    ).where(elevators_visible(scope))
    return [
        {
            "district": names.get(code, code),
            "total": total,
            "expired": int(expired or 0),
            "within_30": int(in30 or 0),
            "within_60": int(in60 or 0),
            "unknown": int(unknown or 0),
            "maintenance_overdue": int(maint_late or 0),
            "stop_use": int(stopped or 0),
        }
        for code, total, expired, in30, in60, unknown, maint_late, stopped in session.execute(
            base.group_by(Elevator.district_code).order_by(Elevator.district_code)
        )
    ]


def _totals(per_district: list[dict[str, Any]]) -> dict[str, Any]:
    """The 合计 line: each count summed over the districts (nothing without a district)."""
    if not per_district:
        return {}
    totals: dict[str, Any] = {k: sum(r[k] for r in per_district) for k in per_district[0] if k != "district"}
    totals["district"] = "合计"
    return totals


def _inspection_overdue(
    session: Session, scope: Scope, today: date, limit: int, names: dict[str, str]
) -> list[dict[str, Any]]:
    """The elevators whose inspection has expired, longest overdue first."""
    use_unit = aliased(Organisation)
    rows = session.execute(
        select(Elevator, use_unit.name)
        .join(use_unit, use_unit.id == Elevator.use_unit_id)
        .where(elevators_visible(scope), Elevator.next_inspection_due < today)
        .order_by(Elevator.next_inspection_due, Elevator.id)
        .limit(limit)
    ).all()
    return [
        {
            "register_code": e.register_code,
            "address": e.address,
            "district": names.get(e.district_code, e.district_code),
            "use_unit": uu,
            "due": e.next_inspection_due.isoformat() if e.next_inspection_due else "",
            "days": (today - e.next_inspection_due).days if e.next_inspection_due else 0,
            "stop_use": e.stop_use,
        }
        for e, uu in rows
    ]


def inspection_report(
    session: Session, scope: Scope, *, today: date, limit: int = 100, maintenance_cycle_days: int = 15
) -> dict[str, Any]:
    """Periodic-inspection and maintenance status of the elevators in scope, as of `today` (local)."""
    names = district_names(session)
    per_district = _inspection_by_district(session, scope, today, maintenance_cycle_days, names)
    overdue = _inspection_overdue(session, scope, today, limit, names)
    open_cases = dict(
        session.execute(
            select(Case.case_type, func.count())
            .where(cases_visible(scope), Case.status == "open", Case.case_type.in_(["expiry", "rectification"]))
            .group_by(Case.case_type)
        ).all()
    )
    return {
        "today": today.isoformat(),
        "maintenance_cycle_days": maintenance_cycle_days,
        "districts": per_district,
        "totals": _totals(per_district),
        "overdue": overdue,
        "open_expiry_cases": open_cases.get("expiry", 0),
        "open_rectification_cases": open_cases.get("rectification", 0),
    }


def _int(condition: Any) -> Any:
    return when((condition, 1), else_=0)


# -- stored reports ----------------------------------------------------------------------------
def stored_reports_visible(scope: Scope) -> ColumnElement[bool]:
    """A district regulator sees its district's reports; city-wide scopes see all; others none."""
    if scope.city_wide and scope.reads_cases:
        return true()
    if scope.organisation_kind == OrgKind.DISTRICT_REGULATOR and scope.district_code:
        return StoredReport.district_code == scope.district_code
    return false()


def visible_report(session: Session, scope: Scope, report_id: int) -> StoredReport:
    found = session.scalar(select(StoredReport).where(StoredReport.id == report_id, stored_reports_visible(scope)))
    if found is None:
        raise NotFound(f"report {report_id} not found")
    return found
