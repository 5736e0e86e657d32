"""Migrations match the models on both databases; rq on the real Redis runs the same jobs; the CLI works."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select, text

from demo.scenarios import an_elevator
from engine.models import Case, Notification
from engine.serialization import STATE_FORMAT
from infra.clock import SimulatedClock
from infra.db import Base, make_engine
from infra.jobs import NOTIFY_P1, RqJobs, serve_jobs
from liftcase.bootstrap import JOBS, use_jobs
from liftcase.cli import main
from processes.intake import open_or_join
from processes.system import System
from tests.conftest import _fresh_pg
from tests.support.helpers import kinds
from tests.support.services import REDIS_URL, need_service
from tests.support.system import make_system


def test_migrations_produce_exactly_the_models(db_url: str, clock: SimulatedClock) -> None:
    system = make_system(db_url, clock, elevators=60)
    with make_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    system.db.dispose()
    assert diff == []


def test_case_state_is_stored_lz4_compressed_on_postgres(pg_server: str, clock: SimulatedClock) -> None:
    """Every step reads and rewrites a case's ~30 kB state: lz4 costs PostgreSQL half what its
    default pglz does (migration 0024). A step's write is stored with it and reads back whole."""
    system = make_system(_fresh_pg(pg_server), clock, elevators=60)
    case = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "phone"}
    )
    with system.db.connect() as conn:
        column = conn.execute(
            text("SELECT attcompression FROM pg_attribute WHERE attrelid = 'cases'::regclass AND attname = 'state'")
        ).scalar_one()
        stored = conn.execute(
            text("SELECT pg_column_compression(state), length(state) FROM cases WHERE id = :id"), {"id": case.case_id}
        ).one()
        state = conn.execute(select(Case.state).where(Case.id == case.case_id)).scalar_one()
    system.db.dispose()
    assert column == "l"
    assert stored[0] == "lz4" and stored[1] > 2_000  # large enough to be compressed at all
    assert json.loads(state)["format"] == STATE_FORMAT


@pytest.fixture
def redis_queue() -> Queue:
    need_service(6379, "Redis")
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield Queue(NOTIFY_P1, connection=connection)  # the test opens a rescue
    connection.flushdb()


def test_notifications_go_through_rq_on_real_redis(db_url: str, clock: SimulatedClock, redis_queue: Queue) -> None:
    system: System = make_system(db_url, clock, elevators=50)
    use_jobs(system, RqJobs(REDIS_URL, JOBS))
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id
    with system.sessions() as session:
        statuses = set(session.scalars(select(Notification.status).where(Notification.case_id == case_id)))
    assert statuses == {"queued"} and redis_queue.count == 1
    serve_jobs(JOBS, system)
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    with system.sessions() as session:
        statuses = set(session.scalars(select(Notification.status).where(Notification.case_id == case_id)))
    assert statuses == {"sent"}
    assert kinds(system, case_id, "notification_sent")
    system.db.dispose()


def test_scenario_command_shows_the_ladder() -> None:
    result = CliRunner().invoke(main, ["scenario", "rescue", "--json"])
    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output)
    levels = [(e["payload"]["level"], e["payload"]["roles"]) for e in timeline["events"] if e["kind"] == "escalated"]
    assert levels == [
        (2, ["backup_maintenance", "maintenance_manager"]),
        (3, ["district_regulator", "rescue_centre"]),
        (3, ["district_regulator"]),
    ]
    assert timeline["chain"] == "intact" and timeline["case"]["status"] == "closed"


@pytest.mark.parametrize("name", ["warning", "rectification", "expiry", "complaint"])
def test_every_scenario_runs_to_a_closed_case(name: str) -> None:
    result = CliRunner().invoke(main, ["scenario", name, "--json"])
    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output)
    assert timeline["chain"] == "intact"
    assert timeline["case"]["status"] == "closed"
    assert any(e["kind"] in ("escalated", "notification_queued") for e in timeline["events"])


def test_demo_sets_up_and_makes_activity(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LIFTCASE_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    result = CliRunner().invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "liftcase demo is running" in result.output and "rescue" in result.output
    check = CliRunner().invoke(main, ["verify-timeline"])
    assert check.exit_code == 0 and "OK" in check.output
