"""Train the elevator risk model on synthetic history and export it to ONNX with its model card.

    .venv/bin/python -m detectors.risk.train          # or: liftcase risk train
    .venv/bin/python -m detectors.risk.train --check  # retrain in memory, compare with the shipped card

Needs the `dev` extra (scikit-learn, skl2onnx); scoring needs only onnxruntime. Two candidates
are fitted on the same data: standardised logistic regression and a histogram gradient-boosting
classifier. The logistic regression ships unless boosting beats its held-out AUC by more than
`PREFER_LINEAR_WITHIN`: at equal skill a linear model is monotone in every feature (a worse
history can never lower the score) and its factors are easy to defend to a regulator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from detectors.risk.features import FEATURES, NAMES
from detectors.risk.model import CARD_PATH, MODEL_PATH, RiskModel
from detectors.risk.synthetic import SyntheticHistory, generate

TRAIN_SEED, HOLDOUT_SEED = 20261123, 20261124
TRAIN_ROWS, HOLDOUT_ROWS = 60_000, 20_000
PREFER_LINEAR_WITHIN = 0.01
LEVELS = {"medium": 15.0, "high": 30.0, "critical": 50.0}  # score lower bounds
OPSET = 15


def _candidates() -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_depth=3, random_state=0
        ),
    }


def _fit(
    train_set: SyntheticHistory, holdout: SyntheticHistory, only: str | None
) -> tuple[dict[str, Any], dict[str, float]]:
    """The fitted candidates (just `only` when given) and their held-out AUCs."""
    from sklearn.metrics import roc_auc_score

    aucs: dict[str, float] = {}
    fitted: dict[str, Any] = {}
    for name, estimator in _candidates().items():
        if only is not None and name != only:
            continue
        estimator.fit(train_set.X, train_set.y)
        fitted[name] = estimator
        aucs[name] = round(float(roc_auc_score(holdout.y, estimator.predict_proba(holdout.X)[:, 1])), 4)
    return fitted, aucs


def _choose(aucs: dict[str, float], only: str | None) -> str:
    """The linear model unless boosting is clearly better (see the module's docstring)."""
    if only is not None:
        return only
    if aucs["gradient_boosting"] > aucs["logistic_regression"] + PREFER_LINEAR_WITHIN:
        return "gradient_boosting"
    return "logistic_regression"


def _to_onnx(estimator: Any, chosen: str, sample: np.ndarray) -> bytes:
    from skl2onnx import to_onnx

    onx = to_onnx(
        estimator,
        sample,
        options={id(estimator): {"zipmap": False}} if chosen == "gradient_boosting" else {"zipmap": False},
        target_opset=OPSET,
    )
    return onx.SerializeToString()


def _linear_terms(pipeline: Any) -> dict[str, Any]:
    """The scaler's and the regression's numbers, for explaining a score factor by factor."""
    scaler, lr = pipeline[0], pipeline[-1]
    return {
        "intercept": round(float(lr.intercept_[0]), 6),
        "coefficients": {n: round(float(c), 6) for n, c in zip(NAMES, lr.coef_[0], strict=True)},
        "mean": {n: round(float(m), 6) for n, m in zip(NAMES, scaler.mean_, strict=True)},
        "scale": {n: round(float(s), 6) for n, s in zip(NAMES, scaler.scale_, strict=True)},
    }


def _card(
    chosen: str,
    estimator: Any,
    aucs: dict[str, float],
    sha: str,
    train_set: SyntheticHistory,
    holdout: SyntheticHistory,
    file: str,
) -> dict[str, Any]:
    """The model card: what the model predicts, from which data, how well, and which versions built it."""
    import skl2onnx
    import sklearn
    from sklearn.metrics import roc_auc_score

    card: dict[str, Any] = {
        "name": "elevator_risk",
        "version": f"risk-{'lr' if chosen == 'logistic_regression' else 'gb'}-{sha[:12]}",
        "estimator": chosen,
        "target": "serious incident (trapping or safety-critical fault) in the next 90 days",
        "score": "100 x predicted probability",
        "levels": LEVELS,
        "features": list(NAMES),
        "feature_labels": {f.name: f.label for f in FEATURES},
        "baseline": [float(v) for v in np.median(train_set.X, axis=0)],
        "metrics": {
            "auc_holdout": aucs[chosen],
            "auc_candidates": aucs,
            "auc_oracle": round(float(roc_auc_score(holdout.y, holdout.p_true)), 4),
            "positive_rate_train": round(float(train_set.y.mean()), 4),
            "positive_rate_holdout": round(float(holdout.y.mean()), 4),
        },
        "data": {
            "generator": "detectors/risk/synthetic.py",
            "train_rows": TRAIN_ROWS,
            "train_seed": TRAIN_SEED,
            "holdout_rows": HOLDOUT_ROWS,
            "holdout_seed": HOLDOUT_SEED,
        },
        "onnx": {"file": file, "sha256": sha, "opset": OPSET},
        "trained_with": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__},
    }
    if chosen == "logistic_regression":
        card["linear"] = _linear_terms(estimator)
    return card


def _write(
    onnx_bytes: bytes,
    card: dict[str, Any],
    model_path: Path,
    card_path: Path,
    estimator: Any,
    holdout: SyntheticHistory,
) -> None:
    """Write the model and its card, then check the exported graph agrees with scikit-learn on the held-out set."""
    model_path.write_bytes(onnx_bytes)
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    onnx_p = RiskModel(model_path, card_path).probability(holdout.X)
    gap = float(np.max(np.abs(onnx_p - estimator.predict_proba(holdout.X)[:, 1])))
    if gap > 1e-4:
        raise RuntimeError(f"ONNX and scikit-learn disagree by {gap:.2e} on the held-out set")


def train(
    model_path: Path = MODEL_PATH, card_path: Path = CARD_PATH, *, write: bool = True, only: str | None = None
) -> dict[str, Any]:
    """Fit, pick, export; return the model card (written next to the model when `write`).
    `only` fits just that candidate (a quick reproducibility check of the shipped one)."""
    import skl2onnx  # noqa: F401  (fail before the data is generated when the dev extra is missing)
    import sklearn  # noqa: F401

    train_set = generate(TRAIN_ROWS, TRAIN_SEED)
    holdout = generate(HOLDOUT_ROWS, HOLDOUT_SEED)
    fitted, aucs = _fit(train_set, holdout, only)
    chosen = _choose(aucs, only)
    estimator = fitted[chosen]
    onnx_bytes = _to_onnx(estimator, chosen, train_set.X[:1])
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    card = _card(chosen, estimator, aucs, sha, train_set, holdout, model_path.name)
    if write:
        _write(onnx_bytes, card, model_path, card_path, estimator, holdout)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="retrain in memory and compare with the shipped card")
    args = parser.parse_args()
    if args.check:
        card = train(write=False)
        shipped = json.loads(CARD_PATH.read_text(encoding="utf-8"))
        same = card["version"] == shipped["version"]
        print(f"retrained {card['version']} shipped {shipped['version']} {'same' if same else 'DIFFERENT'}")
        raise SystemExit(0 if same else 1)
    card = train()
    print(json.dumps({"version": card["version"], **card["metrics"]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
