"""Case commands: verify the hash chains, run a case type end to end."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from infra.settings import Settings
from liftcase.cli.context import cli_system
from processes.system import System


@click.command("verify-timeline")
@click.option("--case", "case_number", help="one case number (default: every case)")
def verify_timeline(case_number: str | None) -> None:
    """Check every case's hash chain and the admin audit log's (not with --case); name the first
    broken link. Exit 1 if any is broken."""
    from engine.timeline_store import verify_cases
    from processes import admin_audit

    system = cli_system()
    checked, breaks = verify_cases(system.sessions, case_number)
    for b in breaks:
        click.echo(f"BROKEN {b}", err=True)
    click.echo(f"checked {checked} case(s): {'OK' if not breaks else f'{len(breaks)} broken'}")
    admin_ok = True
    if case_number is None:
        with system.sessions() as session:
            chain = admin_audit.verify(session)
        admin_ok = chain.intact
        if not admin_ok:
            where = f"entry #{chain.broken_seq}" if chain.broken_seq is not None else "chain"
            click.echo(f"BROKEN admin audit {where}: {chain.reason}", err=True)
        click.echo(f"checked {chain.entries} admin audit entries: {'OK' if admin_ok else 'broken'}")
    sys.exit(1 if breaks or not admin_ok else 0)


@click.command("scenario")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print the case's timeline as JSON")
def scenario_cmd(name: str, as_json: bool) -> None:
    """Run one case type end to end in a throwaway database on a simulated clock."""
    from demo.scenarios import SCENARIOS
    from infra.clock import SimulatedClock
    from liftcase.bootstrap import build_system, create_schema
    from processes.timelines import case_timeline

    if name not in SCENARIOS:
        raise click.UsageError(f"unknown scenario {name!r}; choose from {', '.join(sorted(SCENARIOS))}")
    with tempfile.TemporaryDirectory() as tmp:
        clock = SimulatedClock(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
        settings = replace(
            Settings.from_env(), database_url=f"sqlite:///{Path(tmp) / 'scenario.sqlite3'}", redis_url=None
        )
        system = build_system(settings, clock=clock)
        create_schema(system)
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


def _seed_small(system: System) -> None:
    from demo.seed import seed_city

    with system.sessions() as session, session.begin():
        seed_city(session, elevators=300, devices=30, clock_now=system.clock.now(), city=system.settings.city_profile)
