"""`liftcase` command line: set up, seed, run the parts, verify the timeline, run scenarios."""

from __future__ import annotations

import logging

import click

from liftcase.cli import cases, field, run, setup, telemetry
from liftcase.cli.broker import broker
from liftcase.cli.context import CliState
from liftcase.cli.expiry import expiry
from liftcase.cli.registry import registry
from liftcase.cli.reports import audit, report
from liftcase.cli.risk import risk
from liftcase.cli.supervision import supervision


@click.group()
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """liftcase: BPMN-driven elevator rescue and safety-supervision cases."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.ensure_object(CliState)


for command in (
    setup.init,
    setup.seed,
    run.serve,
    run.worker,
    run.scheduler,
    run.demo,
    telemetry.ingest,
    telemetry.dead_letters,
    telemetry.simulate,
    cases.verify_timeline,
    cases.scenario_cmd,
    field.qr_sheets,
    field.ai_source,
    field.inspection_source,
    field.vision_detect,
    risk,  # 风险研判: liftcase risk score | train
    audit,  # liftcase audit export | verify
    report,  # liftcase report rescue | case
    broker,  # liftcase broker credentials | files
    expiry,  # liftcase expiry scan [--dry-run]
    supervision,  # liftcase supervision scan [--dry-run]
    registry,  # liftcase registry import FILE --source | reconcile
):
    main.add_command(command)


if __name__ == "__main__":
    main()
