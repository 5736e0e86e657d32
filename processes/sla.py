"""SLA configuration, read once from processes/sla.toml (or LIFTCASE_SLA_FILE)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=8)
def load_sla(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)
