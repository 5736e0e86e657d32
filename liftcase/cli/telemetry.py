"""Telemetry: the MQTT ingest, its dead letters, the device simulator."""

from __future__ import annotations

import json
from pathlib import Path

import click

from liftcase.cli.context import cli_system


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True)
@click.option("--client-id", default="liftcase-ingest-1", show_default=True, help="stable per process (session)")
@click.option("--group", default="liftcase", show_default=True, help="shared-subscription group")
@click.option("--thresholds", type=click.Path(exists=True, path_type=Path), help="detector thresholds TOML")
@click.option("--seconds", type=float, help="stop after this long (default: until SIGTERM)")
def ingest(host: str, port: int, client_id: str, group: str, thresholds: Path | None, seconds: float | None) -> None:
    """Run an MQTT ingest process: status/event/online telemetry through the detectors into cases.
    With LIFTCASE_REDIS_URL, run as many as wanted on one group: each relays to partitions on Redis
    Streams and judges the partitions it holds (connectors/mqtt/partitioned.py)."""
    from connectors.mqtt.ingest import IngestConfig
    from connectors.mqtt.run import run_ingest

    system = cli_system()
    config = IngestConfig(host=host, port=port, client_id=client_id, group=group,
                          username=system.settings.mqtt_username, password=system.settings.mqtt_password)  # fmt: skip
    run_ingest(system, config, thresholds, seconds)


@click.command("dead-letters")
@click.option("--reason", help="only this rejection reason (bad_json, unknown_device, old_seq, ...)")
@click.option("--limit", default=20, show_default=True)
def dead_letters(reason: str | None, limit: int) -> None:
    """MQTT ingest: counters by reason and the latest refused messages with their raw payload."""
    from connectors.mqtt.store import ingest_report

    click.echo(json.dumps(ingest_report(cli_system().sessions, reason, limit), ensure_ascii=False, indent=2))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True)
@click.option("--devices", default=20, show_default=True, help="how many registered devices to simulate")
@click.option("--seconds", default=600.0, show_default=True, help="length of the simulated stream")
@click.option("--fault-rate", default=0.05, show_default=True, help="chance of a fault after each trip")
@click.option("--fault", "faults", multiple=True, help="inject only these fault kinds (repeatable)")
@click.option("--seed", "seed_value", default=1, show_default=True)
@click.option("--realtime/--burst", default=False, show_default=True, help="pace by timestamps, or send at once")
@click.option("--truth", type=click.Path(path_type=Path), default=Path("var/simulate-truth.jsonl"), show_default=True)
@click.option(
    "--credentials",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="`device_id<TAB>secret` lines (liftcase broker credentials): each box signs in as itself",
)
def simulate(host: str, port: int, devices: int, seconds: float, fault_rate: float, faults: tuple[str, ...],
             seed_value: int, realtime: bool, truth: Path, credentials: Path | None) -> None:  # fmt: skip
    """Publish realistic status streams for registered devices over MQTT, with injected faults and a
    ground-truth JSONL log of every fault."""
    from connectors.mqtt.publisher import read_device_secrets
    from demo.simulate import SimulateOptions, registered_devices, run_simulate
    from demo.simulator import FAULTS

    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise click.UsageError(f"unknown fault(s) {', '.join(sorted(unknown))}; choose from {', '.join(FAULTS)}")
    system = cli_system()
    secrets = read_device_secrets(credentials) if credentials else None
    chosen = registered_devices(system.sessions, devices, secrets)
    if not chosen:
        raise click.UsageError("no registered devices (with credentials): run `liftcase init` and `liftcase seed`")
    options = SimulateOptions(host, port, len(chosen), seconds, fault_rate, tuple(faults) or FAULTS, seed_value,
                              realtime, truth, secrets)  # fmt: skip
    click.echo(json.dumps(run_simulate(chosen, options)))
