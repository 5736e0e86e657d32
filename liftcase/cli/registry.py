"""`liftcase registry import FILE --source provincial` and `liftcase registry reconcile`: register
sync (数据治理) from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from liftcase.cli.context import cli_system
from registry.sync.fields import IMPORTED_SOURCES


@click.group()
def registry() -> None:
    """数据治理: a source's register export in, the sources compared."""


@registry.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", type=click.Choice(IMPORTED_SOURCES), default="provincial", show_default=True)
@click.option("--actor", default="cli", show_default=True, help="the name the admin audit records")
def import_command(path: Path, source: str, actor: str) -> None:
    """Read a register export (CSV, XLSX or JSON) as SOURCE's word; prints the counts."""
    from processes.register_sync import import_source
    from registry.importing import ImportFileError
    from registry.sync.reading import read_export

    system = cli_system()
    try:
        rows = read_export(path.read_bytes(), path.name)
    except ImportFileError as err:
        raise click.ClickException(str(err)) from err
    with system.sessions() as session, session.begin():
        report = import_source(
            session,
            rows,
            source=source,
            filename=path.name,
            actor=actor,
            now=system.clock.now(),
            province_prefix=system.settings.city_profile.province_prefix,
        )
    for error in report.errors:
        click.echo(f"row {error['row']}: {error['errors']}")
    click.echo(
        f"rows={report.rows} records={report.records} updated={report.updated} unmatched={len(report.unmatched)} "
        f"invalid={len(report.errors)} conflicts_opened={report.conflicts_opened}"
    )


@registry.command("reconcile")
def reconcile_command() -> None:
    """Compare every source's word field by field now (what the 03:10 job does):
    compared= opened= updated= settled=."""
    from processes.register_sync import reconcile

    click.echo(reconcile(cli_system()).line())
