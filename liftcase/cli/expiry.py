"""`liftcase expiry scan [--dry-run]`: the daily expiry scan, on demand."""

from __future__ import annotations

import click

from liftcase.cli.context import cli_system


@click.group()
def expiry() -> None:
    """检验到期: inspection and maintenance expiry cases."""


@expiry.command("scan")
@click.option("--dry-run", is_flag=True, help="count what the scan would open, join and skip; change nothing")
def scan_command(dry_run: bool) -> None:
    """Open the expiry cases the register calls for now (what the 02:30 job does). Last line:
    opened= joined= skipped= dry_run=."""
    from processes.expiry_scan import scan

    click.echo(scan(cli_system(), dry_run=dry_run).line())
