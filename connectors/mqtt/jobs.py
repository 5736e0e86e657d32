"""Periodic work of the telemetry connector."""

from __future__ import annotations

from datetime import timedelta

from connectors.mqtt import dead_letters
from connectors.mqtt.store import mark_silent_offline
from detectors.rules.thresholds import load_thresholds
from infra.periodic import Periodic
from processes.device_offline_flows import after_heartbeat_check
from processes.system import System


def devices_offline(system: System) -> list[str]:
    """Also when no ingest process runs (they check too): boxes unheard for the heartbeat timeout."""
    timeout = load_thresholds(system.settings.detector_thresholds).ingest.heartbeat_timeout_s
    silent = mark_silent_offline(system.sessions, system.clock.now(), timeout)
    after_heartbeat_check(system)  # device-offline cases open and close (processes/)
    return silent


def purge_dead_letters(system: System) -> int:
    """Dead letters older than the retention period go (settings.dead_letter_retention_days)."""
    before = system.clock.now() - timedelta(days=system.settings.dead_letter_retention_days)
    return dead_letters.purge(system.sessions, before)


OFFLINE = Periodic("devices_offline", devices_offline, {"minute": "*"})
PURGE_DEAD_LETTERS = Periodic("dead_letters_purge", purge_dead_letters, {"hour": 3, "minute": 40})
