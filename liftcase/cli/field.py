"""Field equipment: QR signs, camera-AI sources, the car-camera model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from liftcase.cli.context import cli_system


@click.command("qr-sheets")
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
    system = cli_system()
    with system.sessions() as session:
        items = signs(session, system.settings.public_base_url, district=district, variants=variants)
    if not items:
        raise click.UsageError(f"no elevators in district {district}")
    out = out or Path(f"qr-signs-{district}.pdf")
    out.write_bytes(render_pdf(items, hotline=system.settings.city_profile.hotline))
    click.echo(f"{out}: {len(items)} signs")


@click.command("ai-source")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="give an existing source a new secret")
def ai_source(name: str, rotate: bool) -> None:
    """Register a camera-AI source and print its HMAC secret (shown once; give it to the sender)."""
    from connectors.ai_events.service import add_source

    system = cli_system()
    try:
        with system.sessions() as session, session.begin():
            secret = add_source(session, name, system.clock.now(), rotate=rotate)
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    click.echo(secret)


@click.command("inspection-source")
@click.argument("name")
@click.argument("organisation_code")
@click.option("--rotate", is_flag=True, help="give an existing source a new secret")
def inspection_source(name: str, organisation_code: str, rotate: bool) -> None:
    """Register an inspection institute (its organisation code) as a source of inspection results
    and print its HMAC secret (shown once; derived from LIFTCASE_SECRET_KEY, not stored)."""
    from connectors.inspection.service import add_source

    system = cli_system()
    try:
        with system.sessions() as session, session.begin():
            secret = add_source(
                session, name, organisation_code, system.clock.now(), system.settings.secret_key, rotate=rotate
            )
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    click.echo(secret)


@click.command("vision-detect")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--elevator", "elevator_code", help="register or QR code: turn e-bike detections into AI events")
def vision_detect(images: tuple[Path, ...], elevator_code: str | None) -> None:
    """Run the car-camera model on snapshots; print detections (and with --elevator, open cases)."""
    from connectors.ai_events.vision import submit_detections
    from detectors.vision.adapter import VisionModel

    system = cli_system()
    model = VisionModel.load(system.settings.vision_model)
    for path in images:
        data = path.read_bytes()
        found = model.detect(data)
        line: dict[str, object] = {"image": str(path), "detections": [d.__dict__ for d in found]}
        if elevator_code:
            line["events"] = [a.__dict__ for a in submit_detections(system, elevator_code, data, found)]
        click.echo(json.dumps(line, ensure_ascii=False, default=str))
