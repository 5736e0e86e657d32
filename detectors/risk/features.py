"""The risk model's input: one row of history features per elevator, in a fixed column order.

The same columns come from two places: the synthetic history that trains the model
(`synthetic.py`) and the live database (`extract.py`). The order here is the ONNX input's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Feature:
    name: str
    label: str  # shown to regulators next to the factor
    description: str


FEATURES: tuple[Feature, ...] = (
    Feature("age_years", "梯龄(年)", "years since installation"),
    Feature("floors", "层站数", "levels served; a proxy for trips per day"),
    Feature("has_iot", "装有物联网监测", "1 when an IoT box reports faults; without one, faults go unseen"),
    Feature("faults_90d", "近90天安全类故障", "safety-critical (P2) warning cases opened in the last 90 days"),
    Feature("faults_365d", "近一年安全类故障", "safety-critical (P2) warning cases in the last 365 days"),
    Feature("warnings_90d", "近90天一般预警", "other (P3) warning cases in the last 90 days"),
    Feature("warnings_365d", "近一年一般预警", "other (P3) warning cases in the last 365 days"),
    Feature("repeat_alarms_90d", "近90天重复报警", "signals that joined an already open case in the last 90 days"),
    Feature("rescues_90d", "近90天困人", "rescue cases (false alarms excluded) in the last 90 days"),
    Feature("rescues_365d", "近一年困人", "rescue cases (false alarms excluded) in the last 365 days"),
    Feature("complaints_365d", "近一年投诉", "complaint cases in the last 365 days"),
    Feature("maintenance_overdue_days", "维保超期天数", "days since the last maintenance beyond the 15-day cycle"),
    Feature("inspection_overdue_days", "检验超期天数", "days past the next-inspection due date"),
    Feature("rectifications_365d", "近一年检验整改", "inspections with nonconformities, 365 days"),
    Feature("rectification_open", "整改未完成", "1 while a rectification case is open"),
    Feature("stop_use", "停用", "1 while the elevator is flagged out of use"),
    Feature(
        "unit_on_time_90d",
        "维保单位近90天按时维保率",
        "share of the maintenance unit's due visits done on time, 90 days (registry/ontime.py)",
    ),
)
NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}
LABELS: dict[str, str] = {f.name: f.label for f in FEATURES}
MAINTENANCE_CYCLE_DAYS = 15
# A unit with nothing due in the window has no evidence either way: it gets the training
# population's median rate, the factors' baseline, so it neither raises nor lowers a score.
ON_TIME_NEUTRAL = 0.89


def empty(n: int) -> np.ndarray:
    """A zeroed feature matrix for n elevators (float32: the ONNX input type)."""
    return np.zeros((n, len(FEATURES)), dtype=np.float32)
