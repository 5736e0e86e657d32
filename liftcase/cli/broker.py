"""`liftcase broker credentials` and `liftcase broker files`: the MQTT broker's accounts."""

from __future__ import annotations

from pathlib import Path

import click

from liftcase.cli.context import cli_system

HUP = click.option("--hup", "pid_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                   help="then SIGHUP the broker with this pid file (Debian: /run/mosquitto/mosquitto.pid)")  # fmt: skip


@click.group()
def broker() -> None:
    """The MQTT broker's accounts: each box signs in as its device id with its own secret."""


def _reload(pid_file: Path | None) -> None:
    from connectors.mqtt.credentials import reload_broker

    if pid_file is None:
        click.echo("reload the broker (SIGHUP, or --hup PIDFILE) for this to take effect", err=True)
    else:
        click.echo(f"broker {reload_broker(pid_file)} reloaded", err=True)


@broker.command("credentials")
@click.argument("device_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="every registered box that has no secret yet")
@click.option("--rotate", is_flag=True, help="with --all: replace the secrets of boxes that have one too")
@HUP
def credentials(device_ids: tuple[str, ...], every: bool, rotate: bool, pid_file: Path | None) -> None:
    """Make or rotate boxes' secrets and write the broker's password file. Prints `device_id<TAB>secret`
    lines, the only time the secrets are shown: hand them to the boxes (`liftcase simulate
    --credentials FILE` reads the same lines)."""
    from connectors.mqtt.credentials import CredentialError, issue_credentials

    if every == bool(device_ids) or (rotate and not every):
        raise click.UsageError("name device ids, or --all (with --rotate to replace existing secrets too)")
    system = cli_system()
    try:
        issued = issue_credentials(system.sessions, system.settings, system.clock.now(),
                                   None if every else list(device_ids), rotate=rotate)  # fmt: skip
    except CredentialError as err:
        raise click.ClickException(str(err)) from err
    for device_id, secret in issued.items():
        click.echo(f"{device_id}\t{secret}")
    click.echo(f"{len(issued)} secret(s) issued; wrote {system.settings.mqtt_password_file}", err=True)
    _reload(pid_file)


@broker.command("files")
@HUP
def files(pid_file: Path | None) -> None:
    """Write the broker's password file (from the register) and ACL, e.g. on a new broker machine."""
    from connectors.mqtt.credentials import CredentialError, write_broker_files

    system = cli_system()
    try:
        boxes = write_broker_files(system.sessions, system.settings)
    except CredentialError as err:
        raise click.ClickException(str(err)) from err
    s = system.settings
    click.echo(f"wrote {s.mqtt_password_file} (the ingest and {boxes} boxes) and {s.mqtt_acl_file}", err=True)
    _reload(pid_file)
