"""The shipped risk model at run time: onnxruntime only (no scikit-learn), scores and factors in bulk.

Score = 100 x the model's probability of a serious incident in the next 90 days. Levels come
from the model card's thresholds (configuration, not code).

Factors: for each elevator and feature, the score it would lose if that one feature were set
to its training median (the "typical elevator" baseline in the card), everything else kept:
`contribution_j = score(x) - score(x with x_j = median_j)`. Why this and not coefficient x
standardised value: it is in score points a regulator can read, it is exact for the question
"how much lower would this lift score without this", it needs no access to the model's
internals, so a tree model or a city's own ONNX drops in unchanged, and it costs one batched
run over the rows whose feature differs from its median (a few per elevator). For the shipped
logistic regression it orders factors exactly like coefficient x (value - median) / scale, which is the
linear-model attribution shifted to a median baseline; medians (mostly 0 for counts) make
"no such events" the neutral point instead of a fractional mean.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from detectors.risk.features import LABELS, NAMES

HERE = Path(__file__).resolve().parent
MODEL_PATH = HERE / "risk.onnx"
CARD_PATH = HERE / "risk_card.json"
LEVELS = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Scored:
    scores: np.ndarray  # (n,) 0-100
    levels: list[str]
    contributions: np.ndarray  # (n, features) score points over the median baseline


class RiskModel:
    def __init__(self, model_path: Path = MODEL_PATH, card_path: Path = CARD_PATH) -> None:
        import onnxruntime as ort

        self.card: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
        if tuple(self.card["features"]) != NAMES:
            raise ValueError(f"{card_path.name} lists features {self.card['features']}, the code has {list(NAMES)}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a nightly batch on a shared 2-core machine: leave a core to the API
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.baseline = np.asarray(self.card["baseline"], dtype=np.float32)
        self.thresholds: dict[str, float] = self.card["levels"]  # lower bound of each level above low
        self.version: str = self.card["version"]

    def probability(self, X: np.ndarray) -> np.ndarray:
        """P(serious incident in 90 days) per row; accepts any (n, features) array."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(NAMES):
            raise ValueError(f"expected (n, {len(NAMES)}) features, got {X.shape}")
        if len(X) == 0:
            return np.zeros(0, dtype=np.float64)
        outputs = self.session.run(None, {self.input_name: X})
        probabilities = next(o for o in outputs if getattr(o, "ndim", 0) == 2)  # (n, 2); the other is labels
        return probabilities[:, 1].astype(np.float64)

    def score(self, X: np.ndarray) -> np.ndarray:
        return np.round(100.0 * self.probability(X), 2)

    def level(self, scores: np.ndarray) -> list[str]:
        bounds = [self.thresholds[name] for name in LEVELS[1:]]
        return [LEVELS[i] for i in np.searchsorted(bounds, scores, side="right")]

    def explain(self, X: np.ndarray) -> Scored:
        """Scores, levels and every feature's contribution (score points over the baseline), in one batched run."""
        scores, contributions = occlusion(np.ascontiguousarray(X, dtype=np.float32), self.baseline, self.probability)
        return Scored(scores, self.level(scores), contributions)

    def factors(self, X: np.ndarray, contributions: np.ndarray, top: int = 3) -> list[list[dict[str, Any]]]:
        """Per row, the features that raise the score most (positive contributions, largest first)."""
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        out: list[list[dict[str, Any]]] = []
        for row, idx in enumerate(order):
            picked = []
            for j in idx:
                c = float(contributions[row, j])
                if c < 0.01:  # nothing left that raises the score
                    break
                name = NAMES[j]
                picked.append(
                    {"factor": name, "label": LABELS[name], "value": _plain(X[row, j]), "contribution": round(c, 2)}
                )
            out.append(picked)
        return out


def _plain(value: Any) -> float | int:
    v = float(value)
    return int(v) if v.is_integer() else round(v, 2)


def occlusion(
    X: np.ndarray, baseline: np.ndarray, probability: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, contributions) of any probability function, with one call over a stacked input:
    the rows as they are, then, for each feature j, a copy of every row whose x_j differs from
    the baseline with x_j set to it. Where x_j already equals the baseline the contribution is
    exactly 0, and in a city most counts sit at their median of 0, so this scores ~3 rows per
    elevator instead of features + 1."""
    n, k = X.shape
    rows, cols = np.nonzero(baseline != X)
    occluded = X[rows]
    occluded[np.arange(len(rows)), cols] = baseline[cols]
    probs = 100.0 * probability(np.concatenate([X, occluded]))
    contributions = np.zeros((n, k), dtype=np.float64)
    contributions[rows, cols] = probs[rows] - probs[n:]
    return np.round(probs[:n], 2), contributions


@cache
def shipped_model() -> RiskModel:
    """The committed model, loaded once per process."""
    return RiskModel()
