"""The shipped risk model: loads, agrees with its card, ranks synthetic elevators by true hazard,
explains its scores; the generating process is reproducible. No database here."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from detectors.risk.features import INDEX, NAMES
from detectors.risk.model import CARD_PATH, MODEL_PATH, RiskModel, shipped_model
from detectors.risk.synthetic import generate

# A fresh population the model never saw (training and held-out seeds are 20261123/4).
FRESH_SEED = 7


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties (numpy only: scikit-learn is dev-only)."""
    ranks = _ranks(s)
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return shipped_model()


@pytest.fixture(scope="module")
def fresh():
    return generate(20_000, FRESH_SEED)


def test_shipped_onnx_loads_and_matches_its_card(model: RiskModel) -> None:
    card = model.card
    assert card["features"] == list(NAMES)
    assert card["onnx"]["sha256"] == hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest(), "card is stale: retrain"
    assert model.version.endswith(card["onnx"]["sha256"][:12])
    assert MODEL_PATH.stat().st_size < 100_000 and CARD_PATH.exists()
    assert card["metrics"]["auc_holdout"] >= 0.68
    scores = model.score(np.asarray([card["baseline"]], dtype=np.float32))
    assert 0 < scores[0] < 100


def test_onnx_graph_computes_the_documented_linear_model(model: RiskModel, fresh) -> None:
    linear = model.card["linear"]
    coef = np.array([linear["coefficients"][n] for n in NAMES])
    mean = np.array([linear["mean"][n] for n in NAMES])
    scale = np.array([linear["scale"][n] for n in NAMES])
    X = fresh.X[:2000].astype(np.float64)
    by_hand = 1 / (1 + np.exp(-(linear["intercept"] + ((X - mean) / scale) @ coef)))
    assert np.max(np.abs(model.probability(fresh.X[:2000]) - by_hand)) < 1e-4


def test_higher_hazard_elevators_score_higher(model: RiskModel, fresh) -> None:
    scores = model.score(fresh.X)
    assert _auc(fresh.y, scores) > 0.68  # the oracle (true probabilities) reaches ~0.78
    assert _spearman(scores, fresh.hazard) > 0.55
    # And the top decile by score holds far more of the truly hazardous decile than chance (10%).
    top = scores >= np.quantile(scores, 0.9)
    hazardous = fresh.hazard >= np.quantile(fresh.hazard, 0.9)
    assert (top & hazardous).sum() / top.sum() > 0.3


def test_factors_are_sorted_positive_and_explain_the_score(model: RiskModel, fresh) -> None:
    X = fresh.X[:500]
    scored = model.explain(X)
    factors = model.factors(X, scored.contributions, top=3)
    riskiest = np.argsort(-scored.scores)[:50]
    assert all(factors[i] for i in riskiest), "a high score must name what drives it"
    for i in riskiest:
        contributions = [f["contribution"] for f in factors[i]]
        assert contributions == sorted(contributions, reverse=True) and min(contributions) > 0
        top = factors[i][0]
        assert top["value"] == pytest.approx(float(X[i, INDEX[top["factor"]]]), abs=0.01)
        # The contribution is what the score loses when that feature goes back to the baseline.
        reset = X[i : i + 1].copy()
        reset[0, INDEX[top["factor"]]] = model.baseline[INDEX[top["factor"]]]
        assert scored.scores[i] - model.score(reset)[0] == pytest.approx(top["contribution"], abs=0.02)
    # Same order as the linear attribution coef x (x - median) / scale for the shipped logistic regression.
    linear = model.card["linear"]
    coef = np.array([linear["coefficients"][n] for n in NAMES]) / np.array([linear["scale"][n] for n in NAMES])
    row = X[riskiest[0]]
    linear_order = [NAMES[j] for j in np.argsort(-(coef * (row - model.baseline)))[: len(factors[riskiest[0]])]]
    assert [f["factor"] for f in factors[riskiest[0]]] == linear_order


def test_levels_follow_the_card_thresholds(model: RiskModel) -> None:
    t = model.thresholds
    scores = np.array([0.0, t["medium"] - 0.01, t["medium"], t["high"], t["critical"] - 0.01, t["critical"], 100.0])
    assert model.level(scores) == ["low", "low", "medium", "high", "high", "critical", "critical"]


def test_more_history_raises_the_score(model: RiskModel) -> None:
    base = np.asarray([model.card["baseline"]], dtype=np.float32)
    worse = base.copy()
    worse[0, INDEX["has_iot"]] = 1
    with_iot = model.score(worse)[0]
    for name in ("faults_90d", "faults_365d", "rescues_90d", "rescues_365d"):
        worse[0, INDEX[name]] += 2  # two recent events count in both windows
    worse[0, INDEX["maintenance_overdue_days"]] = 10
    assert model.score(worse)[0] > with_iot + 5


def test_bad_input_is_refused_clearly(model: RiskModel) -> None:
    with pytest.raises(ValueError, match="features"):
        model.probability(np.zeros((3, len(NAMES) - 1), dtype=np.float32))
    assert model.probability(np.zeros((0, len(NAMES)), dtype=np.float32)).shape == (0,)


def test_generating_process_is_seeded() -> None:
    a, b, c = generate(2000, 11), generate(2000, 11), generate(2000, 12)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert 0.03 < a.y.mean() < 0.15
    # Faults are seen only with an IoT box (5% leak: camera and phone reports).
    no_box = a.X[:, INDEX["has_iot"]] == 0
    assert a.X[no_box, INDEX["faults_365d"]].mean() < 0.2 * a.X[~no_box, INDEX["faults_365d"]].mean()


def test_retraining_reproduces_the_shipped_model(model: RiskModel, fresh) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("skl2onnx")
    from detectors.risk.train import train

    card = train(write=False, only=model.card["estimator"])  # the shipped candidate only: a few seconds
    assert card["metrics"]["auc_holdout"] == pytest.approx(model.card["metrics"]["auc_holdout"], abs=0.005)
    assert card["linear"]["coefficients"] == pytest.approx(model.card["linear"]["coefficients"], abs=1e-3)


def test_a_model_whose_card_lists_other_features_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    card = json.loads(CARD_PATH.read_text(encoding="utf-8"))
    card["features"] = list(reversed(card["features"]))
    wrong = tmp_path / "card.json"
    wrong.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ValueError, match="lists features"):
        RiskModel(MODEL_PATH, wrong)
