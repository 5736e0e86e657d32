"""`liftcase supervision scan [--dry-run]`: the supervision-warning rules, on demand."""

from __future__ import annotations

import click

from liftcase.cli.context import cli_system


@click.group()
def supervision() -> None:
    """监督预警: sliding-window rules over cases."""


@supervision.command("scan")
@click.option("--dry-run", is_flag=True, help="list what the rules find and count what would open; change nothing")
def scan_command(dry_run: bool) -> None:
    """Evaluate every rule now (what the 02:40 job does): one line per finding, then
    opened= joined= skipped= dry_run=."""
    from processes.supervision import RULES
    from processes.supervision_rules import scan

    result, found = scan(cli_system(), dry_run=dry_run)
    for f in found:
        click.echo(
            f"{f.rule:<26} {RULES[f.rule]} {f.subject_name}: {f.observed} (limit {f.limit}, {f.window_days} days)"
        )
    click.echo(result.line())
