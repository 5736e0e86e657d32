"""`liftcase risk score` and `liftcase risk train`."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from liftcase.cli.context import cli_system


@click.group()
def risk() -> None:
    """风险研判: the elevator risk model."""


@risk.command("score")
@click.option("--top", default=10, show_default=True, help="print the riskiest N elevators")
def score_command(top: int) -> None:
    """Score every elevator now and store the results (the nightly job, on demand)."""
    from detectors.risk.flows import score_all
    from detectors.risk.service import riskiest

    system = cli_system()
    run = score_all(system)
    click.echo(json.dumps({**asdict(run), "seconds": round(run.seconds, 3)}, ensure_ascii=False))
    with system.sessions() as session:
        for row, elevator in riskiest(session, limit=top):
            why = ", ".join(f"{f['label']}={f['value']} (+{f['contribution']})" for f in row.factors)
            click.echo(f"{row.score:6.2f} {row.level:<8} {elevator.register_code} {elevator.address}  {why}")


@risk.command("train")
@click.option("--check", is_flag=True, help="retrain in memory and exit 1 if it differs from the shipped model")
def train_command(check: bool) -> None:
    """Retrain on the synthetic history and rewrite detectors/risk/risk.onnx and its card (needs the dev extra)."""
    from detectors.risk.train import CARD_PATH, train

    try:
        card = train(write=not check)
    except ImportError as err:  # scikit-learn and skl2onnx are dev-only
        raise click.ClickException(f"training needs the dev extra (scikit-learn, skl2onnx): {err}") from err
    if check:
        shipped = json.loads(CARD_PATH.read_text(encoding="utf-8"))["version"]
        click.echo(f"retrained {card['version']} shipped {shipped}")
        if card["version"] != shipped:
            raise SystemExit(1)
        return
    click.echo(json.dumps({"version": card["version"], **card["metrics"]}, ensure_ascii=False))
