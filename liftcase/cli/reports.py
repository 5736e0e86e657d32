"""`liftcase audit export|verify` and `liftcase report ...` (commands of the main group).

Imports stay inside the commands: `audit verify` must work without a database, and the CLI
should start fast.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import click

from infra.settings import CITY_TZ
from liftcase.cli.context import cli_system


def _instant(value: str) -> datetime:
    """A date (local midnight) or an ISO date-time (local when it has no offset) as UTC."""
    try:
        parsed = (
            datetime.combine(date.fromisoformat(value), time(0)) if len(value) == 10 else datetime.fromisoformat(value)
        )
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CITY_TZ)
    return parsed.astimezone(UTC)


def _operator_scope(district: str | None):  # type: ignore[no-untyped-def]
    """The CLI runs as the platform operator (city-wide); --district narrows it like a district regulator."""
    from registry.models import OrgKind, Role
    from registry.scope import Scope

    if district:
        return Scope(0, "cli", frozenset({Role.AUDITOR}), None, OrgKind.DISTRICT_REGULATOR, district)
    return Scope(0, "cli", frozenset({Role.AUDITOR}), None, OrgKind.PLATFORM, None)


@click.group()
def audit() -> None:
    """Tamper-evident audit packages of case timelines."""


@audit.command("export")
@click.option("--from", "start", required=True, help="start (local date or ISO date-time), inclusive")
@click.option("--to", "end", required=True, help="end (local date or ISO date-time), exclusive")
@click.option("--district", help="district code (default: the whole city)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="zip file to write")
def audit_export(start: str, end: str, district: str | None, output: Path | None) -> None:
    """Write a zip with every event of the cases active in the range, their chains and a manifest."""
    from reports.audit import build_package

    lo, hi = _instant(start), _instant(end)
    if lo >= hi:
        raise click.BadParameter("--from must be before --to")
    system = cli_system()
    data, manifest = build_package(
        system.sessions, _operator_scope(district), lo, hi, district=district, now=system.clock.now(), created_by="cli"
    )
    output = output or Path(f"audit-{district or 'city'}-{lo:%Y%m%d}-{hi:%Y%m%d}.zip")
    output.write_bytes(data)
    click.echo(f"wrote {output}: {manifest['cases']} case(s), {manifest['events']} event(s)")
    click.echo(f"manifest digest {manifest['digest']} (keep it apart from the package)")


@audit.command("verify")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--digest", "expect", help="the manifest digest printed at export time")
def audit_verify(package: Path, expect: str | None) -> None:
    """Check a package without a database; name every edited, deleted or reordered event. Exit 1 if any."""
    from reports.audit_verify import verify_package

    verdict = verify_package(package, expect)
    for p in verdict.problems:
        click.echo(f"PROBLEM {p}", err=True)
    state = "OK" if verdict.ok else f"{len(verdict.problems)} problem(s)"
    click.echo(f"{verdict.cases} case(s), {verdict.events} event(s), manifest digest {verdict.digest}: {state}")
    sys.exit(0 if verdict.ok else 1)


@click.group()
def report() -> None:
    """Render PDF reports (Asia/Shanghai times, A4)."""


@report.command("rescue")
@click.option("--month", help="YYYY-MM (default: last month)")
@click.option("--district", help="district code (default: the whole city)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def report_rescue(month: str | None, district: str | None, output: Path | None) -> None:
    """The monthly rescue report of the city or one district."""
    from reports import render, service
    from reports.flows import previous_period

    system = cli_system()
    if month:
        try:
            start = date.fromisoformat(f"{month}-01")
        except ValueError as err:
            raise click.BadParameter(f"{month!r} is not YYYY-MM") from err
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    else:
        start, end = previous_period("month", system.clock.now().astimezone(CITY_TZ).date())
    scope = _operator_scope(district)
    with system.sessions() as session:
        figures = service.rescue_report(session, scope, start, end)
        label = (
            service.district_names(session).get(district, district) if district else service.scope_label(session, scope)
        )
        rendered = render.rescue_pdf(
            figures,
            scope_label=label,
            period="month",
            generated=system.clock.now(),
            header=system.settings.city_profile.report_header,
        )
    output = output or Path(f"rescue-{district or 'city'}-{start:%Y%m}.pdf")
    output.write_bytes(rendered.pdf)
    click.echo(f"wrote {output}: {rendered.pages} page(s)")


@report.command("case")
@click.argument("number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def report_case(number: str, output: Path | None) -> None:
    """One case's report: facts, SLA per milestone, timeline with its hash check, forms, photos."""
    from infra.errors import NotFound
    from reports import render, service

    system = cli_system()
    with system.sessions() as session:
        try:
            data = service.case_report(
                session, _operator_scope(None), number, now=system.clock.now(), upload_dir=system.settings.upload_dir
            )
        except NotFound as err:
            raise click.ClickException(str(err)) from err
        rendered = render.case_pdf(
            data, generated=system.clock.now(), header=system.settings.city_profile.report_header
        )
    output = output or Path(f"case-{number}.pdf")
    output.write_bytes(rendered.pdf)
    click.echo(f"wrote {output}: {rendered.pages} page(s)")
