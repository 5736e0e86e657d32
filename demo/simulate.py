"""The entry point behind `liftcase simulate`: publish simulated boxes' streams over MQTT."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.mqtt.publisher import announce, connect_publisher, publish_all, publish_paced
from demo.simulator import FAULTS, city_stream
from registry.models import Device, Elevator


@dataclass(frozen=True)
class SimulateOptions:
    host: str = "127.0.0.1"
    port: int = 1883
    devices: int = 20
    seconds: float = 600
    fault_rate: float = 0.05
    faults: tuple[str, ...] = FAULTS
    seed: int = 1
    realtime: bool = False
    truth: Path | None = None


def registered_devices(sessions: Any, limit: int) -> list[tuple[str, int]]:
    with sessions() as session:
        rows = session.execute(
            select(Device.id, Elevator.floors)
            .join(Elevator, Elevator.id == Device.elevator_id)
            .order_by(Device.id)
            .limit(limit)
        ).all()
    return [(device_id, floors) for device_id, floors in rows]


def run_simulate(devices: list[tuple[str, int]], options: SimulateOptions) -> dict[str, Any]:
    """Real time: the stream starts now and is paced by its timestamps. Burst: the stream covers the
    last `seconds` and goes out as fast as the broker takes it."""
    now = datetime.now(UTC)
    start = now if options.realtime else now - timedelta(seconds=options.seconds)
    stream = city_stream(
        devices, start, options.seconds, seed=options.seed, fault_rate=options.fault_rate, faults=options.faults,
        cut=options.realtime,
    )  # fmt: skip
    if options.truth:
        options.truth.parent.mkdir(parents=True, exist_ok=True)
        with options.truth.open("w", encoding="utf-8") as f:
            for t in stream.truth:
                f.write(json.dumps(t.as_json(), ensure_ascii=False) + "\n")
    client = connect_publisher(options.host, options.port)
    try:
        announce(client, [d for d, _ in devices], True)
        if options.realtime:
            sent = publish_paced(client, stream.messages)
        else:
            sent = publish_all(client, ((name, payload) for _, name, payload in stream.messages))
    finally:
        client.disconnect()
        client.loop_stop()
    return {"devices": len(devices), "messages": sent, "faults": len(stream.truth)}
