"""The engine stands alone: importing engine.runner in a fresh interpreter loads nothing of the layers
above it (the register, the processes, connectors, detectors, reports, the web, the demo, the shell)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE = ("registry", "processes", "connectors", "detectors", "reports", "web", "demo", "liftcase")


def test_importing_the_runner_loads_no_higher_layer() -> None:
    probe = "import json, sys; import engine.runner; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "engine.runner" in loaded
    above = [name for name in loaded if any(name == top or name.startswith(f"{top}.") for top in ABOVE)]
    assert above == []
