"""The system a command works with, built on first use and kept in click's context (commands that
need no database, such as `audit verify`, never build it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import click

from infra.settings import Settings
from processes.system import System


@dataclass
class CliState:
    overrides: dict[str, Any] = field(default_factory=dict)
    built: System | None = None


def cli_system(**overrides: Any) -> System:
    """This command's system from the environment's settings (with `overrides`), built once."""
    from liftcase.bootstrap import build_system  # late: the CLI should start fast

    state = click.get_current_context().ensure_object(CliState)
    if state.built is None or overrides != state.overrides:
        state.overrides = overrides
        state.built = build_system(replace(Settings.from_env(), **overrides))
    return state.built
