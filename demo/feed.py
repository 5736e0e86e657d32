"""The demo's live telemetry: simulated boxes on real elevators, judged by the real detectors.

With a broker that lets anonymous clients in (a development broker), the simulator publishes over
MQTT and an in-process ingest subscribes, as deployed (signed in when LIFTCASE_MQTT_USERNAME is set).
Without one, or with a broker that has per-device accounts (the demo's freshly seeded boxes have no
secrets there), the same stream goes straight into the ingest pipeline (embedded mode): `make demo`
needs nothing installed beyond Python.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

from connectors.mqtt.ingest import IngestConfig
from connectors.mqtt.publisher import connect_publisher, publish_paced
from connectors.mqtt.run import build_ingest
from demo.simulate import registered_devices
from demo.simulator import city_stream

log = logging.getLogger(__name__)


def broker_open(host: str, port: int) -> bool:
    """A broker listens there and lets an anonymous client in."""
    answered = threading.Event()
    accepted: list[bool] = []

    def on_connect(_c, _u, _f, reason_code, _p) -> None:  # type: ignore[no-untyped-def]
        accepted.append(not reason_code.is_failure)
        answered.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect_timeout = 0.5
    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=5)
    except OSError:
        return False
    client.loop_start()
    answered.wait(2)
    client.disconnect()
    client.loop_stop()
    return accepted == [True]


def start_live_telemetry(
    system: Any,
    *,
    devices: int = 30,
    hours: float = 4,
    fault_rate: float = 0.02,
    host: str = "127.0.0.1",
    port: int = 1883,
) -> str:
    """Start feeding in daemon threads; returns how ("mqtt" or "direct")."""
    cars = registered_devices(system.sessions, devices)
    stream = city_stream(cars, datetime.now(UTC), hours * 3600, seed=int(time.time()), fault_rate=fault_rate,
                         cut=True)  # fmt: skip
    if broker_open(host, port):
        # A session that ends with the demo: a broker shared with tests keeps no queue for it.
        settings = system.settings
        ingest = build_ingest(system, IngestConfig(host=host, port=port, client_id="liftcase-demo-ingest",
                                                   group="liftcase-demo", session_expiry_s=0,
                                                   username=settings.mqtt_username,
                                                   password=settings.mqtt_password))  # fmt: skip
        threading.Thread(target=ingest.run, name="demo-ingest", daemon=True).start()

        def publish() -> None:
            # No retained presence flags: they would outlive the demo on a shared broker.
            client = connect_publisher(host, port, client_id="liftcase-demo-boxes")
            publish_paced(client, stream.messages)

        threading.Thread(target=publish, name="demo-boxes", daemon=True).start()
        return "mqtt"
    pipeline = build_ingest(system, IngestConfig()).pipeline

    def feed() -> None:
        last_flush = time.monotonic()
        for at, topic, payload in stream.messages:
            wait = (at - datetime.now(UTC)).total_seconds()
            if wait > 0:
                time.sleep(wait)
            pipeline.handle(topic, payload)
            if pipeline.pending() and time.monotonic() - last_flush > 1.0:
                try:
                    pipeline.flush()
                except Exception:  # the demo keeps running; the ingest's own retries are for deployments
                    log.exception("demo telemetry flush failed")
                last_flush = time.monotonic()

    threading.Thread(target=feed, name="demo-boxes", daemon=True).start()
    return "direct"
