"""Bulk risk scoring against the real database (SQLite and PostgreSQL): features from cases and
signals, one ElevatorRisk row per elevator, upserts, direction of change, the nightly job, the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from detectors.models import ElevatorRisk
from detectors.risk.extract import extract_features
from detectors.risk.features import INDEX
from detectors.risk.flows import score_all
from detectors.risk.model import LEVELS, shipped_model
from detectors.risk.service import level_counts, riskiest
from engine.models import Case
from infra.settings import CITY_TZ
from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator
from tests.support.system import make_system


def _rows(system: System) -> dict[int, ElevatorRisk]:
    with system.sessions() as session:
        return {r.elevator_id: r for r in session.scalars(select(ElevatorRisk))}


def _feature(system: System, elevator_id: int, name: str) -> float:
    with system.sessions() as session:
        frame = extract_features(session, system.clock.now())
    row = int((frame.elevator_ids == elevator_id).nonzero()[0][0])
    return float(frame.X[row, INDEX[name]])


def _signal(system: System, case_type: str, elevator_id: int, key: str, **signal: object) -> int:
    result = open_or_join(
        system.engine,
        system.settings.sla_file,
        case_type,
        elevator_id=elevator_id,
        signal={"idempotency_key": key, **signal},
    )
    return result.case_id


def test_bulk_scoring_writes_one_row_per_elevator_and_upserts(system: System) -> None:
    with system.sessions() as session:
        elevators = session.scalar(select(func.count()).select_from(Elevator))
    first = score_all(system)
    assert first.elevators == elevators == 200
    rows = _rows(system)
    assert len(rows) == elevators
    assert {r.run_id for r in rows.values()} == {first.run_id}
    assert all(0 <= r.score <= 100 and r.level in LEVELS for r in rows.values())
    assert {r.model_version for r in rows.values()} == {shipped_model().version}
    assert sum(first.levels.values()) == elevators
    # Scores are a function of the history: the seeded city ranks old, overdue lifts first.
    with system.sessions() as session:
        top_row, _ = riskiest(session, limit=1)[0]
    assert top_row.score == max(r.score for r in rows.values())
    assert top_row.factors[0]["factor"] in ("age_years", "maintenance_overdue_days", "inspection_overdue_days")

    system.clock.advance(timedelta(hours=1))
    second = score_all(system)
    rows = _rows(system)
    assert len(rows) == elevators and second.run_id == first.run_id + 1
    assert {r.run_id for r in rows.values()} == {second.run_id}
    assert {r.scored_at for r in rows.values()} == {system.clock.now()}
    with system.sessions() as session:
        assert sum(level_counts(session).values()) == elevators


def test_a_worse_history_raises_the_score(system: System) -> None:
    score_all(system)
    before = _rows(system)
    lift = min(before, key=lambda i: before[i].score)  # the least risky elevator: room to rise
    other = max(i for i in before if i != lift)

    _signal(system, "warning", lift, "w1", source="iot", kind="door_lock_fault", warning_type="door_lock_fault")
    _signal(system, "warning", lift, "w2", source="iot", kind="door_lock_fault", warning_type="door_lock_fault")
    _signal(system, "rescue", lift, "r1", source="qr", trapped_count=1)
    _signal(system, "complaint", lift, "c1", source="qr", category="safety", text="门经常夹人")
    assert _feature(system, lift, "faults_90d") == 1  # the second warning joined the open case
    assert _feature(system, lift, "repeat_alarms_90d") == 1
    assert _feature(system, lift, "rescues_90d") == 1
    assert _feature(system, lift, "complaints_365d") == 1

    score_all(system)
    after = _rows(system)
    assert after[lift].score > before[lift].score + 1
    assert after[other].score == pytest.approx(before[other].score)  # nobody else moved
    assert {f["factor"] for f in after[lift].factors} & {"faults_90d", "rescues_90d", "rescues_365d", "faults_365d"}

    # Overdue maintenance raises it further; the same events a year and more ago no longer count.
    with system.sessions() as session, session.begin():
        session.execute(
            update(Elevator).where(Elevator.id == lift).values(
                last_maintenance_at=system.clock.now() - timedelta(days=40)
            )
        )
    score_all(system)
    overdue = _rows(system)[lift]
    assert overdue.score > after[lift].score
    assert overdue.factors[0]["factor"] == "maintenance_overdue_days" and overdue.factors[0]["value"] == 25

    with system.sessions() as session, session.begin():
        session.execute(
            update(Case).where(Case.elevator_id == lift).values(opened_at=system.clock.now() - timedelta(days=400))
        )
    assert _feature(system, lift, "faults_365d") == 0
    score_all(system)
    assert _rows(system)[lift].score < overdue.score


def test_false_alarms_do_not_count_as_rescues(system: System) -> None:
    lift = 5
    case_id = _signal(system, "rescue", lift, "fa1", source="qr", trapped_count=1)
    assert _feature(system, lift, "rescues_90d") == 1
    from demo.scenarios import complete

    complete(system, case_id, "verify_dispatch", {"outcome": "false_alarm", "trapped_count": 0}, "dispatcher")
    with system.sessions() as session:
        assert session.get(Case, case_id).close_reason == "false_alarm"
    assert _feature(system, lift, "rescues_90d") == 0


def test_nightly_job_runs_at_two_in_the_city(sqlite_url: str, clock) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from liftcase.bootstrap import PERIODIC, add_periodic

    system = make_system(sqlite_url, clock, elevators=50)
    scheduler = BackgroundScheduler(timezone="UTC")
    add_periodic(scheduler, system)
    job = next(p for p in PERIODIC if p.name == "risk_score_all")
    assert job.cron == {"hour": 2, "minute": 0}
    trigger = scheduler.get_job("risk_score_all").trigger
    fire = trigger.get_next_fire_time(None, clock.now())  # 2026-11-23 09:30 Shanghai
    assert (fire.year, fire.month, fire.day, fire.hour, fire.minute) == (2026, 11, 24, 2, 0)
    assert str(fire.tzinfo) == "Asia/Shanghai"
    # The job scores the system the scheduler hands it.
    run = job.func(system)
    assert run.elevators == 50 and len(_rows(system)) == 50
    system.db.dispose()


def test_cli_scores_on_demand(sqlite_url: str, clock) -> None:
    from liftcase.cli import main

    system = make_system(sqlite_url, clock, elevators=30)
    result = CliRunner().invoke(main, ["risk", "score", "--top", "2"], env={"LIFTCASE_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert '"elevators": 30' in lines[0] and len(lines) == 3
    assert len(_rows(system)) == 30
    system.db.dispose()


def test_features_read_back_from_the_database_equal_the_written_history(system: System) -> None:
    """The generating process written as cases and signals: every history column extracts as generated,
    and the stored scores rank the elevators by their true hazard."""
    import numpy as np

    from detectors.risk.history import write_history
    from detectors.risk.synthetic import generate

    with system.sessions() as session, session.begin():
        ids = np.array(session.scalars(select(Elevator.id).order_by(Elevator.id)).all())
        history = generate(len(ids), seed=3, iot_share=0.5)
        assert write_history(session, history, ids, system.clock.now()) > 0
    with system.sessions() as session:
        frame = extract_features(session, system.clock.now())
    assert np.array_equal(frame.elevator_ids, ids)
    # The elevators' own facts stay as seeded; the unit's on-time rate comes from maintenance
    # records, which write_history (cases and signals) does not write.
    seeded = {"age_years", "floors", "has_iot", "unit_on_time_90d"}
    for name, column in INDEX.items():
        if name not in seeded:
            assert np.array_equal(frame.X[:, column], history.X[:, column]), name

    score_all(system)
    rows = _rows(system)
    scores = np.array([rows[int(i)].score for i in ids])
    order = np.argsort(np.argsort(scores)), np.argsort(np.argsort(history.hazard))
    assert np.corrcoef(*order)[0, 1] > 0.3  # seeded ages/boxes replace the generated ones: a looser floor


def test_reads_respect_organisation_scope(sqlite_system: System) -> None:
    from registry.models import Organisation, User
    from registry.scope import Scope, elevators_visible

    score_all(sqlite_system)
    with sqlite_system.sessions() as session:
        user = session.scalar(select(User).where(User.username == "maint"))
        org = session.get(Organisation, user.organisation_id)
        scope = Scope.of(user, org)
        own = set(session.scalars(select(Elevator.id).where(Elevator.maintenance_unit_id == org.id)))
        seen = riskiest(session, visible=elevators_visible(scope), limit=1000)
        assert own and {e.id for _, e in seen} == own
        assert sum(level_counts(session, visible=elevators_visible(scope)).values()) == len(own)
        analyst = session.scalar(select(User).where(User.username == "analyst"))
        no_cases = Scope.of(analyst, session.get(Organisation, analyst.organisation_id))
        assert riskiest(session, visible=elevators_visible(no_cases)) == []


def test_the_maintenance_units_on_time_rate_moves_the_score(system: System) -> None:
    """Three elevators alike in every fact, maintained by a punctual unit, a late one and one with
    nothing due: extract.py reads each unit's 90-day on-time rate (registry/ontime.py) and the score
    orders them late > no evidence > punctual, with that factor the only difference."""
    import numpy as np

    from detectors.risk.features import ON_TIME_NEUTRAL
    from processes.maintenance.models import MaintenanceVisit
    from registry.models import Organisation, OrgKind

    now = system.clock.now()
    today = now.astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        template, *lifts = session.scalars(select(Elevator).order_by(Elevator.id).limit(4)).all()
        units = [Organisation(code=f"ONTIME-{k}", name=f"按时测试{k}", kind=OrgKind.MAINTENANCE_UNIT) for k in "PLN"]
        session.add_all(units)
        session.flush()
        for lift, unit in zip(lifts, units, strict=True):
            lift.installed_on, lift.floors, lift.device_id = template.installed_on, template.floors, None
            lift.last_maintenance_at, lift.next_inspection_due = now - timedelta(days=3), None
            lift.stop_use, lift.maintenance_unit_id = False, unit.id
        for i in range(6):  # the punctual unit keeps every due date, the late one none
            day = today - timedelta(days=10 + 12 * i)
            for lift, unit, kept in ((lifts[0], units[0], True), (lifts[1], units[1], False)):
                session.add(
                    MaintenanceVisit(
                        elevator_id=lift.id,
                        maintenance_unit_id=unit.id,
                        maintained_on=day,
                        due_on=day if kept else day - timedelta(days=5),
                        on_time=kept,
                        recorded_at=now,
                        recorded_by="test",
                        source="test",
                        external_id=f"{unit.code}-{i}",
                    )
                )
        ids = [lift.id for lift in lifts]
    with system.sessions() as session:
        frame = extract_features(session, now)
    rows = np.stack([frame.X[int((frame.elevator_ids == i).nonzero()[0][0])] for i in ids])
    column = INDEX["unit_on_time_90d"]
    assert rows[:, column].tolist() == pytest.approx([1.0, 0.0, ON_TIME_NEUTRAL])
    assert np.array_equal(np.delete(rows, column, axis=1), np.delete(rows[[0, 0, 0]], column, axis=1))

    score_all(system)
    punctual, late, idle = (_rows(system)[i] for i in ids)
    assert late.score > idle.score > punctual.score
    assert "unit_on_time_90d" in {f["factor"] for f in late.factors}
    assert "unit_on_time_90d" not in {f["factor"] for f in idle.factors}  # the neutral value is the baseline
