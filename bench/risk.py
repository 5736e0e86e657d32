"""Time to score the whole city (14,188 elevators) with the risk model, against a numpy baseline.

Setup (not timed): a fresh database with the seeded city, the processes deployed and a year of
synthetic history written as cases and signals (`detectors/risk/history.py`, ~1.5 cases per
elevator drawn from the generating process with the city's 7% IoT share).

Timed, best of --repeats:
- `score_all`: three feature queries, onnxruntime scores + factors, one upsert, commit;
- its parts: extract, onnxruntime explain (score and 17 occlusion runs), factor lists, write;
- baselines on the same feature matrix, same run: the same occlusion algorithm with scikit-learn's
  predict_proba (the card's logistic regression rebuilt without refitting; needs the dev extra),
  and the closed form in plain numpy from the card's coefficients (what the ONNX graph encodes:
  one matrix product, the occlusion as a broadcast; only possible for a linear model).
  Ratios are baseline seconds / onnxruntime seconds (above 1: onnxruntime is faster).

Usage: python bench/risk.py [--db sqlite|postgres] [--elevators 14188] [--repeats 3]
Last line: elevators=… seconds=… per_s=… explain_s=… sklearn_explain_s=… sklearn_ratio=… numpy_explain_s=… numpy_ratio=…
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def numpy_explain(card: dict, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and median-occlusion contributions from the card's linear model, numpy only."""
    from detectors.risk.features import NAMES

    linear = card["linear"]
    coef = np.array([linear["coefficients"][n] for n in NAMES]) / np.array([linear["scale"][n] for n in NAMES])
    mean = np.array([linear["mean"][n] for n in NAMES])
    baseline = np.asarray(card["baseline"])
    logit = linear["intercept"] + (X.astype(np.float64) - mean) @ coef
    # Setting feature j to its median moves the logit by coef_j * (median_j - x_j).
    occluded = logit[:, None] + coef * (baseline - X)
    p, p_occluded = 1 / (1 + np.exp(-logit)), 1 / (1 + np.exp(-occluded))
    return 100 * p, 100 * (p[:, None] - p_occluded)


def sklearn_probability(card: dict):  # type: ignore[no-untyped-def]
    """The card's logistic regression as a scikit-learn pipeline (no refit), or None without the dev extra."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return None
    from detectors.risk.features import NAMES

    linear = card["linear"]
    scaler = StandardScaler()
    scaler.mean_ = np.array([linear["mean"][n] for n in NAMES])
    scaler.scale_ = np.array([linear["scale"][n] for n in NAMES])
    scaler.var_, scaler.n_features_in_ = scaler.scale_**2, len(NAMES)
    lr = LogisticRegression()
    lr.coef_ = np.array([[linear["coefficients"][n] for n in NAMES]])
    lr.intercept_, lr.classes_, lr.n_features_in_ = np.array([linear["intercept"]]), np.array([0, 1]), len(NAMES)
    pipeline = make_pipeline(scaler, lr)
    return lambda X: pipeline.predict_proba(X)[:, 1]


def _database(kind: str, tmp: str) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None
    name = f"liftcase_bench_risk_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def main() -> None:
    parser = argparse.ArgumentParser(description="risk scoring throughput")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--elevators", type=int, default=14188)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from demo.seed import seed_city
    from detectors.models import ElevatorRisk
    from detectors.risk.extract import extract_features
    from detectors.risk.flows import score_all
    from detectors.risk.history import write_history
    from detectors.risk.model import occlusion, shipped_model
    from detectors.risk.synthetic import generate
    from infra.clock import SimulatedClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from registry.models import Elevator

    with tempfile.TemporaryDirectory() as tmp:
        url, cleanup = _database(args.db, tmp)
        try:
            system = build_system(Settings(database_url=url), clock=SimulatedClock(NOW))
            create_schema(system)
            t0 = time.perf_counter()
            with system.sessions() as session, session.begin():
                seed_city(session, elevators=args.elevators, devices=min(1000, args.elevators // 14), clock_now=NOW)
            system.deploy_processes()
            with system.sessions() as session, session.begin():
                ids = np.array(session.scalars(select(Elevator.id).order_by(Elevator.id)).all())
                history = generate(len(ids), seed=1, iot_share=0.07)
                written = write_history(session, history, ids, NOW)
            setup_s = time.perf_counter() - t0
            print(f"setup: {len(ids)} elevators, {written} history cases in {setup_s:.1f}s ({args.db})")

            model = shipped_model()
            sk_probability = sklearn_probability(model.card)
            best: dict[str, float] = {}

            def timed(name: str, func, *a, **kw):  # type: ignore[no-untyped-def]
                t = time.perf_counter()
                result = func(*a, **kw)
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
                return result

            for _ in range(args.repeats):
                run = timed("score_all", score_all, system, model=model)
                with system.sessions() as session:
                    frame = timed("extract", extract_features, session, NOW)
                scored = timed("explain", model.explain, frame.X)
                timed("factors", model.factors, frame.X, scored.contributions)
                np_scores, np_contrib = timed("numpy_explain", numpy_explain, model.card, frame.X)
                if sk_probability is not None:
                    sk_scores, _ = timed("sklearn_explain", occlusion, frame.X, model.baseline, sk_probability)
            with system.sessions() as session:
                stored = session.scalar(select(func.count()).select_from(ElevatorRisk))
            agree = float(np.max(np.abs(np_scores - 100 * model.probability(frame.X))))
            contrib_gap = float(np.max(np.abs(np_contrib - scored.contributions)))
            print(f"levels {run.levels}; rows stored {stored}; numpy vs onnx max |score gap| {agree:.2e}, "
                  f"|contribution gap| {contrib_gap:.2e}")
            for name, seconds in best.items():
                print(f"  {name:<14} {seconds * 1000:8.1f} ms")
            n, seconds = run.elevators, best["score_all"]
            onnx_s, numpy_s = best["explain"], best["numpy_explain"]
            sk_s = best.get("sklearn_explain", float("nan"))
            if sk_probability is not None:
                print(f"sklearn vs onnx max |score gap| {float(np.max(np.abs(sk_scores - scored.scores))):.2e}")
            print(
                f"elevators={n} seconds={seconds:.3f} per_s={n / seconds:.0f} explain_s={onnx_s:.4f} "
                f"sklearn_explain_s={sk_s:.4f} sklearn_ratio={sk_s / onnx_s:.2f} "
                f"numpy_explain_s={numpy_s:.4f} numpy_ratio={numpy_s / onnx_s:.2f}"
            )
            system.db.dispose()
        finally:
            if cleanup is not None:
                admin, name = cleanup
                with admin.connect() as conn:  # type: ignore[attr-defined]
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
