"""Periodic work of the telemetry connector."""

from __future__ import annotations

from connectors.mqtt.store import mark_silent_offline
from detectors.rules.thresholds import load_thresholds
from infra.periodic import Periodic
from processes.system import System


def devices_offline(system: System) -> list[str]:
    """Also when no ingest process runs (they check too): boxes unheard for the heartbeat timeout."""
    timeout = load_thresholds(system.settings.detector_thresholds).ingest.heartbeat_timeout_s
    return mark_silent_offline(system.sessions, system.clock.now(), timeout)


OFFLINE = Periodic("devices_offline", devices_offline, {"minute": "*"})
