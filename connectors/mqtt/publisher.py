"""Publishing simulated telemetry to a broker (the `liftcase simulate` command and the benchmarks)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from connectors.mqtt.topics import topic


def connect_publisher(host: str, port: int, client_id: str = "", max_inflight: int = 1000) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=60)
    client.loop_start()
    return client


def publish_all(client: mqtt.Client, messages: Iterable[tuple[str, bytes]], qos: int = 1) -> int:
    """Publish as fast as the broker takes them; returns how many, after the last is acknowledged."""
    last = None
    n = 0
    for name, payload in messages:
        last = client.publish(name, payload, qos=qos)
        n += 1
    if last is not None:
        last.wait_for_publish(timeout=600)
    return n


def publish_paced(client: mqtt.Client, messages: Iterable[tuple[datetime, str, bytes]], qos: int = 1) -> int:
    """Publish each message when its timestamp comes (the simulator's real-time mode)."""
    n = 0
    last = None
    for ts, name, payload in messages:
        delay = (ts - datetime.now(UTC)).total_seconds()
        if delay > 0:
            time.sleep(delay)
        last = client.publish(name, payload, qos=qos)
        n += 1
    if last is not None:
        last.wait_for_publish(timeout=60)
    return n


def announce(client: mqtt.Client, device_ids: Iterable[str], online: bool) -> None:
    """The retained presence flag a box publishes on connect (`1`); its last will is `0`."""
    for device_id in device_ids:
        client.publish(topic(device_id, "online"), b"1" if online else b"0", qos=1, retain=True)
