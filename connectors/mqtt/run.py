"""The entry point behind `liftcase ingest` (the CLI stays thin).

Embedded (no Redis): one process, MQTT straight into the pipeline. Deployed (Redis): the partitioned
ingest (connectors/mqtt/partitioned.py), so any number of processes judge every box's stream whole.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

from connectors.mqtt.ingest import IngestConfig, IngestService
from connectors.mqtt.partitioned import PartitionConfig, PartitionedIngest
from connectors.mqtt.pipeline import IngestPipeline
from detectors.rules.thresholds import load_thresholds

log = logging.getLogger(__name__)


def build_ingest(system: Any, config: IngestConfig, thresholds: Path | None = None,
                 partitions: PartitionConfig | None = None) -> IngestService | PartitionedIngest:  # fmt: skip
    from processes.telemetry import hand_over

    book = load_thresholds(thresholds or system.settings.detector_thresholds)
    pipeline = IngestPipeline(system.sessions, book, lambda signals: hand_over(system.jobs, signals), system.clock)
    if system.settings.redis_url:
        return PartitionedIngest(pipeline, system.settings.redis_url, config, partitions)
    return IngestService(pipeline, config)


def run_ingest(system: Any, config: IngestConfig, thresholds: Path | None = None, seconds: float | None = None,
               partitions: PartitionConfig | None = None) -> None:  # fmt: skip
    service = build_ingest(system, config, thresholds, partitions)
    views = service.pipeline.views  # type: ignore[union-attr]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    mode = "partitioned" if isinstance(service, PartitionedIngest) else "embedded"
    log.info("ingest %s (%s): %d devices known", config.client_id, mode, len(views))
    service.run(seconds)
