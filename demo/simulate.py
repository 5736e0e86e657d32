"""The entry point behind `liftcase simulate`: publish simulated boxes' streams over MQTT."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.mqtt.publisher import Fleet, Publisher, announce, connect_publisher, publish_all, publish_paced
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
    # device id -> secret (`liftcase broker credentials`): one connection per box, signed in as it.
    secrets: Mapping[str, str] | None = None


def registered_devices(sessions: Any, limit: int, among: Collection[str] | None = None) -> list[tuple[str, int]]:
    """Up to `limit` registered boxes on elevators (of those in `among`), with their floor counts."""
    query = select(Device.id, Elevator.floors).join(Elevator, Elevator.id == Device.elevator_id)
    if among is not None:
        query = query.where(Device.id.in_(list(among)))
    with sessions() as session:
        rows = session.execute(query.order_by(Device.id).limit(limit)).all()
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
    client: Publisher = (
        Fleet(options.host, options.port, options.secrets, [d for d, _ in devices])
        if options.secrets
        else connect_publisher(options.host, options.port)
    )
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
