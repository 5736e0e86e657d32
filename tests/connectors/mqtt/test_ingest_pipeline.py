"""The ingest pipeline without the network: messages -> rules -> cases, dead letters, duplicates,
recovery into the open case, device presence and the heartbeat timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.models import DeadLetter, DeviceDetectorState, IngestCounter
from connectors.mqtt.jobs import devices_offline
from connectors.mqtt.pipeline import IngestPipeline
from connectors.mqtt.store import ingest_report, mark_silent_offline
from detectors.rules.thresholds import load_thresholds
from engine.models import Case
from infra.clock import SimulatedClock
from processes.models import Signal
from processes.system import System
from processes.telemetry import hand_over
from registry.models import Device
from tests.support.helpers import kinds, open_tasks
from tests.support.system import make_system

IDLE = dict(service_mode=1, car_status=0, car_direction=0, car_position=3, door_zone=1, door_status=1,
            passenger_status=2, power_status=1, speed=0.0, alarm_button=0, up_limit=0, down_limit=0)  # fmt: skip


class Box:
    """One simulated IoT box writing status payloads on the system's clock."""

    def __init__(self, pipeline: IngestPipeline, clock: SimulatedClock, device_id: str) -> None:
        self.p, self.clock, self.device_id = pipeline, clock, device_id
        self.seq = 0
        self.fields = dict(IDLE)

    def payload(self, **changes: Any) -> bytes:
        self.seq += 1
        self.fields.update(changes)
        body = {"device_id": self.device_id, "ts": self.clock.now().isoformat(), "seq": self.seq, **self.fields}
        return json.dumps(body).encode()

    def send(self, after: float = 1, **changes: Any) -> bytes:
        self.clock.advance(timedelta(seconds=after))
        raw = self.payload(**changes)
        self.p.handle(f"lift/{self.device_id}/status", raw)
        return raw


def pipeline_for(system: System) -> IngestPipeline:
    return IngestPipeline(
        system.sessions, load_thresholds(), lambda signals: hand_over(system.jobs, signals), system.clock
    )


@pytest.fixture
def setup(sqlite_url: str, clock: SimulatedClock) -> Iterator[tuple[System, IngestPipeline]]:
    system = make_system(sqlite_url, clock, elevators=60)
    yield system, pipeline_for(system)
    system.db.dispose()


def device_and_elevator(system: System) -> tuple[str, int]:
    with system.sessions() as session:
        device = session.scalars(select(Device).order_by(Device.id)).first()
        assert device is not None and device.elevator_id is not None
        return device.id, device.elevator_id


def cases(system: System, elevator_id: int) -> list[Case]:
    with system.sessions() as session:
        return list(session.scalars(select(Case).where(Case.elevator_id == elevator_id).order_by(Case.id)))


def test_a_fault_becomes_a_warning_case_with_tasks_and_recovery_flows_in(db_url: str, clock: SimulatedClock) -> None:
    system = make_system(db_url, clock, elevators=60)
    pipeline = pipeline_for(system)
    device_id, elevator_id = device_and_elevator(system)
    box = Box(pipeline, clock, device_id)
    box.send(0)
    box.send(1, door_status=3)
    box.send(1.5, door_status=0)
    for _ in range(13):
        box.send(5)  # heartbeats: the doors stay open 65 s
    pipeline.flush()
    [case] = cases(system, elevator_id)
    assert (case.case_type, case.priority, case.variables["warning_type"]) == ("warning", "P3", "door_held_open")
    assert open_tasks(system, case.id) == ["accept_order"]
    box.send(1, door_status=2)
    box.send(2, door_status=1)
    pipeline.flush()
    [message] = kinds(system, case.id, "message_received")
    assert message["message"] == "fault_recovered" and message["caught"] is True
    assert message["payload"]["warning_type"] == "door_held_open"
    assert system.jobs.failed == []
    system.db.dispose()


def test_power_loss_with_a_passenger_starts_a_rescue(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    device_id, elevator_id = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]
    box.send(0, passenger_status=1)
    box.send(1, power_status=2)
    pipeline.flush()
    [case] = cases(system, elevator_id)
    assert (case.case_type, case.priority) == ("rescue", "P1")


def test_duplicates_are_suppressed_repeated_messages_and_a_replayed_batch(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    device_id, elevator_id = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]
    box.send(0)
    raw = box.send(1, power_status=2)
    pipeline.handle(f"lift/{device_id}/status", raw)  # the same message again (QoS 1 redelivery)
    box.send(5)
    box.send(5)
    pipeline.flush()
    # A second ingest process with a fresh memory replays the same message: no second case either.
    other = pipeline_for(system)
    other.views[device_id].state.last_seq = None
    other.handle(f"lift/{device_id}/status", raw)
    other.flush()
    assert len(cases(system, elevator_id)) == 1
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Signal)) == 1
        reasons = session.scalars(select(DeadLetter.reason)).all()
        counters = dict(session.execute(select(IngestCounter.name, IngestCounter.value)).all())
    assert reasons == []  # a redelivery is a duplicate, counted, not a refusal (issue 11 item 9)
    assert counters["duplicate.status"] == 1


def test_a_redelivered_older_message_is_a_duplicate_and_a_never_seen_older_one_is_judged_late(
    setup: tuple[System, IngestPipeline],
) -> None:
    system, pipeline = setup
    device_id, _ = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]
    first = box.send(0)
    second = box.send(1)
    box.seq += 1  # seq 3 is lost on the way
    box.send(1)
    pipeline.handle(f"lift/{device_id}/status", first)  # a batch redelivered after a broker restart
    pipeline.handle(f"lift/{device_id}/status", second)
    box.seq = 2
    late = box.payload()
    pipeline.handle(f"lift/{device_id}/status", late)  # seq 3, never taken, arrives after 4: judged late
    pipeline.handle(f"lift/{device_id}/status", late)  # and its redelivery is a duplicate
    box.seq = 5000
    box.send(1)
    box.seq = 1
    pipeline.handle(f"lift/{device_id}/status", box.payload())  # older than the remembered window
    pipeline.flush()
    with system.sessions() as session:
        reasons = session.scalars(select(DeadLetter.reason)).all()
        counters = dict(session.execute(select(IngestCounter.name, IngestCounter.value)).all())
    assert reasons == ["old_seq"]
    assert counters["duplicate.status"] == 3 and counters["accepted.status"] == 5
    assert counters["late.status"] == 1


def test_a_second_fault_joins_the_open_warning_case(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    device_id, elevator_id = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]
    box.send(0)
    box.send(1, power_status=2)
    box.send(5, power_status=1)
    box.send(1, door_status=3)
    for _ in range(3):
        box.send(5)  # opening for 15 s: door open/close fault
    pipeline.flush()
    [case] = cases(system, elevator_id)
    joined = kinds(system, case.id, "signal_joined")
    assert [j["signal"]["warning_type"] for j in joined] == ["door_open_close_fault"]


def test_bad_messages_are_dead_lettered_with_reason_and_raw_bytes(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    device_id, _ = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]
    good = json.loads(box.send(0))
    future = {**good, "seq": 50, "ts": (system.clock.now() + timedelta(hours=1)).isoformat()}
    samples = [
        (f"lift/{device_id}/status", b"{not json", "bad_json"),
        (f"lift/{device_id}/status", json.dumps({k: v for k, v in good.items() if k != "door_status"}).encode(),
         "missing_field"),
        (f"lift/{device_id}/status", json.dumps({**good, "seq": 60, "door_status": "1"}).encode(), "wrong_type"),
        (f"lift/{device_id}/status", json.dumps({**good, "seq": 61, "door_status": 7}).encode(), "out_of_range"),
        ("lift/NOPE-1/status", json.dumps({**good, "device_id": "NOPE-1"}).encode(), "unknown_device"),
        (f"lift/{device_id}/status", json.dumps(future).encode(), "clock_skew"),
        (f"lift/{device_id}/status", json.dumps({**good, "device_id": "DZ-IOT-999999"}).encode(), "device_mismatch"),
        (f"lift/{device_id}/event", b'{"device_id": "%s", "ts": "x", "event_id": "1", "code": 41}' % device_id.encode(),
         "bad_ts"),
        (f"lift/{device_id}/online", b"maybe", "out_of_range"),
        ("lift/x", b"1", "bad_topic"),
    ]  # fmt: skip
    for topic, raw, _ in samples:
        pipeline.handle(topic, raw)
    pipeline.flush()
    with system.sessions() as session:
        rows = session.execute(select(DeadLetter.reason, DeadLetter.raw).order_by(DeadLetter.id)).all()
        counters = dict(session.execute(select(IngestCounter.name, IngestCounter.value)).all())
    assert [r for r, _ in rows] == [reason for *_, reason in samples]  # old_seq: see the test above
    assert [raw for _, raw in rows][: len(samples)] == [raw for _, raw, _ in samples]
    assert counters["rejected.out_of_range"] == 2
    assert counters["accepted.status"] == 1
    report = ingest_report(system.sessions, "bad_json")  # what `liftcase dead-letters` prints
    assert [d["raw"] for d in report["dead_letters"]] == ["{not json"]
    assert report["counters"]["rejected.bad_json"] == 1


def test_presence_online_will_and_heartbeat_timeout(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    clock: SimulatedClock = system.clock  # type: ignore[assignment]
    device_id, _ = device_and_elevator(system)
    other = sorted(pipeline.views)[1]
    box = Box(pipeline, clock, device_id)
    box.send(0)
    pipeline.handle(f"lift/{other}/online", b"1")
    pipeline.flush()

    def online() -> dict[str, bool]:
        with system.sessions() as session:
            rows = session.execute(select(Device.id, Device.online).where(Device.id.in_([device_id, other])))
            return dict(rows.all())

    assert online() == {device_id: True, other: True}
    pipeline.handle(f"lift/{other}/online", b"0")  # the box's last will
    pipeline.flush()
    assert online() == {device_id: True, other: False}
    clock.advance(timedelta(minutes=9))
    assert mark_silent_offline(system.sessions, clock.now(), 600) == []
    clock.advance(timedelta(minutes=2))
    assert devices_offline(system) == [device_id]  # the scheduler's minute job (also run by each ingest)
    assert online() == {device_id: False, other: False}
    box.send(1)  # it speaks again
    pipeline.flush()
    assert online()[device_id] is True


def test_detector_state_and_seq_record_are_written_with_each_flush(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    device_id, _ = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]

    def stored() -> dict[str, Any]:
        with system.sessions() as session:
            row = session.get(DeviceDetectorState, device_id)
            assert row is not None
            return dict(row.state)

    box.send(0)
    pipeline.flush()
    box.send(5)
    box.send(5)
    pipeline.flush()
    assert (stored()["seq"], stored()["span"], stored()["holes"]) == (3, 3, "0")  # heartbeats: the seq record
    box.send(1, door_status=3)
    pipeline.flush()
    assert stored()["door"] == 3 and stored()["seq"] == 4


def test_a_takeover_reads_the_seq_record_late_messages_are_taken_duplicates_refused(
    setup: tuple[System, IngestPipeline],
) -> None:
    """A box's seq 5 waits in a departed ingest's broker session while 6..8 are judged and written;
    whoever reads the box again (a new process, a partition taken over) must still take 5 as late and
    refuse 7 sent again as a duplicate."""
    system, pipeline = setup
    device_id, _ = device_and_elevator(system)
    box = Box(pipeline, system.clock, device_id)  # type: ignore[arg-type]
    for _ in range(4):
        box.send(1)
    held = box.payload()  # seq 5: on its way through the other process
    box.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    sent = [box.send(1) for _ in range(3)]  # 6, 7, 8
    pipeline.flush()
    successor = pipeline_for(system)
    successor.reload({device_id})
    successor.handle(f"lift/{device_id}/status", held)
    successor.handle(f"lift/{device_id}/status", sent[1])
    successor.flush()
    with system.sessions() as session:
        counted = dict(session.execute(select(IngestCounter.name, IngestCounter.value)).all())
    assert counted["accepted.status"] == 8
    assert counted["late.status"] == 1
    assert counted["duplicate.status"] == 1


def test_box_event_codes_start_cases_and_a_repeated_event_id_is_refused(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    device_id, elevator_id = device_and_elevator(system)
    ts = system.clock.now().isoformat()
    alarm = json.dumps({"device_id": device_id, "ts": ts, "event_id": "ev-1", "code": 90}).encode()
    pipeline.handle(f"lift/{device_id}/event", alarm)
    pipeline.handle(f"lift/{device_id}/event", alarm)  # the box sends it twice
    door = json.dumps({"device_id": device_id, "ts": ts, "event_id": "ev-2", "code": 3}).encode()
    pipeline.handle(f"lift/{device_id}/event", door)
    pipeline.flush()
    assert sorted(c.case_type for c in cases(system, elevator_id)) == ["rescue", "warning"]
    with system.sessions() as session:
        assert list(session.scalars(select(DeadLetter.reason))) == []  # a duplicate, counted
        assert session.scalar(select(IngestCounter.value).where(IngestCounter.name == "duplicate.event")) == 1
        judged = session.scalars(select(Signal.payload).where(Signal.elevator_id == elevator_id)).all()
    expected = {("trapped", "box"), ("door_open_close_fault", "box")}
    assert {(p["warning_type"], p["judged_by"]) for p in judged} == expected


def test_seq_survives_flags_and_events_and_a_rebooted_box_is_told_by_time(setup: tuple[System, IngestPipeline]) -> None:
    system, pipeline = setup
    clock: SimulatedClock = system.clock  # type: ignore[assignment]
    device_id, _ = device_and_elevator(system)
    box = Box(pipeline, clock, device_id)
    box.seq = 500
    stale = box.send(0)
    pipeline.handle(f"lift/{device_id}/online", b"1")  # no seq in a flag or an event: the stored one stays
    event = {"device_id": device_id, "ts": clock.now().isoformat(), "event_id": "e-9", "code": 8}
    pipeline.handle(f"lift/{device_id}/event", json.dumps(event).encode())
    pipeline.flush()
    with system.sessions() as session:
        assert session.scalar(select(Device.last_seq).where(Device.id == device_id)) == 501
    clock.advance(timedelta(minutes=5))
    restarted = pipeline_for(system)  # the ingest restarts; the box rebooted meanwhile (seq from 1)
    restarted.handle(f"lift/{device_id}/status", stale)  # a late copy of the last message: a duplicate
    rebooted = Box(restarted, clock, device_id)
    rebooted.send(0)
    restarted.flush()
    with system.sessions() as session:
        assert list(session.scalars(select(DeadLetter.reason))) == []
        counters = dict(session.execute(select(IngestCounter.name, IngestCounter.value)).all())
    assert counters["accepted.status"] == 2 and counters["duplicate.status"] == 1
