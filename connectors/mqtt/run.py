"""The entry point behind `liftcase ingest` (the CLI stays thin)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

from connectors.mqtt.ingest import IngestConfig, IngestService
from connectors.mqtt.pipeline import IngestPipeline
from detectors.rules.thresholds import load_thresholds

log = logging.getLogger(__name__)


def build_ingest(system: Any, config: IngestConfig, thresholds: Path | None = None) -> IngestService:
    from processes.telemetry import hand_over

    book = load_thresholds(thresholds or system.settings.detector_thresholds)
    pipeline = IngestPipeline(system.sessions, book, lambda signals: hand_over(system.jobs, signals), system.clock)
    return IngestService(pipeline, config)


def run_ingest(system: Any, config: IngestConfig, thresholds: Path | None = None, seconds: float | None = None) -> None:
    service = build_ingest(system, config, thresholds)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    log.info("ingest %s: %d devices known", config.client_id, len(service.pipeline.views))
    service.run(seconds)
