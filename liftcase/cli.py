"""`liftcase` command line: set up, seed, run the parts, verify the timeline, run scenarios."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import select

from detectors.risk.commands import risk as risk_commands
from liftcase.settings import Settings
from reports.cli import audit as audit_commands
from reports.cli import report as report_commands


def _system(**overrides: object):  # -> System (import late: the CLI should start fast)
    import liftcase.jobs  # noqa: F401 - registers job functions
    from liftcase.system import build_system

    return build_system(replace(Settings.from_env(), **overrides))  # type: ignore[arg-type]


@click.group()
@click.option("-v", "--verbose", is_flag=True)
def main(verbose: bool) -> None:
    """liftcase: BPMN-driven elevator rescue and safety-supervision cases."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command()
def init() -> None:
    """Migrate the database to the newest schema and deploy the BPMN in bpmn/."""
    system = _system()
    system.create_schema()
    for d in system.deploy_processes():
        state = "deployed" if d.created else "unchanged"
        click.echo(f"{d.definition.key} v{d.definition.version} {state}")


@main.command()
@click.option("--seed", "seed_value", default=20261123, show_default=True)
@click.option("--elevators", default=14188, show_default=True)
@click.option("--devices", default=1000, show_default=True)
def seed(seed_value: int, elevators: int, devices: int) -> None:
    """Generate the demo city (Dazhou) deterministically from a seed."""
    from werkzeug.security import generate_password_hash

    from liftcase.seed import seed_city

    system = _system()
    with system.sessions() as session, session.begin():
        counts = seed_city(
            session,
            seed=seed_value,
            elevators=elevators,
            devices=devices,
            clock_now=system.clock.now(),
            hash_password=generate_password_hash,
        )
    click.echo(json.dumps(counts, ensure_ascii=False))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the web app (development server; deploy with gunicorn 'web.wsgi:app')."""
    from werkzeug.serving import run_simple

    from web.app import create_app

    run_simple(host, port, create_app(_system()), threaded=True)


@main.command()
@click.option("--fork/--no-fork", default=True, show_default=True,
              help="fork per job (isolation), or run jobs in the worker itself (keeps parsed BPMN and connections)")
def worker(fork: bool) -> None:
    """Run an rq worker for engine steps and notification sends (needs LIFTCASE_REDIS_URL)."""
    from redis import Redis
    from rq import SimpleWorker, Worker

    settings = Settings.from_env()
    if not settings.redis_url:
        raise click.UsageError("set LIFTCASE_REDIS_URL to run a worker (embedded mode runs jobs in-process)")
    _system()
    kind = Worker if fork else SimpleWorker
    kind(["liftcase"], connection=Redis.from_url(settings.redis_url)).work(with_scheduler=True)


@main.command()
def scheduler() -> None:
    """Run the timer loop: fire every case timer within a poll interval of its due time."""
    from engine.scheduler import run_forever
    from liftcase.schedule import add_to

    system = _system()
    run_forever(system.engine, system.settings.timer_poll_seconds, extra=add_to)


@main.command("verify-timeline")
@click.option("--case", "case_number", help="one case number (default: every case)")
def verify_timeline(case_number: str | None) -> None:
    """Check every case's hash chain; name the first broken link. Exit 1 if any is broken."""
    from engine.timeline_store import verify_cases

    system = _system()
    checked, breaks = verify_cases(system.sessions, case_number)
    for b in breaks:
        click.echo(f"BROKEN {b}", err=True)
    click.echo(f"checked {checked} case(s): {'OK' if not breaks else f'{len(breaks)} broken'}")
    sys.exit(1 if breaks else 0)


@main.command("scenario")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print the case's timeline as JSON")
def scenario_cmd(name: str, as_json: bool) -> None:
    """Run one case type end to end in a throwaway database on a simulated clock."""
    import liftcase.jobs  # noqa: F401
    from engine.clock import SimulatedClock
    from liftcase.system import build_system
    from processes.scenarios import SCENARIOS
    from processes.timelines import case_timeline

    if name not in SCENARIOS:
        raise click.UsageError(f"unknown scenario {name!r}; choose from {', '.join(sorted(SCENARIOS))}")
    with tempfile.TemporaryDirectory() as tmp:
        clock = SimulatedClock(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
        settings = replace(
            Settings.from_env(), database_url=f"sqlite:///{Path(tmp) / 'scenario.sqlite3'}", redis_url=None
        )
        system = build_system(settings, clock=clock)
        system.create_schema()
        _seed_small(system)
        system.deploy_processes()
        case_id = SCENARIOS[name](system, clock)
        timeline = case_timeline(system.sessions, case_id)
        system.db.dispose()
    if as_json:
        click.echo(json.dumps(timeline, ensure_ascii=False, indent=2))
    else:
        for event in timeline["events"]:
            click.echo(f"{event['at_local']}  {event['kind']:<20} {event['summary']}")


def _seed_small(system) -> None:  # type: ignore[no-untyped-def]
    from liftcase.seed import seed_city

    with system.sessions() as session, session.begin():
        seed_city(session, elevators=300, devices=30, clock_now=system.clock.now())


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="set up and make activity, then exit")
@click.option("--fresh/--keep", default=True, show_default=True, help="start from an empty demo database")
def demo(port: int, no_serve: bool, fresh: bool) -> None:
    """Embedded demo: SQLite, in-process jobs and timers, a seeded city, some live cases."""
    from engine.scheduler import start_background
    from processes.demo import make_activity

    settings = Settings.from_env()
    db_path = Path(settings.database_url.split("///", 1)[-1])
    if fresh and settings.database_url.startswith("sqlite") and db_path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    system = _system(redis_url=None)
    system.create_schema()
    from engine.models import Case

    with system.sessions() as session:
        seeded = session.scalar(select(Case.id).limit(1)) is not None
    if not seeded:
        from werkzeug.security import generate_password_hash

        from liftcase.seed import seed_city

        with system.sessions() as session, session.begin():
            seed_city(session, clock_now=system.clock.now(), hash_password=generate_password_hash)
    system.deploy_processes()
    from liftcase.schedule import add_to

    timers = start_background(system.engine, system.settings.timer_poll_seconds, extra=add_to)
    summary = make_activity(system)
    from detectors.risk.flows import score_all

    score_all(system)  # the console's risk view has scores before the first 02:00 run
    from connectors.mqtt.demo_feed import start_live_telemetry
    from liftcase.registry.models import Elevator
    from liftcase.seed import DEMO_PASSWORD

    feed = "off (--no-serve)" if no_serve else start_live_telemetry(system)
    with system.sessions() as session:
        qr = session.scalar(select(Elevator.qr_code).where(Elevator.device_id.is_not(None)).order_by(Elevator.id))
    base = f"http://127.0.0.1:{port}"
    click.echo(f"""
liftcase demo is running (embedded: SQLite, in-process jobs, timer loop every {settings.timer_poll_seconds}s)
  console         {base}/console/   (sign in as below)
  demo users      dispatcher, maint, maint_manager, property, regulator, city_regulator, analyst, auditor, admin
  password        {DEMO_PASSWORD}
  dispatch screen {base}/console/screens/dispatch?kiosk=1
  passenger page  {base}/r/{qr}   (public QR page: 一键救援, complaint)
  API docs        {base}/api/docs   (OpenAPI: {base}/api/openapi.json)
  live telemetry  30 simulated boxes, {feed} (faults become warning and rescue cases)
  database        {db_path}
  cases opened    {summary}
  check timeline  .venv/bin/liftcase verify-timeline
  see a ladder    .venv/bin/liftcase scenario rescue
""")
    if no_serve:
        timers.shutdown(wait=False)
        return
    from werkzeug.serving import run_simple

    from web.app import create_app

    run_simple("127.0.0.1", port, create_app(system), threaded=True)


main.add_command(risk_commands)  # 风险研判: liftcase risk score | train
main.add_command(audit_commands)  # liftcase audit export | verify
main.add_command(report_commands)  # liftcase report rescue | case

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True)
@click.option("--client-id", default="liftcase-ingest-1", show_default=True, help="stable per process (session)")
@click.option("--group", default="liftcase", show_default=True, help="shared-subscription group")
@click.option("--thresholds", type=click.Path(exists=True, path_type=Path), help="detector thresholds TOML")
@click.option("--seconds", type=float, help="stop after this long (default: until SIGTERM)")
def ingest(host: str, port: int, client_id: str, group: str, thresholds: Path | None, seconds: float | None) -> None:
    """Run an MQTT ingest process: status/event/online telemetry through the detectors into cases."""
    from connectors.mqtt.ingest import IngestConfig
    from connectors.mqtt.run import run_ingest

    config = IngestConfig(host=host, port=port, client_id=client_id, group=group)
    run_ingest(_system(), config, thresholds, seconds)


@main.command("dead-letters")
@click.option("--reason", help="only this rejection reason (bad_json, unknown_device, old_seq, ...)")
@click.option("--limit", default=20, show_default=True)
def dead_letters(reason: str | None, limit: int) -> None:
    """MQTT ingest: counters by reason and the latest refused messages with their raw payload."""
    from connectors.mqtt.store import ingest_report

    click.echo(json.dumps(ingest_report(_system().sessions, reason, limit), ensure_ascii=False, indent=2))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True)
@click.option("--devices", default=20, show_default=True, help="how many registered devices to simulate")
@click.option("--seconds", default=600.0, show_default=True, help="length of the simulated stream")
@click.option("--fault-rate", default=0.05, show_default=True, help="chance of a fault after each trip")
@click.option("--fault", "faults", multiple=True, help="inject only these fault kinds (repeatable)")
@click.option("--seed", "seed_value", default=1, show_default=True)
@click.option("--realtime/--burst", default=False, show_default=True, help="pace by timestamps, or send at once")
@click.option("--truth", type=click.Path(path_type=Path), default=Path("var/simulate-truth.jsonl"), show_default=True)
def simulate(host: str, port: int, devices: int, seconds: float, fault_rate: float, faults: tuple[str, ...],
             seed_value: int, realtime: bool, truth: Path) -> None:  # fmt: skip
    """Publish realistic status streams for registered devices over MQTT, with injected faults and a
    ground-truth JSONL log of every fault."""
    from connectors.mqtt.run import SimulateOptions, registered_devices, run_simulate
    from connectors.mqtt.simulator import FAULTS

    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise click.UsageError(f"unknown fault(s) {', '.join(sorted(unknown))}; choose from {', '.join(FAULTS)}")
    system = _system()
    chosen = registered_devices(system.sessions, devices)
    if not chosen:
        raise click.UsageError("no registered devices: run `liftcase init` and `liftcase seed` first")
    options = SimulateOptions(host, port, len(chosen), seconds, fault_rate, tuple(faults) or FAULTS, seed_value,
                              realtime, truth)  # fmt: skip
    click.echo(json.dumps(run_simulate(chosen, options)))


@main.command("qr-sheets")
@click.option("--district", required=True, help="district code, e.g. 511702")
@click.option("--variant", default="all", show_default=True, help="car, pit, machine_room (comma list) or all")
@click.option("--out", type=click.Path(path_type=Path), help="PDF file (default qr-signs-DISTRICT.pdf)")
def qr_sheets(district: str, variant: str, out: Path | None) -> None:
    """Printable QR signs for every elevator of a district, one A5 page per sign."""
    from connectors.qr.sheets import parse_variants, render_pdf, signs

    try:
        variants = parse_variants(variant)
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    system = _system()
    with system.sessions() as session:
        items = signs(session, system.settings.public_base_url, district=district, variants=variants)
    if not items:
        raise click.UsageError(f"no elevators in district {district}")
    out = out or Path(f"qr-signs-{district}.pdf")
    out.write_bytes(render_pdf(items))
    click.echo(f"{out}: {len(items)} signs")


@main.command("ai-source")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="give an existing source a new secret")
def ai_source(name: str, rotate: bool) -> None:
    """Register a camera-AI source and print its HMAC secret (shown once; give it to the sender)."""
    from connectors.ai_events.service import add_source

    system = _system()
    try:
        with system.sessions() as session, session.begin():
            secret = add_source(session, name, system.clock.now(), rotate=rotate)
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    click.echo(secret)


@main.command("vision-detect")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--elevator", "elevator_code", help="register or QR code: turn e-bike detections into AI events")
def vision_detect(images: tuple[Path, ...], elevator_code: str | None) -> None:
    """Run the car-camera model on snapshots; print detections (and with --elevator, open cases)."""
    from detectors.vision.adapter import VisionModel
    from detectors.vision.events import submit_detections

    system = _system()
    model = VisionModel.load(system.settings.vision_model)
    for path in images:
        data = path.read_bytes()
        found = model.detect(data)
        line: dict[str, object] = {"image": str(path), "detections": [d.__dict__ for d in found]}
        if elevator_code:
            line["events"] = [a.__dict__ for a in submit_detections(system, elevator_code, data, found)]
        click.echo(json.dumps(line, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
