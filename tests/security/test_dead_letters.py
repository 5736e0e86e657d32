"""MQTT dead letters: a huge refused payload keeps its first 64 KB and its size, and dead letters
older than the retention period (a setting, 30 days by default) are deleted by a periodic job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from connectors.models import DeadLetter
from connectors.mqtt.dead_letters import RAW_LIMIT
from connectors.mqtt.jobs import PURGE_DEAD_LETTERS, purge_dead_letters
from connectors.mqtt.pipeline import IngestPipeline
from connectors.mqtt.store import ingest_report
from detectors.rules.thresholds import load_thresholds
from infra.clock import SimulatedClock
from infra.settings import Settings
from liftcase.bootstrap import PERIODIC
from processes.system import System
from processes.telemetry import hand_over
from tests.support.system import make_system


@pytest.fixture
def ingest(sqlite_url: str, clock: SimulatedClock) -> Iterator[tuple[System, IngestPipeline]]:
    system = make_system(sqlite_url, clock, elevators=20)
    pipeline = IngestPipeline(system.sessions, load_thresholds(), lambda s: hand_over(system.jobs, s), clock)
    yield system, pipeline
    system.db.dispose()


def letters(system: System) -> list[DeadLetter]:
    with system.sessions() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_a_huge_payload_keeps_its_first_64_kb_and_its_size(ingest: tuple[System, IngestPipeline]) -> None:
    system, pipeline = ingest
    huge = b"{" + b"x" * (5 * 1024 * 1024)  # not JSON, 5 MB
    pipeline.handle("lift/DZ-IOT-000001/status", huge)
    pipeline.handle("lift/DZ-IOT-000001/status", b"{small")
    pipeline.flush()
    big, small = letters(system)
    assert big.reason == "bad_json" and big.raw == huge[:RAW_LIMIT] and big.raw_size == len(huge)
    assert small.raw == b"{small" and small.raw_size == 6
    assert [d["size"] for d in ingest_report(system.sessions)["dead_letters"]] == [6, len(huge)]


def test_dead_letters_past_the_retention_are_purged(
    ingest: tuple[System, IngestPipeline], clock: SimulatedClock
) -> None:
    system, pipeline = ingest
    pipeline.handle("lift/x", b"old")
    pipeline.flush()
    clock.advance(timedelta(days=system.settings.dead_letter_retention_days - 1))
    pipeline.handle("lift/x", b"recent")
    pipeline.flush()
    assert purge_dead_letters(system) == 0  # the old one is 29 days old: kept
    clock.advance(timedelta(days=1, seconds=1))
    assert purge_dead_letters(system) == 1
    assert [d.raw for d in letters(system)] == [b"recent"]


def test_the_purge_is_scheduled_and_its_retention_is_a_setting() -> None:
    assert PURGE_DEAD_LETTERS in PERIODIC
    assert Settings().dead_letter_retention_days == 30
    assert Settings.from_env({"LIFTCASE_DEAD_LETTER_RETENTION_DAYS": "7"}).dead_letter_retention_days == 7
