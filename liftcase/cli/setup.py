"""Set up: migrate and deploy, seed the demo city."""

from __future__ import annotations

import json

import click

from liftcase.bootstrap import create_schema
from liftcase.cli.context import cli_system


@click.command()
def init() -> None:
    """Migrate the database to the newest schema, bring the districts to the city profile's and deploy
    the BPMN in bpmn/."""
    from registry.districts import apply_profile

    system = cli_system()
    create_schema(system)
    with system.sessions() as session, session.begin():
        added, updated = apply_profile(session, system.settings.city_profile)
    click.echo(f"city {system.settings.city_profile.key}: {added} districts added, {updated} updated")
    for d in system.deploy_processes():
        state = "deployed" if d.created else "unchanged"
        click.echo(f"{d.definition.key} v{d.definition.version} {state}")


@click.command()
@click.option("--seed", "seed_value", default=20261123, show_default=True)
@click.option("--elevators", default=14188, show_default=True)
@click.option("--devices", default=1000, show_default=True)
@click.option(
    "--city", default=None, help="a profile in cities/ (dazhou, lianyungang) or a profile file; default LIFTCASE_CITY"
)
def seed(seed_value: int, elevators: int, devices: int, city: str | None) -> None:
    """Generate a demo city (the deployment's profile unless --city) deterministically from a seed."""
    from werkzeug.security import generate_password_hash

    from demo.seed import seed_city
    from infra.city import CityProfileError, city_file, load_city

    system = cli_system()
    settings = system.settings
    try:
        profile = load_city(city_file(city, settings.cities_dir)) if city else settings.city_profile
    except CityProfileError as err:
        raise click.ClickException(str(err)) from err
    if profile.key != settings.city_profile.key:
        click.echo(
            f"note: the deployment runs as {settings.city_profile.key}; set LIFTCASE_CITY={city} to use this city"
        )
    with system.sessions() as session, session.begin():
        counts = seed_city(
            session,
            seed=seed_value,
            elevators=elevators,
            devices=devices,
            clock_now=system.clock.now(),
            hash_password=generate_password_hash,
            city=profile,
        )
    click.echo(json.dumps(counts, ensure_ascii=False))
