"""The demo's live telemetry: simulated boxes on real elevators, judged by the real detectors.

With a broker reachable, the simulator publishes over MQTT and an in-process ingest subscribes, as
deployed. Without one, the same stream goes straight into the ingest pipeline (embedded mode):
`make demo` needs nothing installed beyond Python.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

from connectors.mqtt.ingest import IngestConfig
from connectors.mqtt.publisher import connect_publisher, publish_paced
from connectors.mqtt.run import build_ingest
from demo.simulate import registered_devices
from demo.simulator import city_stream

log = logging.getLogger(__name__)


def broker_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


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
    if broker_reachable(host, port):
        # A session that ends with the demo: a broker shared with tests keeps no queue for it.
        ingest = build_ingest(system, IngestConfig(host=host, port=port, client_id="liftcase-demo-ingest",
                                                   group="liftcase-demo", session_expiry_s=0))  # fmt: skip
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
