"""End to end over the real Mosquitto (a private one: conftest.py): simulated faults become cases with
tasks, duplicates are suppressed, and an ingest process killed with SIGKILL mid-stream and restarted
loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from connectors.models import DeadLetter, IngestCounter
from connectors.mqtt.ingest import IngestConfig, IngestService
from connectors.mqtt.publisher import connect_publisher
from connectors.mqtt.run import build_ingest
from connectors.mqtt.topics import shared_filters
from demo.simulate import registered_devices
from demo.simulator import city_stream
from engine.models import Case
from infra.clock import SystemClock
from processes.system import System
from registry.models import Device
from tests.support.broker import FleetBroker
from tests.support.helpers import open_tasks
from tests.support.system import make_system

# Outages and message timing, judged against deadlines: run with nothing else on the machine
pytestmark = pytest.mark.alone

ROOT = Path(__file__).resolve().parents[3]
WARNING_FAULTS = ("door_held_open", "abnormal_stop", "door_lock_fault", "overrun_top", "power_loss")


def ingest_client(broker: FleetBroker, client_id: str) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(*broker.ingest_auth())
    return c


def publisher(broker: FleetBroker) -> mqtt.Client:
    user, password = broker.publisher_auth()
    return connect_publisher("127.0.0.1", broker.port, username=user, password=password)


def ingest_config(broker: FleetBroker, **kw: Any) -> IngestConfig:
    user, password = broker.ingest_auth()
    return IngestConfig(port=broker.port, username=user, password=password, **kw)


def forget_session(broker: FleetBroker, client_id: str) -> None:
    """Delete a persistent session on the broker (clean start, expiry 0)."""
    c = ingest_client(broker, client_id)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    c.connect("127.0.0.1", broker.port, clean_start=True, properties=props)
    c.disconnect()


def prime_session(broker: FleetBroker, client_id: str, group: str) -> None:
    """Create the ingest's persistent session and subscriptions up front, so that nothing published
    before the process is up falls on the floor (the broker queues it for the session)."""
    c = ingest_client(broker, client_id)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    c.loop_start()
    c.subscribe([(f, 1) for f in shared_filters(group)])
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


def redelivered(broker: FleetBroker, client_id: str) -> int:
    """Resume a session and count what the broker still holds for it (unacknowledged messages)."""
    got: list[bytes] = []
    c = ingest_client(broker, client_id)
    c.on_message = lambda _c, _u, m: got.append(m.payload)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 60
    c.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    c.loop_start()
    time.sleep(1.0)
    c.disconnect()
    c.loop_stop()
    return len(got)


def accounted(system: System) -> int:
    with system.sessions() as session:
        return int(session.scalar(select(func.sum(IngestCounter.value))) or 0)


def wait_for(predicate, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def cases_by_elevator(system: System) -> dict[int, list[Case]]:
    out: dict[int, list[Case]] = {}
    with system.sessions() as session:
        for case in session.scalars(select(Case).order_by(Case.id)):
            out.setdefault(case.elevator_id, []).append(case)  # type: ignore[arg-type]
    return out


def elevator_of(system: System) -> dict[str, int]:
    with system.sessions() as session:
        return dict(session.execute(select(Device.id, Device.elevator_id)).all())  # type: ignore[arg-type]


@pytest.fixture
def live_system(sqlite_url: str) -> Iterator[System]:
    system = make_system(sqlite_url, SystemClock(), elevators=60)  # type: ignore[arg-type]
    yield system
    system.db.dispose()


def started_ingest(system: System, broker: FleetBroker, prefix: str, group: str,
                   **kw: Any) -> tuple[IngestConfig, IngestService, threading.Thread]:  # fmt: skip
    """An in-process ingest on a fresh client id and share group, connected and subscribed."""
    tag = uuid.uuid4().hex[:8]
    config = ingest_config(broker, client_id=f"{prefix}-{tag}", group=f"{group}{tag}", **kw)
    service = build_ingest(system, config)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    assert service.connected.wait(10)
    time.sleep(0.3)  # the SUBACK
    return config, service, runner


def test_simulated_faults_become_cases_with_tasks_and_duplicates_join(live_system: System,
                                                                     broker: FleetBroker) -> None:  # fmt: skip
    system = live_system
    config, service, runner = started_ingest(system, broker, "test-ingest", "t", flush_seconds=0.1)
    try:
        devices = registered_devices(system.sessions, 4)
        stream = city_stream(devices, datetime.now(UTC) - timedelta(seconds=900), 900, seed=7, fault_rate=0.6,
                             faults=WARNING_FAULTS)  # fmt: skip
        client = publisher(broker)
        for _, name, payload in stream.messages:
            client.publish(name, payload, qos=1)
        # Every message once more: QoS 1 redelivery, a box resending. No second case may appear.
        last = None
        for _, name, payload in stream.messages[: len(stream.messages) // 3]:
            last = client.publish(name, payload, qos=1)
        assert last is not None
        last.wait_for_publish(30)
        client.disconnect()
        sent = len(stream.messages) + len(stream.messages) // 3
        assert wait_for(lambda: accounted(system) >= sent), (accounted(system), sent)
        # Stopped as soon as every message has been handled, as a restart comes at any moment: the
        # last batch is written, acked and the acks read by the broker on the way out, so the quick
        # successor below (same client id) finds nothing to redeliver. Before the close barrier,
        # acks sent just before leaving were dropped unread by the takeover and came back.
        assert wait_for(lambda: service.pipeline.handled >= sent, 20), service.pipeline.handled
        service.stop()
        runner.join(10)
        assert redelivered(broker, config.client_id) == 0  # every message was acknowledged after its flush
    finally:
        service.stop()
        runner.join(10)
        forget_session(broker, config.client_id)
    assert stream.truth
    elevators = elevator_of(system)
    by_elevator = cases_by_elevator(system)
    for fault in stream.truth:
        found = by_elevator.get(elevators[fault.device_id], [])
        assert [c.case_type for c in found] == ["warning"], fault  # one case per elevator: the rest joined
        assert open_tasks(system, found[0].id) == ["accept_order"]
    with system.sessions() as session:
        reasons = list(session.scalars(select(DeadLetter.reason)))
        duplicates = session.scalar(select(IngestCounter.value).where(IngestCounter.name == "duplicate.status"))
    assert reasons == []  # a resent message is a duplicate, counted, never a dead letter
    assert duplicates == len(stream.messages) // 3


def test_a_batch_acked_on_the_way_out_is_not_redelivered_to_a_quick_successor(live_system: System,
                                                                             broker: FleetBroker) -> None:  # fmt: skip
    """Stopped with a whole batch in hand (no flush before): the close writes it and acks every
    message just before DISCONNECT. A successor with the same client id right behind (a restart)
    must find nothing held: Mosquitto reads a connection's packets one by one, and a takeover used
    to drop the acks it had not read yet."""
    system = live_system
    config, service, runner = started_ingest(system, broker, "test-close", "c", flush_seconds=600)
    try:
        devices = registered_devices(system.sessions, 4)
        stream = city_stream(devices, datetime.now(UTC) - timedelta(seconds=900), 900, seed=3, fault_rate=0.0)
        client = publisher(broker)
        last = None
        for _, name, payload in stream.messages:
            last = client.publish(name, payload, qos=1)
        assert last is not None
        last.wait_for_publish(30)
        client.disconnect()
        sent = len(stream.messages)
        assert wait_for(lambda: service.pipeline.handled >= sent, 30), service.pipeline.handled
        assert accounted(system) == 0  # nothing flushed yet: the whole batch goes out with the close
        service.stop()
        runner.join(15)
        assert not runner.is_alive()
        assert redelivered(broker, config.client_id) == 0
    finally:
        service.stop()
        runner.join(10)
        forget_session(broker, config.client_id)
    assert accounted(system) == sent


def start_ingest(broker: FleetBroker, url: str, client_id: str, group: str, log: Path) -> subprocess.Popen[bytes]:
    user, password = broker.ingest_auth()
    env = {**os.environ, "LIFTCASE_DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "LIFTCASE_MQTT_USERNAME": user, "LIFTCASE_MQTT_PASSWORD": password}  # fmt: skip
    env.pop("LIFTCASE_REDIS_URL", None)  # embedded: cases written in-process
    cmd = [sys.executable, "-m", "liftcase.cli", "ingest", "--port", str(broker.port), "--client-id", client_id,
           "--group", group]  # fmt: skip
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_ingest_killed_mid_stream_and_restarted_loses_nothing(live_system: System, sqlite_url: str, tmp_path: Path,
                                                               broker: FleetBroker) -> None:  # fmt: skip
    system = live_system
    tag = uuid.uuid4().hex[:8]
    client_id, group = f"test-kill-{tag}", f"k{tag}"
    log = tmp_path / "ingest.log"
    devices = registered_devices(system.sessions, 4)
    # Under Mosquitto's default per-session queue (max_queued_messages 1000) for the dead interval.
    stream = city_stream(devices, datetime.now(UTC) - timedelta(seconds=450), 450, seed=11, fault_rate=0.5)
    messages = [(name, payload) for _, name, payload in stream.messages]
    prime_session(broker, client_id, group)
    first = start_ingest(broker, sqlite_url, client_id, group, log)
    second = None
    try:
        client = publisher(broker)
        probe = messages[0]
        client.publish(*probe, qos=1)
        assert wait_for(lambda: accounted(system) >= 1, 30), log.read_text()
        killed = threading.Event()

        def publish_rest() -> None:
            for i, (name, payload) in enumerate(messages[1:], start=1):
                client.publish(name, payload, qos=1)
                if i % 40 == 0:
                    time.sleep(0.05)
                if i == len(messages) // 3:
                    killed.wait(10)  # the rest goes out while the ingest is dead

        sender = threading.Thread(target=publish_rest)
        sender.start()
        time.sleep(0.4)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = accounted(system)
        killed.set()
        sender.join(60)
        second = start_ingest(broker, sqlite_url, client_id, group, log)
        assert wait_for(lambda: accounted(system) >= len(messages), 60), (accounted(system), len(messages))
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
        client.disconnect()
        forget_session(broker, client_id)
    assert first.returncode == -signal.SIGKILL
    assert 1 <= at_kill < len(messages)  # it really died mid-stream
    elevators = elevator_of(system)
    by_elevator = cases_by_elevator(system)
    for fault in stream.truth:
        found = by_elevator.get(elevators[fault.device_id], [])
        assert fault.case_type in {c.case_type for c in found}, fault
    for elevator_id, found in by_elevator.items():
        types = [c.case_type for c in found]
        assert len(types) == len(set(types)), (elevator_id, types)  # no duplicate case
    with system.sessions() as session:
        last_seq = dict(session.execute(select(Device.id, Device.last_seq)).all())
        reasons = set(session.scalars(select(DeadLetter.reason)))
    assert reasons == set()  # redeliveries of what was already taken are duplicates, not dead letters
    assert all(last_seq[d] is not None for d, _ in devices)


def test_last_will_marks_the_device_offline(live_system: System, broker: FleetBroker) -> None:
    system = live_system
    tag = uuid.uuid4().hex[:8]
    config = ingest_config(broker, client_id=f"test-will-{tag}", group=f"w{tag}", flush_seconds=0.1)
    service = build_ingest(system, config)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    [(device_id, _)] = registered_devices(system.sessions, 1)

    def online() -> bool | None:
        with system.sessions() as session:
            return session.scalar(select(Device.online).where(Device.id == device_id))

    try:
        assert service.connected.wait(10)
        time.sleep(0.3)
        box = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"box-{tag}", protocol=mqtt.MQTTv311)
        box.username_pw_set(*broker.publisher_auth())
        box.will_set(f"lift/{device_id}/online", b"0", qos=1, retain=True)
        box.connect("127.0.0.1", broker.port, keepalive=5)
        box.loop_start()
        box.publish(f"lift/{device_id}/online", b"1", qos=1, retain=True).wait_for_publish(5)
        assert wait_for(lambda: online() is True, 10)
        box.loop_stop()
        box.socket().close()  # the box loses power: no DISCONNECT, so the broker sends its will
        assert wait_for(lambda: online() is False, 15)
    finally:
        service.stop()
        runner.join(10)
        forget_session(broker, config.client_id)
        cleaner = publisher(broker)
        cleaner.publish(f"lift/{device_id}/online", b"", qos=1, retain=True).wait_for_publish(5)  # drop retained
        cleaner.disconnect()


def test_a_failed_hand_over_keeps_the_batch_unacked_and_retries_it(live_system: System, broker: FleetBroker) -> None:
    system = live_system
    tag = uuid.uuid4().hex[:8]
    config = ingest_config(broker, client_id=f"test-retry-{tag}", group=f"r{tag}", flush_seconds=0.1)
    service = build_ingest(system, config)
    broken = threading.Event()
    broken.set()
    deliver = service.pipeline.deliver

    def flaky(signals: list[dict]) -> None:  # type: ignore[type-arg]
        if broken.is_set():
            raise ConnectionError("redis is down")
        deliver(signals)

    service.pipeline.deliver = flaky
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    try:
        assert service.connected.wait(10)
        time.sleep(0.3)
        devices = registered_devices(system.sessions, 2)
        stream = city_stream(devices, datetime.now(UTC) - timedelta(seconds=300), 300, seed=3, fault_rate=1.0,
                             faults=("door_held_open",))  # fmt: skip
        client = publisher(broker)
        for _, name, payload in stream.messages:
            last = client.publish(name, payload, qos=1)
        last.wait_for_publish(10)
        client.disconnect()
        assert wait_for(lambda: service.pipeline.handled >= len(stream.messages), 20)
        time.sleep(1.0)
        # The batch with the first finding is stuck: neither written nor acked (earlier ones went through).
        assert accounted(system) < len(stream.messages) and not service.idle()
        broken.clear()  # Redis is back
        assert wait_for(service.idle, 60)
        assert accounted(system) >= len(stream.messages)  # (other publishers may share the broker)
        service.stop()
        runner.join(10)
        assert redelivered(broker, config.client_id) == 0
    finally:
        service.stop()
        runner.join(10)
        forget_session(broker, config.client_id)
    elevators = elevator_of(system)
    by_elevator = cases_by_elevator(system)
    assert all(by_elevator.get(elevators[f.device_id]) for f in stream.truth)
