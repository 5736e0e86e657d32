"""Case list and timeline exports: CSV and XLSX round trips, the console's filters, the scope, and
cells that would run as spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from demo.report_data import SampleCase, insert_month
from demo.scenarios import SCENARIOS, an_elevator, complete, wait
from engine.models import Case, TimelineEvent
from infra.clock import SimulatedClock
from infra.settings import CITY_TZ
from processes.case_service import CaseFilters
from processes.intake import open_or_join
from processes.system import System
from registry.models import OrgKind, Role
from registry.scope import Scope
from reports.exports import CASE_COLUMNS, EVENT_COLUMNS, case_rows, export_cases, export_timelines
from tests.support.system import START, make_system

CITY = Scope(0, "auditor", frozenset({Role.AUDITOR}), None, OrgKind.PLATFORM, None)


def district_scope(code: str) -> Scope:
    return Scope(0, "reg", frozenset({Role.REGULATOR}), None, OrgKind.DISTRICT_REGULATOR, code)


@dataclass
class Data:
    system: System
    clock: SimulatedClock
    sample: list[SampleCase]
    engine_cases: list[Case]
    overdue_id: int


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    tmp = tmp_path_factory.mktemp("exports")
    clock = SimulatedClock(START)
    system = make_system(f"sqlite:///{tmp / 'x.sqlite3'}", clock, elevators=150)
    SCENARIOS["rescue"](system, clock)
    SCENARIOS["warning"](system, clock)
    overdue_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system, urban=False), signal={}
    ).case_id
    complete(system, overdue_id, "verify_dispatch", {"outcome": "dispatch", "trapped_count": 1, "injured": False}, "d")
    wait(system, clock, timedelta(minutes=7))  # nobody accepts: the accept task is past due
    with system.sessions() as session, session.begin():
        sample = insert_month(session, cases=300, start=date(2026, 10, 1), end=date(2026, 11, 1), seed=3)
    with system.sessions() as session:
        engine_cases = list(session.scalars(select(Case).where(Case.number.not_like("%-S%"))))
    yield Data(system, clock, sample, engine_cases, overdue_id)
    system.db.dispose()


def rows(data: Data, scope: Scope, f: CaseFilters) -> list[dict]:
    with data.system.sessions() as session:
        return case_rows(session, scope, f, data.clock.now())


def test_filters_match_independent_counts(data: Data) -> None:
    rescues = sum(c.case_type == "rescue" for c in data.sample) + sum(
        c.case_type == "rescue" for c in data.engine_cases
    )
    got = rows(data, CITY, CaseFilters(case_type="rescue"))
    assert len(got) == rescues and {r["type"] for r in got} == {"困人救援"}

    in_702 = sum(c.district_code == "511702" for c in data.sample) + sum(
        c.district_code == "511702" for c in data.engine_cases
    )
    got = rows(data, CITY, CaseFilters(district="511702"))
    assert len(got) == in_702 and {r["district"] for r in got} == {"通川区"}

    overdue = rows(data, CITY, CaseFilters(overdue=True))
    number = next(c.number for c in data.engine_cases if c.id == data.overdue_id)
    assert [r["number"] for r in overdue] == [number] and overdue[0]["overdue"] == "是"

    lo = datetime(2026, 10, 10, tzinfo=CITY_TZ)
    hi = datetime(2026, 10, 20, tzinfo=CITY_TZ)
    got = rows(data, CITY, CaseFilters(opened_from=lo.astimezone(UTC), opened_to=hi.astimezone(UTC), status="open"))
    want = sorted(c.number for c in data.sample if lo <= c.opened_at < hi and c.status == "open")
    assert sorted(r["number"] for r in got) == want and want
    assert all(r["status"] == "办理中" for r in got)


def test_scope_limits_the_export(data: Data) -> None:
    got = rows(data, district_scope("511703"), CaseFilters())
    want = sum(c.district_code == "511703" for c in data.sample) + sum(
        c.district_code == "511703" for c in data.engine_cases
    )
    assert len(got) == want and {r["district"] for r in got} == {"达川区"}
    nobody = Scope(0, "analyst", frozenset({Role.ANALYST}), None, OrgKind.PLATFORM, None)
    assert rows(data, nobody, CaseFilters()) == []


def test_case_list_round_trips_through_csv_and_xlsx(data: Data) -> None:
    f = CaseFilters(district="511702")
    want = rows(data, CITY, f)
    with data.system.sessions() as session:
        as_csv = export_cases(session, CITY, f, fmt="csv", now=data.clock.now())
        as_xlsx = export_cases(session, CITY, f, fmt="xlsx", now=data.clock.now())
    assert as_csv.startswith("\ufeff".encode())  # Excel reads the Chinese as UTF-8
    parsed = list(csv.reader(io.StringIO(as_csv.decode("utf-8-sig"))))
    assert parsed[0] == [label for _, label in CASE_COLUMNS]
    assert parsed[1:] == [[str(r[k]) for k, _ in CASE_COLUMNS] for r in want]

    sheet = load_workbook(io.BytesIO(as_xlsx), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == [label for _, label in CASE_COLUMNS]
    assert values[1:] == [[r[k] if r[k] != "" else None for k, _ in CASE_COLUMNS] for r in want]
    # Times are Beijing time: the first scenario case opened 01:30 UTC.
    engine_rows = [r for r in want if r["number"].startswith("JY-2026")]
    if engine_rows:
        assert engine_rows[0]["opened_at"].endswith("09:30:00")


def test_timelines_export_every_event_with_its_hashes(data: Data) -> None:
    f = CaseFilters(case_type="rescue", opened_from=START - timedelta(hours=1))
    with data.system.sessions() as session:
        as_csv = export_timelines(session, CITY, f, fmt="csv", now=data.clock.now())
        as_xlsx = export_timelines(session, CITY, f, fmt="xlsx", now=data.clock.now())
        stored = session.execute(
            select(Case.number, TimelineEvent.seq, TimelineEvent.hash, TimelineEvent.prev_hash)
            .join(Case, Case.id == TimelineEvent.case_id)
            .where(Case.case_type == "rescue", Case.opened_at >= START - timedelta(hours=1))
            .order_by(Case.opened_at, Case.id, TimelineEvent.seq)
        ).all()
    parsed = list(csv.DictReader(io.StringIO(as_csv.decode("utf-8-sig"))))
    assert [(r["案件编号"], int(r["序号"]), r["哈希"], r["前序哈希"]) for r in parsed] == [tuple(s) for s in stored]
    sheet = load_workbook(io.BytesIO(as_xlsx), read_only=True).active
    xlsx_rows = list(sheet.iter_rows(values_only=True))
    assert xlsx_rows[0] == tuple(label for _, label in EVENT_COLUMNS)
    assert [(r[0], r[1], r[8]) for r in xlsx_rows[1:]] == [(s[0], s[1], s[2]) for s in stored]


def test_formula_like_cells_are_defused(data: Data) -> None:
    number = data.sample[0].number
    with data.system.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.number == number).values(close_reason='=HYPERLINK("http://x")'))
    f = CaseFilters(number=number)
    with data.system.sessions() as session:
        as_csv = export_cases(session, CITY, f, fmt="csv", now=data.clock.now())
        as_xlsx = export_cases(session, CITY, f, fmt="xlsx", now=data.clock.now())
        with pytest.raises(ValueError, match="format must be one of"):
            export_cases(session, CITY, f, fmt="pdf", now=data.clock.now())
    row = next(csv.DictReader(io.StringIO(as_csv.decode("utf-8-sig"))))
    assert row["结案原因"] == '\'=HYPERLINK("http://x")'
    cell = load_workbook(io.BytesIO(as_xlsx)).active["L2"]
    assert cell.value == '\'=HYPERLINK("http://x")' and cell.data_type == "s"
