"""Making reports and sending them: the only module here with side effects (stored rows, notices).

The scheduler runs `reports_weekly` (Mondays 06:00) and `reports_monthly` (the 1st, 06:30) on the
city's clock; each only enqueues the job `make_scheduled_reports`, which renders one report per
kind and scope (every district regulator's district, and the city), stores it and puts a notice
with its link in the inbox of that regulator organisation's users.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from connectors.notify.jobs import SEND as SEND_NOTIFICATIONS
from engine.models import Notification
from infra.periodic import Periodic
from infra.settings import CITY_TZ
from processes.sla import load_sla
from processes.system import System
from registry.models import Organisation, OrgKind, Role, User
from registry.scope import Scope
from reports import render, service
from reports.models import StoredReport

log = logging.getLogger(__name__)

PERIOD_KINDS: dict[str, tuple[str, ...]] = {"week": ("rescue",), "month": ("rescue", "inspection", "risk")}
KIND_FILE = {"rescue": "rescue", "inspection": "inspection", "risk": "risk"}


def report_link(report_id: int) -> str:
    return f"/api/v1/reports/{report_id}/file"


def previous_period(period: str, today: date) -> tuple[date, date]:
    """The last whole week (Monday to Monday) or calendar month before `today` (local dates)."""
    if period == "week":
        start = today - timedelta(days=today.weekday() + 7)
        return start, start + timedelta(days=7)
    if period == "month":
        end = today.replace(day=1)
        return (end - timedelta(days=1)).replace(day=1), end
    raise ValueError(f"period must be week or month, not {period!r}")


def regulator_scope(org: Organisation) -> Scope:
    """What a regulator of `org` sees: its district, or the whole city."""
    return Scope(
        user_id=0,
        username="scheduler",
        roles=frozenset({Role.REGULATOR}),
        organisation_id=org.id,
        organisation_kind=org.kind,
        district_code=org.district_code,
    )


def regulator_organisations(session: Session) -> list[Organisation]:
    """Each district's regulator (the first by id) and the city's, city last."""
    seen: set[str | None] = set()
    found = []
    for org in session.scalars(
        select(Organisation)
        .where(Organisation.kind.in_([OrgKind.DISTRICT_REGULATOR, OrgKind.CITY_REGULATOR]))
        .order_by(Organisation.kind.desc(), Organisation.district_code, Organisation.id)
    ):
        key = None if org.kind == OrgKind.CITY_REGULATOR else org.district_code
        if key not in seen:
            seen.add(key)
            found.append(org)
    return sorted(found, key=lambda o: o.kind == OrgKind.CITY_REGULATOR)


def cycle_days(sla_file: Path | None) -> int:
    return int(load_sla(sla_file)["expiry"]["maintenance_cycle_days"]) if sla_file else 15


def render_kind(
    session: Session,
    scope: Scope,
    kind: str,
    period: str,
    start: date,
    end: date,
    now: datetime,
    sla_file: Path | None = None,
    *,
    header: str,
) -> render.Rendered:
    """`header`: the city profile's report header, on every page."""
    label = service.scope_label(session, scope)
    match kind:
        case "rescue":
            figures = service.rescue_report(session, scope, start, end)
            return render.rescue_pdf(figures, scope_label=label, period=period, generated=now, header=header)
        case "inspection":
            data = service.inspection_report(
                session, scope, today=end - timedelta(days=1), maintenance_cycle_days=cycle_days(sla_file)
            )
            return render.inspection_pdf(data, scope_label=label, generated=now, header=header)
        case "risk":
            data = service.risk_report(session, scope)
            return render.risk_pdf(data, scope_label=label, generated=now, header=header)
    raise ValueError(f"unknown report kind {kind!r}")


def store(
    session: Session,
    rendered: render.Rendered,
    *,
    kind: str,
    period: str,
    start: date,
    end: date,
    district_code: str | None,
    scope_label: str,
    now: datetime,
    created_by: str,
    dedupe_key: str | None = None,
) -> StoredReport:
    row = StoredReport(
        kind=kind,
        period=period,
        period_start=start,
        period_end=end,
        district_code=district_code,
        scope_label=scope_label,
        title=rendered.title,
        filename=f"{KIND_FILE.get(kind, kind)}-{district_code or 'city'}-{start:%Y%m%d}-{period}.pdf",
        content_type="application/pdf",
        content=rendered.pdf,
        size=len(rendered.pdf),
        sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        pages=rendered.pages,
        dedupe_key=dedupe_key,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def notify_regulators(session: Session, org: Organisation, report: StoredReport, now: datetime) -> list[int]:
    """An inbox notice with the report's link for every active regulator of `org`."""
    users = session.scalars(
        select(User).where(User.organisation_id == org.id, User.active.is_(True)).order_by(User.id)
    ).all()
    rows = [
        {
            "case_id": None,
            "role": Role.REGULATOR,
            "organisation_id": org.id,
            "user_id": u.id,
            "channel": "inbox",
            "subject": f"{report.title}已生成"[:200],
            "body": f"{report.title}（{report.period_start} 至 {report.period_end - timedelta(days=1)}）："
            f"{report_link(report.id)}",
            "dedupe_key": f"report:{report.id}:{u.id}:inbox",
            "status": "queued",
            "attempts": 0,
            "created_at": now,
        }
        for u in users
        if Role.REGULATOR in (u.roles or [])
    ]
    if not rows:
        return []
    return list(session.scalars(insert(Notification).returning(Notification.id), rows))


@dataclass(frozen=True)
class RunResult:
    made: list[int]
    skipped: list[str]  # dedupe keys already made by an earlier run
    failed: list[tuple[str, str]]  # (dedupe key, error)


def make_scheduled_reports(system, period: str, today: date, kinds: Sequence[str] | None = None) -> RunResult:  # type: ignore[no-untyped-def]
    """Render, store and send every scope's reports of the period before `today`. One scope's
    failure is logged and reported, never stops the others; a rerun skips what exists."""
    start, end = previous_period(period, today)
    kinds = tuple(kinds or PERIOD_KINDS[period])
    made: list[int] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    with system.sessions() as session:
        orgs = regulator_organisations(session)
    for org in orgs:
        district = None if org.kind == OrgKind.CITY_REGULATOR else org.district_code
        for kind in kinds:
            key = f"{kind}:{period}:{start.isoformat()}:{district or 'city'}"
            try:
                with system.sessions() as session, session.begin():
                    if session.scalar(select(StoredReport.id).where(StoredReport.dedupe_key == key)) is not None:
                        skipped.append(key)
                        continue
                    scope = regulator_scope(org)
                    now = system.clock.now()
                    rendered = render_kind(
                        session,
                        scope,
                        kind,
                        period,
                        start,
                        end,
                        now,
                        system.settings.sla_file,
                        header=system.settings.city_profile.report_header,
                    )
                    report = store(
                        session,
                        rendered,
                        kind=kind,
                        period=period,
                        start=start,
                        end=end,
                        district_code=district,
                        scope_label=service.scope_label(session, scope),
                        now=now,
                        created_by="scheduler",
                        dedupe_key=key,
                    )
                    ids = notify_regulators(session, org, report, now)
                    made.append(report.id)
            except Exception as err:  # one bad scope must not cost the others their reports
                log.exception("report %s failed", key)
                failed.append((key, repr(err)))
                continue
            if ids:
                system.jobs.enqueue(SEND_NOTIFICATIONS, ids)
    return RunResult(made, skipped, failed)


MAKE_REPORTS = "make_scheduled_reports"


def make_scheduled_reports_job(system: System, period: str, today_iso: str) -> list[int]:
    result = make_scheduled_reports(system, period, date.fromisoformat(today_iso))
    if result.failed:
        raise RuntimeError(f"{len(result.failed)} report(s) failed: {result.failed}")  # rq retries the rest
    return result.made


def _enqueue(system: System, period: str) -> None:
    today = system.clock.now().astimezone(CITY_TZ).date()
    system.jobs.enqueue(MAKE_REPORTS, period, today.isoformat())


def reports_weekly(system: System) -> None:
    _enqueue(system, "week")


def reports_monthly(system: System) -> None:
    _enqueue(system, "month")


WEEKLY = Periodic("reports_weekly", reports_weekly, {"day_of_week": "mon", "hour": 6, "minute": 0})
MONTHLY = Periodic("reports_monthly", reports_monthly, {"day": 1, "hour": 6, "minute": 30})
