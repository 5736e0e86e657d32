"""Draining the broker session of an ingest process that went away.

Mosquitto keeps dealing a share group's messages to every subscribed session, connected or not, so
the share of a process that died (or was stopped for good) would wait in its session until it comes
back. When a process's membership expires, one of the others (a Redis lock decides which) connects
as that process's MQTT client id, relays what the broker kept for it to the partitions, unsubscribes
the session from the share group and ends it. A process that comes back connects with a fresh
session and subscribes again (and, should it come back while the drain runs, takes its session over:
the drainer then stops instead of reconnecting).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from connectors.mqtt.ingest import IngestConfig, IngestService
from connectors.mqtt.relay import StreamRelay
from connectors.mqtt.topics import shared_filters

log = logging.getLogger(__name__)


def _quiet(service: IngestService, relay: StreamRelay, quiet_s: float, limit: float) -> None:
    """Until nothing new has arrived for `quiet_s` and all of it is appended and acknowledged."""
    seen, since = relay.handled, time.monotonic()
    while time.monotonic() < limit and not service.stopping.is_set():
        time.sleep(0.1)
        if relay.handled != seen:
            seen, since = relay.handled, time.monotonic()
        elif time.monotonic() - since >= quiet_s and service.idle():
            return


def drain_session(relay: StreamRelay, config: IngestConfig, client_id: str, quiet_s: float = 1.0,
                  limit_s: float = 300.0) -> int:  # fmt: skip
    """Relay what the broker kept for `client_id`'s session, then end that session. How many."""
    drain_relay = StreamRelay(relay.redis, relay.layout)
    cfg = replace(config, client_id=client_id, flush_seconds=0.05, flush_messages=2000, offline_check_s=10**9)
    service = IngestService(drain_relay, cfg, drainer=True)
    runner = threading.Thread(target=service.run, name=f"drain-{client_id}", daemon=True)
    runner.start()
    limit = time.monotonic() + limit_s
    try:
        if not service.connected.wait(10):
            log.warning("could not drain the session of %s: no connection", client_id)
            return drain_relay.handled
        _quiet(service, drain_relay, quiet_s, limit)
        before_unsubscribe = drain_relay.handled
        service.client.unsubscribe(shared_filters(config.group))  # the broker stops dealing to it
        _quiet(service, drain_relay, quiet_s, limit)
        service.end_session = True
    finally:
        service.stop()
        runner.join(30)
    # A warning: a process went away, and operators want to see what its share became.
    log.warning("drained %d message(s) the broker kept for departed ingest %s (%d before unsubscribing) in %.1fs;"
                " its session is ended", drain_relay.handled, client_id, before_unsubscribe,
                time.monotonic() - limit + limit_s)  # fmt: skip
    return drain_relay.handled
