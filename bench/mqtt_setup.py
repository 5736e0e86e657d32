"""Shared set-up for the MQTT benchmarks: a private Mosquitto with the deployed config (its accounts
and ACL), a fresh PostgreSQL database."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text

from tests.support import broker as private

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LIFTCASE_BENCH_REDIS", "redis://127.0.0.1:6379/11")
INGEST_USER = private.INGEST_USER


# One connection publishes the whole simulated city, so the benchmark has an account the deployed
# ACL does not: it may write every box's topics (tests/support/broker.FleetBroker).
PrivateBroker = private.FleetBroker
PUBLISHER = private.FleetBroker.PUBLISHER


def prime_session(port: int, client_id: str, filters: list[str], auth: tuple[str, str]) -> None:
    """Create a persistent session with its subscriptions, then leave: the broker queues for it."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(*auth)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect("127.0.0.1", port, clean_start=True, properties=props)
    c.loop_start()
    c.subscribe([(f, 1) for f in filters])
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


class FreshDatabase:
    def __init__(self, prefix: str) -> None:
        self.name = f"{prefix}_{uuid.uuid4().hex[:6]}"
        self.admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = PG.rsplit("/", 1)[0] + f"/{self.name}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
