"""The PDF reports render (WeasyPrint, CJK fonts) and say the right things: their text, read back
with pdftotext, holds the Chinese headings and the figures computed here independently from the
test data (statistics.quantiles for the percentiles, plain counts for the rest)."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import statistics
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from demo.report_data import SampleCase, insert_month
from demo.scenarios import SCENARIOS
from detectors.models import ElevatorRisk
from engine.models import Case, CaseTask, TimelineEvent
from infra.clock import SimulatedClock
from infra.errors import NotFound
from processes.attachments import Stored, store_bytes
from processes.models import Attachment
from processes.system import System
from registry.models import District, Elevator, Organisation, OrgKind, Role
from registry.scope import Scope
from reports import render, service
from tests.support.system import START, make_system

OCTOBER = (date(2026, 10, 1), date(2026, 11, 1))
CITY = Scope(0, "test", frozenset({Role.REGULATOR}), None, OrgKind.CITY_REGULATOR, None)
HEADER = "达州市电梯应急救援综合监管平台"  # cities/dazhou.toml [report] header


def png() -> bytes:
    """A real photo-like PNG (RGB, no alpha: one image object in the PDF)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def attach(system: System, case_id: int, data: bytes, filename: str, at: datetime, *, checked: bool = True) -> None:
    """An attachment as an upload stores it, or (checked=False) a file stored as it came, as before
    uploads were decoded and re-encoded: the report must cope with either."""
    if checked:
        stored = store_bytes(system.settings.upload_dir, data, max_bytes=100_000)
    else:
        digest = hashlib.sha256(data).hexdigest()
        stored = Stored(digest, f"{digest[:2]}/{digest}", "image/png", len(data))
        (system.settings.upload_dir / stored.storage_key).parent.mkdir(parents=True, exist_ok=True)
        (system.settings.upload_dir / stored.storage_key).write_bytes(data)
    with system.sessions() as session, session.begin():
        session.add(
            Attachment(
                case_id=case_id,
                kind="evidence",
                filename=filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
                uploaded_by="maint",
                created_at=at,
            )
        )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def compact(text: str) -> str:
    """pdftotext spaces table cells apart; compare without the spacing."""
    return re.sub(r"\s+", "", text)


@dataclass
class City:
    system: System
    clock: SimulatedClock
    rescue_id: int
    sample: list[SampleCase]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    tmp = tmp_path_factory.mktemp("reports")
    clock = SimulatedClock(START)
    system = make_system(f"sqlite:///{tmp / 'city.sqlite3'}", clock, upload_dir=tmp / "uploads")
    rescue_id = SCENARIOS["rescue"](system, clock)
    with system.sessions() as session, session.begin():
        sample = insert_month(session, cases=400, start=OCTOBER[0], end=OCTOBER[1], seed=11)
    attach(system, rescue_id, png(), "到场照片.png", clock.now())
    attach(system, rescue_id, png()[:60], "损坏.png", clock.now(), checked=False)  # truncated: listed, not drawn
    yield City(system, clock, rescue_id, sample)
    system.db.dispose()


def test_case_report_holds_facts_sla_timeline_check_forms_and_photo(city: City, tmp_path: Path) -> None:
    with city.system.sessions() as session:
        data = service.case_report(
            session, CITY, city.rescue_id, now=city.clock.now(), upload_dir=city.system.settings.upload_dir
        )
        rendered = render.case_pdf(data, generated=city.clock.now(), header=HEADER)
    assert rendered.pdf.startswith(b"%PDF") and rendered.pages >= 2
    text = pdf_text(rendered.pdf, tmp_path)
    flat = compact(text)
    for heading in (
        "达州市电梯应急救援综合监管平台",
        "案件概况",
        "时限（SLA）情况",
        "处置记录（时间线）",
        "提交的表单",
    ):
        assert heading in flat, heading
    assert data.case.number in flat and "困人救援" in flat
    assert "哈希链校验：完整" in flat and f"共{len(data.events)}条记录" in flat
    # The scenario accepts at 12 min (limit 5) and arrives at 35 (limit 30): both late, by that much.
    assert "维保接单2026-11-2309:35:002026-11-2309:42:00超时（超7分钟）" in flat
    assert "到达现场2026-11-2310:00:002026-11-2310:05:00超时（超5分钟）" in flat
    # Opened 01:30 UTC: shown as 09:30 Beijing time.
    assert "立案时间2026-11-2309:30:00" in flat
    assert "门锁回路接触不良" in flat  # the cause form's answer
    assert "到场照片.png" in flat and "损坏.png" in flat
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text)
    path = tmp_path / "case.pdf"
    path.write_bytes(rendered.pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) == 3  # header, rule, the one photo


def test_case_report_shows_a_broken_chain(city: City, tmp_path: Path) -> None:
    with city.system.sessions() as session, session.begin():
        event = session.scalar(
            select(TimelineEvent).where(TimelineEvent.case_id == city.rescue_id, TimelineEvent.seq == 3)
        )
        original = dict(event.payload)
        session.execute(
            update(TimelineEvent).where(TimelineEvent.id == event.id).values(payload={**original, "title": "改过"})
        )
    try:
        with city.system.sessions() as session:
            data = service.case_report(
                session, CITY, city.rescue_id, now=city.clock.now(), upload_dir=city.system.settings.upload_dir
            )
        flat = compact(pdf_text(render.case_pdf(data, generated=city.clock.now(), header=HEADER).pdf, tmp_path))
        assert not data.chain_ok
        assert "哈希链校验：异常" in flat and "event#3" in flat
    finally:
        with city.system.sessions() as session, session.begin():
            session.execute(update(TimelineEvent).where(TimelineEvent.id == event.id).values(payload=original))


def test_case_report_outside_the_scope_is_not_found(city: City) -> None:
    with city.system.sessions() as session:
        elevator_id = session.scalar(select(Case.elevator_id).where(Case.id == city.rescue_id))
        own_unit = session.scalar(select(Elevator.maintenance_unit_id).where(Elevator.id == elevator_id))
        tasked = select(CaseTask.organisation_id).where(CaseTask.case_id == city.rescue_id)
        stranger_unit = session.scalar(
            select(Organisation.id).where(
                Organisation.kind == OrgKind.MAINTENANCE_UNIT,
                Organisation.id != own_unit,
                Organisation.id.not_in(tasked),
            )
        )
        stranger = Scope(1, "x", frozenset({Role.MAINTENANCE}), stranger_unit, OrgKind.MAINTENANCE_UNIT, None)
        with pytest.raises(NotFound):
            service.case_report(
                session, stranger, city.rescue_id, now=city.clock.now(), upload_dir=Path("/nonexistent")
            )
        own = Scope(1, "y", frozenset({Role.MAINTENANCE}), own_unit, OrgKind.MAINTENANCE_UNIT, None)
        assert service.case_report(session, own, city.rescue_id, now=city.clock.now(), upload_dir=Path("/x")).events


def expected(sample: list[SampleCase], district: str | None) -> dict[str, object]:
    """The report's figures, computed independently from the generated cases."""
    rescues = [c for c in sample if c.case_type == "rescue" and (district is None or c.district_code == district)]
    arrival = [c.minutes["arrival"] for c in rescues if "arrival" in c.minutes]
    rescue = [c.minutes["rescue"] for c in rescues if "rescue" in c.minutes]
    deciles = statistics.quantiles(arrival, n=10, method="inclusive")
    within = sum(1 for m in arrival if m <= 30)
    return {
        "total": sum(1 for c in sample if district is None or c.district_code == district),
        "rescues": len(rescues),
        "arrival_p50": statistics.median(arrival),
        "arrival_p90": deciles[8],
        "rescue_p50": statistics.median(rescue),
        "rescue_p90": statistics.quantiles(rescue, n=10, method="inclusive")[8],
        "within": within,
        "arrived": len(arrival),
        "level3": sum(1 for c in rescues if c.escalation_level == 3),
    }


@pytest.mark.parametrize("district", [None, "511702"])
def test_monthly_rescue_report_figures_and_pdf(city: City, district: str | None, tmp_path: Path) -> None:
    scope = (
        CITY if district is None else Scope(0, "t", frozenset({Role.REGULATOR}), None, "district_regulator", district)
    )
    want = expected(city.sample, district)
    with city.system.sessions() as session:
        f = service.rescue_report(session, scope, *OCTOBER)
        label = service.scope_label(session, scope)
        district_name = session.scalar(select(District.name).where(District.code == district)) if district else None
    assert f.total == want["total"] and f.rescues == want["rescues"]
    assert f.times["arrival"].p50 == pytest.approx(want["arrival_p50"])
    assert f.times["arrival"].p90 == pytest.approx(want["arrival_p90"])
    assert f.times["rescue"].p50 == pytest.approx(want["rescue_p50"])
    assert f.times["rescue"].p90 == pytest.approx(want["rescue_p90"])
    assert (f.arrived_within_target, f.arrived) == (want["within"], want["arrived"])
    assert f.escalation_levels.get(3, 0) == want["level3"]
    assert sum(r.rescues for r in f.ranking) == want["rescues"]
    assert label == (district_name or "达州市")

    rendered = render.rescue_pdf(
        f, scope_label=label, period="month", generated=datetime(2026, 11, 1, tzinfo=UTC), header=HEADER
    )
    text = pdf_text(rendered.pdf, tmp_path)
    flat = compact(text)
    assert f"{label}电梯应急救援月报" in flat
    for heading in (
        "总体情况",
        "按案件类型统计",
        "困人救援时效",
        "升级处置",
        "维保单位排名",
        "统计期间：2026年10月01日至2026年10月31日",
    ):
        assert heading in flat, heading
    rate = 100 * want["within"] / want["arrived"]  # type: ignore[operator]
    assert f"30分钟到达率：{want['within']}/{want['arrived']}={rate:.1f}%" in flat
    p50, p90 = want["arrival_p50"], want["arrival_p90"]
    assert re.search(rf"到达时间\s+{want['arrived']}\s+{p50:.1f}\s+{p90:.1f}\s", text), (p50, p90)
    best = f.ranking[0]
    assert re.search(rf"\b1\s+{re.escape(best.name)}\s", text)
    assert ("区县情况" in flat) == (district is None)
    assert "<svg" not in text and rendered.pages >= 2


def test_risk_report_lists_the_highest_scores_with_factors(city: City, tmp_path: Path) -> None:
    with city.system.sessions() as session, session.begin():
        lifts = session.scalars(select(Elevator).order_by(Elevator.id).limit(6)).all()
        for i, lift in enumerate(lifts):
            session.add(
                ElevatorRisk(
                    elevator_id=lift.id,
                    score=40.0 + 9 * i,
                    level="critical" if i == 5 else "high" if i >= 3 else "medium",
                    factors=[
                        {"factor": "faults_90d", "label": "近90天故障", "value": i + 1, "contribution": 3.5 * i},
                        {"factor": "age_years", "label": "梯龄", "value": 10 + i, "contribution": 1.0},
                    ],
                    model_version="test-1",
                    scored_at=START,
                )
            )
    with city.system.sessions() as session:
        data = service.risk_report(session, CITY, limit=3)
    flat = compact(pdf_text(render.risk_pdf(data, scope_label="达州市", generated=START, header=HEADER).pdf, tmp_path))
    assert "达州市电梯风险监测报告" in flat and "高风险电梯" in flat
    assert [r["register_code"] for r in data["rows"]] == [
        lifts[5].register_code,
        lifts[4].register_code,
        lifts[3].register_code,
    ]
    top = flat.index(lifts[5].register_code)
    assert top < flat.index(lifts[4].register_code) < flat.index(lifts[3].register_code)
    assert "近90天故障：6（+17.5）" in flat and "85.0" in flat
    assert lifts[0].register_code not in flat  # below the cut
    assert [n for _, _, n in data["levels"]] == [1, 2, 3, 0]


def test_inspection_report_counts_expired_and_due(city: City, tmp_path: Path) -> None:
    today = date(2026, 11, 23)
    with city.system.sessions() as session:
        lifts = session.execute(select(Elevator.next_inspection_due, Elevator.register_code)).all()
        data = service.inspection_report(session, CITY, today=today)
    expired = sorted((d, code) for d, code in lifts if d is not None and d < today)
    soon = sum(1 for d, _ in lifts if d is not None and today <= d < today + timedelta(days=30))
    text = pdf_text(render.inspection_pdf(data, scope_label="达州市", generated=START, header=HEADER).pdf, tmp_path)
    totals = re.search(r"合计\s+([\d\s]+)\n", text)
    assert totals, text
    numbers = [int(x) for x in totals.group(1).split()]
    assert numbers[:3] == [len(lifts), len(expired), soon]
    flat = compact(text)
    assert "电梯检验与到期状态报告" in flat and "检验超期电梯" in flat
    if expired:
        assert expired[0][1] in flat
        assert flat.index(expired[0][1]) < flat.index(expired[-1][1])
