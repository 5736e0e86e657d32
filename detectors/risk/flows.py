"""Score every elevator and store the result: nightly at 02:00 city time, or on demand.

`score_all(system)` is the one entry point (CLI `liftcase risk score`, the nightly job, reports
and console helpers): three feature queries, one batched onnxruntime pass with factors, one
upsert statement, one transaction. A run replaces every elevator's row, so readers see either
the previous run or this one, never a mix.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from detectors.risk.extract import extract_features
from detectors.risk.model import RiskModel, shipped_model
from detectors.risk.service import next_run_id, upsert_scores
from infra.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RiskRun:
    run_id: int
    elevators: int
    model_version: str
    levels: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def score_all(system: Any, *, model: RiskModel | None = None, top_factors: int = 3) -> RiskRun:
    model = model or shipped_model()
    started = time.perf_counter()
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        frame = extract_features(session, now)
        scored = model.explain(frame.X)
        factors = model.factors(frame.X, scored.contributions, top=top_factors)
        run_id = next_run_id(session)
        rows = [
            {
                "elevator_id": int(elevator_id),
                "score": float(score),
                "level": level,
                "factors": elevator_factors,
                "model_version": model.version,
                "scored_at": now,
                "run_id": run_id,
            }
            for elevator_id, score, level, elevator_factors in zip(
                frame.elevator_ids, scored.scores, scored.levels, factors, strict=True
            )
        ]
        upsert_scores(session, rows)
    run = RiskRun(run_id, len(rows), model.version, dict(Counter(scored.levels)), time.perf_counter() - started)
    log.info("risk run %d: %d elevators in %.2fs, levels %s", run.run_id, run.elevators, run.seconds, run.levels)
    return run


def nightly_risk_scores(system: Any) -> RiskRun:
    """02:00 city time: a few seconds for the whole city, so it runs in the scheduler itself."""
    return score_all(system)


NIGHTLY = Periodic("risk_score_all", nightly_risk_scores, {"hour": 2, "minute": 0})
