"""Thresholds for the rules: defaults from a TOML file, per-elevator overrides by register code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).with_name("thresholds.toml")


@dataclass(frozen=True, slots=True)
class Thresholds:
    trapped_s: float = 30
    door_held_open_s: float = 60
    door_cycles: int = 5
    abnormal_stop_s: float = 15
    door_open_outside_zone_s: float = 2
    door_opening_timeout_s: float = 10
    door_lock_timeout_s: float = 10
    closing_reversals: int = 3
    floor_jump: int = 2
    bottom_floor: int = 1
    top_floor: int = 6
    rated_speed_mps: float | None = None  # from the register; None -> no overspeed rule
    overspeed_factor: float = 1.15
    overload_percent: float = 100


@dataclass(frozen=True)
class IngestLimits:
    heartbeat_timeout_s: float = 600
    max_clock_skew_s: float = 300
    max_age_s: float = 86400


_NAMES = {f.name for f in fields(Thresholds)}


def _checked(values: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(values) - _NAMES
    if unknown:
        raise ValueError(f"{where}: unknown threshold(s) {', '.join(sorted(unknown))}")
    return values


@dataclass(frozen=True)
class ThresholdBook:
    """The defaults plus per-elevator overrides; `for_elevator` gives one elevator's thresholds."""

    defaults: dict[str, Any]
    overrides: dict[str, dict[str, Any]]
    ingest: IngestLimits

    def for_elevator(
        self, register_code: str | None, floors: int | None, rated_speed_mps: float | None = None
    ) -> Thresholds:
        values = dict(self.defaults)
        if floors:
            values.setdefault("top_floor", floors)
        if rated_speed_mps:
            values.setdefault("rated_speed_mps", float(rated_speed_mps))
        values.update(self.overrides.get(register_code or "", {}))
        return replace(Thresholds(), **values)


def load_thresholds(path: Path | str | None = None) -> ThresholdBook:
    data = tomllib.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    defaults = _checked(dict(data.get("defaults", {})), "[defaults]")
    overrides = {
        code: _checked(dict(values), f"[elevators.{code}]") for code, values in data.get("elevators", {}).items()
    }
    return ThresholdBook(defaults, overrides, IngestLimits(**data.get("ingest", {})))
