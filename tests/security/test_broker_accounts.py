"""The broker knows its devices: against a private Mosquitto with the shipped config, a box signs in
as its device id and reaches the ingest on its own topics only; anonymous clients and wrong secrets
are refused; a rotated secret stops working once the broker reloads its password file."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connectors.models import DeadLetter
from connectors.mqtt.credentials import issue_credentials, write_broker_files
from connectors.mqtt.ingest import IngestConfig, IngestService
from connectors.mqtt.publisher import Fleet, publish_all
from connectors.mqtt.run import build_ingest
from demo.simulate import registered_devices
from demo.simulator import city_stream
from engine.models import Case
from infra.clock import SystemClock
from liftcase.cli import main
from processes.system import System
from registry.models import Device
from tests.support.broker import INGEST_USER, PrivateBroker
from tests.support.system import make_system


@pytest.fixture
def broker() -> Iterator[PrivateBroker]:
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    private = PrivateBroker()
    yield private
    private.close()


@pytest.fixture
def system(sqlite_url: str, broker: PrivateBroker) -> Iterator[System]:
    """A seeded city whose broker files are written (the ingest may sign in), the broker started."""
    system = make_system(sqlite_url, SystemClock(), elevators=60, **broker.settings())  # type: ignore[arg-type]
    write_broker_files(system.sessions, system.settings)
    broker.start()
    yield system
    system.db.dispose()


class Probe:
    """An MQTT 5 client that records what the broker answered (CONNACK, PUBACKs), what it was sent,
    and whether it was dropped."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None) -> None:
        self.answers: dict[str, Any] = {"puback": {}, "messages": [], "disconnected": threading.Event()}
        self.connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}",
                        protocol=mqtt.MQTTv5)  # fmt: skip
        if username:
            c.username_pw_set(username, password)
        c.reconnect_delay_set(60, 120)  # a dropped probe stays down
        c.on_connect = self._on_connect
        c.on_publish = lambda _c, _u, mid, rc, _p: self.answers["puback"].__setitem__(mid, str(rc))
        c.on_message = lambda _c, _u, m: self.answers["messages"].append(m.topic)
        c.on_disconnect = lambda *_: self.answers["disconnected"].set()
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        self.connected.wait(5)

    def _on_connect(self, _c, _u, _f, reason_code, _p) -> None:  # type: ignore[no-untyped-def]
        self.answers.setdefault("connack", str(reason_code))
        self.connected.set()

    @property
    def connack(self) -> str | None:
        return self.answers.get("connack")

    def publish(self, topic: str, payload: bytes = b"{}") -> str:
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 5
        while info.mid not in self.answers["puback"] and time.monotonic() < deadline:
            time.sleep(0.02)
        return str(self.answers["puback"].get(info.mid))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_ingest(system: System, broker: PrivateBroker) -> tuple[IngestService, threading.Thread]:
    tag = uuid.uuid4().hex[:8]
    config = IngestConfig(port=broker.port, client_id=f"test-ingest-{tag}", group=f"g{tag}", flush_seconds=0.1,
                          session_expiry_s=0, username=INGEST_USER, password=broker.ingest_password)  # fmt: skip
    service = build_ingest(system, config)
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    assert service.connected.wait(10), broker.log()
    time.sleep(0.3)  # the SUBACK
    return service, runner


def wait_for(predicate, seconds: float = 30) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def test_a_box_signed_in_as_itself_reaches_the_ingest_and_opens_a_case(system: System,
                                                                        broker: PrivateBroker) -> None:  # fmt: skip
    [(device_id, floors)] = registered_devices(system.sessions, 1)
    env = {"LIFTCASE_DATABASE_URL": system.settings.database_url, "LIFTCASE_MQTT_USERNAME": INGEST_USER,
           "LIFTCASE_MQTT_PASSWORD": broker.ingest_password,
           "LIFTCASE_MQTT_PASSWORD_FILE": str(broker.password_file)}  # fmt: skip
    result = CliRunner().invoke(main, ["broker", "credentials", device_id], env=env)
    assert result.exit_code == 0, result.output
    secret = dict(line.split("\t") for line in result.stdout.splitlines())[device_id]
    broker.reload()
    service, runner = start_ingest(system, broker)
    try:
        stream = city_stream([(device_id, floors)], datetime.now(UTC) - timedelta(seconds=300), 300, seed=3,
                             fault_rate=1.0, faults=("door_held_open",))  # fmt: skip
        fleet = Fleet("127.0.0.1", broker.port, {device_id: secret}, [device_id])
        publish_all(fleet, ((name, payload) for _, name, payload in stream.messages))
        fleet.disconnect()
        assert wait_for(lambda: service.pipeline.handled >= len(stream.messages))
        assert wait_for(service.idle)
    finally:
        service.stop()
        runner.join(10)
    with system.sessions() as session:
        elevator_id = session.scalar(select(Device.elevator_id).where(Device.id == device_id))
        cases = list(session.scalars(select(Case.case_type).where(Case.elevator_id == elevator_id)))
    assert stream.truth and cases == ["warning"]


def test_a_box_cannot_publish_or_read_as_another(system: System, broker: PrivateBroker) -> None:
    [(mine, _), (other, _)] = registered_devices(system.sessions, 2)
    issued = issue_credentials(system.sessions, system.settings, system.clock.now(), [mine, other])
    broker.reload()
    service, runner = start_ingest(system, broker)
    box, neighbour = Probe(broker.port, mine, issued[mine]), Probe(broker.port, other, issued[other])
    try:
        assert box.connack == neighbour.connack == "Success"
        box.client.subscribe("lift/+/#", qos=1)  # Mosquitto grants it, then filters by the ACL
        assert box.publish(f"lift/{other}/status") == "Not authorized"
        assert box.publish(f"lift/{other}/event") == "Not authorized"
        assert box.publish(f"lift/{other}/online", b"1") == "Not authorized"
        assert box.publish(f"lift/{mine}/status", b"not json") == "Success"  # the broker passes it on
        assert neighbour.publish(f"lift/{other}/status", b"not json either") == "Success"
        assert wait_for(lambda: service.pipeline.handled >= 2)
        time.sleep(0.5)
        assert service.pipeline.handled == 2  # only each box's own message reached the ingest
        assert box.answers["messages"] == []  # nor can a box listen to another, or to itself
        assert wait_for(service.idle)
    finally:
        box.close()
        neighbour.close()
        service.stop()
        runner.join(10)
    with system.sessions() as session:
        refused = sorted(session.scalars(select(DeadLetter.device_id)))
        count = session.scalar(select(func.count()).select_from(DeadLetter))
    assert refused == sorted([mine, other]) and count == 2  # the ingest saw the boxes' own (malformed) messages


def test_anonymous_clients_and_wrong_secrets_are_refused(system: System, broker: PrivateBroker) -> None:
    [(mine, _)] = registered_devices(system.sessions, 1)
    secret = issue_credentials(system.sessions, system.settings, system.clock.now(), [mine])[mine]
    broker.reload()
    tries = [Probe(broker.port), Probe(broker.port, mine, secret + "x"), Probe(broker.port, "nobody", secret),
             Probe(broker.port, INGEST_USER, "wrong")]  # fmt: skip
    for probe in tries:
        probe.close()
    assert [p.connack for p in tries] == ["Not authorized"] * 4
    ingest = Probe(broker.port, INGEST_USER, broker.ingest_password)
    try:
        assert ingest.connack == "Success"
        assert ingest.publish(f"lift/{mine}/status") == "Not authorized"  # the ingest only reads
    finally:
        ingest.close()


def test_a_rotated_secret_stops_working_once_the_broker_reloads(system: System, broker: PrivateBroker) -> None:
    [(mine, _)] = registered_devices(system.sessions, 1)
    old = issue_credentials(system.sessions, system.settings, system.clock.now(), [mine])[mine]
    broker.reload()
    holding = Probe(broker.port, mine, old)
    assert holding.connack == "Success"
    new = issue_credentials(system.sessions, system.settings, system.clock.now(), [mine])[mine]
    assert new != old
    broker.reload()
    assert holding.answers["disconnected"].wait(5)  # the broker drops a connection the old secret made
    late, fresh = Probe(broker.port, mine, old), Probe(broker.port, mine, new)
    for probe in (holding, late, fresh):
        probe.close()
    assert (late.connack, fresh.connack) == ("Not authorized", "Success")


def test_credentials_command_for_all_boxes_prints_each_secret_once(system: System, broker: PrivateBroker) -> None:
    env = {"LIFTCASE_DATABASE_URL": system.settings.database_url, "LIFTCASE_MQTT_USERNAME": INGEST_USER,
           "LIFTCASE_MQTT_PASSWORD": broker.ingest_password, "LIFTCASE_MQTT_PASSWORD_FILE": str(broker.password_file),
           "LIFTCASE_MQTT_ACL_FILE": str(broker.acl_file)}  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(main, ["broker", "credentials", "--all"], env=env)
    assert first.exit_code == 0, first.output
    issued = dict(line.split("\t") for line in first.stdout.splitlines())
    with system.sessions() as session:
        assert sorted(issued) == sorted(session.scalars(select(Device.id)))
    users = [line.split(":", 1)[0] for line in broker.password_file.read_text().splitlines()]
    assert users == [INGEST_USER, *sorted(issued)]
    assert secrets_absent(broker.password_file.read_text(), issued.values())
    assert broker.password_file.stat().st_mode & 0o777 == 0o640  # the broker's group reads it, no one else
    again = runner.invoke(main, ["broker", "credentials", "--all"], env=env)
    assert again.exit_code == 0 and again.stdout == ""  # every box has one: nothing new, nothing shown again
    rotated = runner.invoke(main, ["broker", "credentials", "--all", "--rotate"], env=env)
    assert set(dict(line.split("\t") for line in rotated.stdout.splitlines())) == set(issued)
    unknown = runner.invoke(main, ["broker", "credentials", "NO-SUCH-BOX"], env=env)
    assert unknown.exit_code != 0 and "not registered: NO-SUCH-BOX" in unknown.output
    no_ingest = runner.invoke(main, ["broker", "files"], env={**env, "LIFTCASE_MQTT_PASSWORD": ""})
    assert no_ingest.exit_code != 0 and "LIFTCASE_MQTT_PASSWORD" in no_ingest.output
    files = runner.invoke(main, ["broker", "files"], env={**env, "LIFTCASE_MQTT_USERNAME": "ingest-b"})
    assert files.exit_code == 0, files.output
    assert "user ingest-b\ntopic read lift/+/#" in broker.acl_file.read_text()
    assert broker.password_file.read_text().startswith("ingest-b:$7$101$")


def secrets_absent(text: str, secrets: Any) -> bool:
    return not any(s in text for s in secrets)


def test_the_simulator_publishes_as_each_box_with_its_secret(system: System, broker: PrivateBroker,
                                                              tmp_path: Any) -> None:  # fmt: skip
    chosen = [d for d, _ in registered_devices(system.sessions, 3)][1:]
    issued = issue_credentials(system.sessions, system.settings, system.clock.now(), chosen)
    broker.reload()
    secrets_file = tmp_path / "boxes.tsv"
    secrets_file.write_text("".join(f"{d}\t{s}\n" for d, s in issued.items()))
    env = {"LIFTCASE_DATABASE_URL": system.settings.database_url}
    args = ["simulate", "--port", str(broker.port), "--devices", "5", "--seconds", "120",
            "--truth", str(tmp_path / "truth.jsonl")]  # fmt: skip
    result = CliRunner().invoke(main, [*args, "--credentials", str(secrets_file)], env=env)
    assert result.exit_code == 0, result.output
    assert '"devices": 2' in result.stdout  # only the boxes it has secrets for
    secrets_file.write_text(f"{chosen[0]}\twrong\n")
    refused = CliRunner().invoke(main, [*args, "--credentials", str(secrets_file)], env=env)
    assert isinstance(refused.exception, ConnectionRefusedError)
    anonymous = CliRunner().invoke(main, args, env=env)  # a secured broker: the single connection is refused
    assert isinstance(anonymous.exception, ConnectionRefusedError)
