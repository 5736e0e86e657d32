"""Scheduled reports: the weekly job renders one report per district and one for the city, stores
each with its SHA-256, and puts a notice with the link in every regulator's inbox; a rerun makes
nothing twice; one failing report does not stop the others."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from demo.report_data import insert_month
from engine.models import Notification
from infra.clock import SimulatedClock
from liftcase.bootstrap import PERIODIC
from registry.models import District, Organisation, OrgKind, Role, User
from reports.flows import make_scheduled_reports, previous_period, reports_weekly
from reports.models import StoredReport
from tests.support.system import make_system


def test_previous_period() -> None:
    assert previous_period("week", date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 23))
    assert previous_period("week", date(2026, 11, 25)) == (date(2026, 11, 16), date(2026, 11, 23))
    assert previous_period("month", date(2026, 12, 1)) == (date(2026, 11, 1), date(2026, 12, 1))
    assert previous_period("month", date(2027, 1, 1)) == (date(2026, 12, 1), date(2027, 1, 1))
    cron = {p.name: p.cron for p in PERIODIC}
    assert cron["reports_weekly"] == {"day_of_week": "mon", "hour": 6, "minute": 0}
    assert cron["reports_monthly"] == {"day": 1, "hour": 6, "minute": 30}


def test_weekly_reports_are_stored_and_sent_to_regulators(
    sqlite_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    system = make_system(sqlite_url, clock, elevators=120)
    with system.sessions() as session, session.begin():
        sample = insert_month(session, cases=150, start=date(2026, 11, 16), end=date(2026, 11, 23), seed=5)
    try:
        reports_weekly(system)  # the scheduler's entry: enqueues the job, which runs in-process here
        with system.sessions() as session:
            reports = session.scalars(select(StoredReport).order_by(StoredReport.id)).all()
            districts = set(session.scalars(select(District.code)))
            regulators = session.execute(
                select(User.id, User.organisation_id, Organisation.district_code, Organisation.kind)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(Organisation.kind.in_([OrgKind.DISTRICT_REGULATOR, OrgKind.CITY_REGULATOR]))
            ).all()
            regulator_ids = {u.id for u in session.scalars(select(User)) if Role.REGULATOR in (u.roles or [])}
            notices = session.scalars(select(Notification).where(Notification.case_id.is_(None))).all()
        assert {r.district_code for r in reports} == districts | {None}
        assert len(reports) == len(districts) + 1
        for r in reports:
            assert (r.kind, r.period, r.period_start, r.period_end) == (
                "rescue",
                "week",
                date(2026, 11, 16),
                date(2026, 11, 23),
            )
            assert r.content.startswith(b"%PDF") and r.pages >= 1
            assert r.sha256 == hashlib.sha256(r.content).hexdigest() and r.size == len(r.content)
        city = next(r for r in reports if r.district_code is None)
        path = tmp_path / "city.pdf"
        path.write_bytes(city.content)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        assert "达州市电梯应急救援周报" in text.replace(" ", "")
        assert "2026年11月16日 至 2026年11月22日" in text
        rescues = sum(c.case_type == "rescue" for c in sample)
        assert f"{rescues}" in text

        # Every regulator of each regulator organisation got exactly one notice per report of its scope.
        by_report = {r.id: r for r in reports}
        expected = {
            (uid, next(r.id for r in reports if r.district_code == (None if kind == OrgKind.CITY_REGULATOR else code)))
            for uid, _org, code, kind in regulators
            if uid in regulator_ids
        }
        got = set()
        for n in notices:
            report_id = int(n.dedupe_key.split(":")[1])
            got.add((n.user_id, report_id))
            assert n.channel == "inbox" and n.role == Role.REGULATOR
            assert f"/api/v1/reports/{report_id}/file" in n.body
            assert by_report[report_id].title in n.subject
        assert got == expected and len(notices) == len(expected)
        assert {n.status for n in notices} == {"sent"}

        again = make_scheduled_reports(system, "week", date(2026, 11, 23))
        assert again.made == [] and len(again.skipped) == len(reports) and again.failed == []
        with system.sessions() as session:
            assert session.scalar(select(func.count()).select_from(StoredReport)) == len(reports)
            assert session.scalar(select(func.count()).select_from(Notification)) >= len(notices)
            assert session.scalar(
                select(func.count()).select_from(Notification).where(Notification.case_id.is_(None))
            ) == len(notices)
    finally:
        system.db.dispose()


def test_one_failing_report_does_not_stop_the_others(sqlite_url: str, clock: SimulatedClock) -> None:
    system = make_system(sqlite_url, clock, elevators=60)
    try:
        result = make_scheduled_reports(system, "month", date(2026, 12, 1), kinds=("no_such_kind", "risk"))
        with system.sessions() as session:
            districts = session.scalar(select(func.count()).select_from(District))
            kinds = set(session.scalars(select(StoredReport.kind)))
        assert len(result.failed) == districts + 1 and all("unknown report kind" in e for _, e in result.failed)
        assert len(result.made) == districts + 1 and kinds == {"risk"}
    finally:
        system.db.dispose()
