"""SLA configuration, read once from processes/sla.toml (or LIFTCASE_SLA_FILE), with the city
profile's part laid over it: the rescue arrival limits (urban, rural, per district) and the
holiday calendar for working-day deadlines come from cities/<city>.toml (infra/city.py)."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from infra.city import load_city


@dataclass(frozen=True)
class SlaSource:
    """The SLA file and the city profile file whose limits override it (System.sla)."""

    file: Path
    city_file: Path


@lru_cache(maxsize=8)
def load_sla(source: Path | SlaSource) -> dict[str, Any]:
    """The SLA tables; from a bare path (tools, benchmarks) without a city's overrides."""
    path = source.file if isinstance(source, SlaSource) else source
    with path.open("rb") as f:
        sla = tomllib.load(f)
    if isinstance(source, SlaSource):
        sla = _with_city(sla, source.city_file)
    return sla


def _with_city(sla: dict[str, Any], city_file: Path) -> dict[str, Any]:
    city = load_city(city_file)
    merged = copy.deepcopy(sla)
    rescue = merged.setdefault("rescue", {})
    rescue["arrival_within_urban"] = city.arrival_within_urban
    rescue["arrival_within_rural"] = city.arrival_within_rural
    # district code -> its arrival limit, for the districts whose profile entry sets its own
    rescue["arrival_by_district"] = {d.code: d.arrival_within for d in city.districts if d.arrival_within}
    complaint = merged.setdefault("complaint", {})
    complaint["holidays"] = sorted({*complaint.get("holidays", []), *(d.isoformat() for d in city.holidays)})
    workdays = {*complaint.get("makeup_workdays", []), *(d.isoformat() for d in city.makeup_workdays)}
    complaint["makeup_workdays"] = sorted(workdays)
    return merged
