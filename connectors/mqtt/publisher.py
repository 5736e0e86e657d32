"""Publishing simulated telemetry to a broker (the `liftcase simulate` command and the benchmarks).

On an open broker one connection publishes for every box. On a broker with per-device accounts
(connectors/mqtt/mosquitto.conf) a box may publish only its own topics, so a `Fleet` opens one
connection per box, each signed in with that box's secret."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt

from connectors.mqtt.topics import split, topic


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> mqtt.MQTTMessageInfo: ...

    def disconnect(self) -> object: ...

    def loop_stop(self) -> object: ...


def connect_publisher(
    host: str,
    port: int,
    client_id: str = "",
    max_inflight: int = 1000,
    username: str | None = None,
    password: str | None = None,
) -> mqtt.Client:
    """One connection for every box (an open broker, or an account allowed every box's topics)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    if username:
        client.username_pw_set(username, password)
    _accepted({"publisher": client}, host, port)
    return client


def _accepted(clients: Mapping[str, mqtt.Client], host: str, port: int, timeout: float = 10) -> None:
    """Connect them all and wait for the broker's answers: a refused sign-in fails here, not as
    publishes that never get acknowledged."""
    answers: dict[str, str] = {}
    for name, client in clients.items():
        client.on_connect = lambda _c, _u, _f, rc, _p, name=name: answers.setdefault(name, str(rc))
        client.connect(host, port, keepalive=60)
        client.loop_start()
    deadline = time.monotonic() + timeout
    while len(answers) < len(clients) and time.monotonic() < deadline:
        time.sleep(0.02)
    refused = {name: answers.get(name, "no answer") for name in clients if answers.get(name) != "Success"}
    if refused:
        for client in clients.values():
            client.disconnect()
            client.loop_stop()
        shown = dict(list(refused.items())[:5])
        raise ConnectionRefusedError(f"broker {host}:{port} refused {len(refused)} connection(s): {shown}")


def read_device_secrets(path: Path) -> dict[str, str]:
    """`device_id<TAB>secret` lines, as `liftcase broker credentials` prints them."""
    secrets: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            device_id, secret = line.split(None, 1)
            secrets[device_id] = secret.strip()
    return secrets


class Fleet:
    """One connection per box, each signed in as that box, with the box's last will (offline)."""

    def __init__(self, host: str, port: int, secrets: Mapping[str, str], device_ids: Iterable[str]) -> None:
        self.clients: dict[str, mqtt.Client] = {}
        for device_id in device_ids:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"box-{device_id}",
                                 protocol=mqtt.MQTTv311)  # fmt: skip
            client.username_pw_set(device_id, secrets[device_id])
            client.will_set(topic(device_id, "online"), b"0", qos=1, retain=True)
            client.max_queued_messages_set(0)
            self.clients[device_id] = client
        _accepted(self.clients, host, port)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> mqtt.MQTTMessageInfo:
        parts = split(topic)
        if parts is None or parts[0] not in self.clients:
            raise KeyError(f"no connection for {topic}")
        return self.clients[parts[0]].publish(topic, payload, qos=qos, retain=retain)

    def disconnect(self) -> None:
        for client in self.clients.values():
            client.disconnect()

    def loop_stop(self) -> None:
        for client in self.clients.values():
            client.loop_stop()


def _wait(last: Mapping[str, mqtt.MQTTMessageInfo], timeout: float) -> None:
    """Until the last message on every topic is acknowledged (a fleet has a connection per box)."""
    deadline = time.monotonic() + timeout
    for info in last.values():
        info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))


# Unacknowledged QoS 1 messages one connection may have queued: paho's message ids wrap at 65,535,
# and a publish whose id is still taken is dropped (MQTT_ERR_QUEUE_SIZE).
OUTSTANDING = 30000


def publish_all(client: Publisher, messages: Iterable[tuple[str, bytes]], qos: int = 1) -> int:
    """Publish as fast as the broker takes them; returns how many, after the last is acknowledged."""
    last: dict[str, mqtt.MQTTMessageInfo] = {}
    outstanding: deque[mqtt.MQTTMessageInfo] = deque()
    n = 0
    for name, payload in messages:
        info = last[name] = client.publish(name, payload, qos=qos)
        if qos:
            outstanding.append(info)
            if len(outstanding) >= OUTSTANDING:
                outstanding.popleft().wait_for_publish(600)
        n += 1
    _wait(last, 600)
    return n


def publish_paced(client: Publisher, messages: Iterable[tuple[datetime, str, bytes]], qos: int = 1) -> int:
    """Publish each message when its timestamp comes (the simulator's real-time mode)."""
    n = 0
    last: dict[str, mqtt.MQTTMessageInfo] = {}
    for ts, name, payload in messages:
        delay = (ts - datetime.now(UTC)).total_seconds()
        if delay > 0:
            time.sleep(delay)
        last[name] = client.publish(name, payload, qos=qos)
        n += 1
    _wait(last, 60)
    return n


def announce(client: Publisher, device_ids: Iterable[str], online: bool) -> None:
    """The retained presence flag a box publishes on connect (`1`); its last will is `0`."""
    for device_id in device_ids:
        client.publish(topic(device_id, "online"), b"1" if online else b"0", qos=1, retain=True)
