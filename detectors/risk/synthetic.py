"""Synthetic elevator history for training and testing the risk model (no real data ships).

Generating process (seeded, `numpy.random.Generator(PCG64(seed))`; same seed, same rows):

1. Each elevator belongs to a maintenance unit with a latent quality `u ~ N(0, 0.6)` (shared,
   so elevators of one bad unit are correlated), and has its own wear `w ~ N(0, 1)`, an age
   `U(0.1, 26)` years, levels served (12% escalators with 2, the rest 6-33) and, for 30%, an IoT
   box (the training population over-samples boxes; the city has 7%).
2. The latent hazard is a log annual rate of serious incidents:
   `h = -3.3 + 0.07*age + 0.6*u + 0.6*w + 0.015*floors`, and the last 90 days drift from it by
   `d ~ N(0, 0.4)` (an elevator getting worse or better lately).
3. Maintenance is overdue with probability `sigmoid(-3.5 + 1.5u)` (1 + Exp(8) days), the
   inspection with `sigmoid(-3.5 + 0.8u)` (1 + Exp(25) days). Last year's inspection found
   nonconformities with `sigmoid(-1.5 + 0.8w + 0.6u + 0.04*age)`; that rectification is still
   open with `sigmoid(-1 + u)`. The elevator is stopped with `sigmoid(-5 + 1.2w + rect_open + 0.03*insp_days)`.
4. History counts are Poisson with rates driven by the hazard (the earlier 275 days at `h`,
   the last 90 at `h + d`): safety faults `8 e^h` per year, other warnings `(1.5 + 15 e^h)` scaled
   by levels (mostly door noise), both seen only with an IoT box (5% without: camera or
   phone reports); trappings `1.5 e^h + 0.05` (callers report them with or without a box);
   complaints `0.15 e^(0.6u + 0.4w) + 0.3` per trapping; repeat alarms
   `(0.4 faults_90d + 0.2 warnings_90d) e^(0.5u)` (unfixed faults re-alarm).
5. The label is a serious incident (trapping or safety-critical fault with harm potential)
   in the next 90 days, `1 - exp(-K e^h_now * 90/365)` with
   `h_now = h + d + 0.025*maint_days + 0.006*insp_days + 0.4*rect_open + 0.3*stop_use`.
6. The unit's on-time maintenance rate over 90 days is a per-unit figure,
   `sigmoid(2.2 - 2u + e)` with `e ~ N(0, 0.5)` per unit (a unit's punctuality shows its quality,
   noisily), rounded to 0.01; 3% of units had nothing due and get `ON_TIME_NEUTRAL` (0.89, the
   the median). It does not enter `h_now` itself: it is evidence of `u`, so the model learns a
   real but modest effect. These draws come last, so the other columns are as before.

So the model has to recover hazard from noisy, partly unobserved evidence; `hazard` (the true
`h_now`) and `p_true` are returned so tests can check that scores rank elevators like it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.risk.features import INDEX, ON_TIME_NEUTRAL, empty

K_SERIOUS = 1.6  # scales the serious-incident rate so ~7% of the training population has one


@dataclass(frozen=True)
class SyntheticHistory:
    X: np.ndarray  # (n, len(FEATURES)) float32, columns as features.NAMES
    y: np.ndarray  # (n,) int: serious incident in the next 90 days
    hazard: np.ndarray  # (n,) the true log-rate at scoring time
    p_true: np.ndarray  # (n,) the true incident probability


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def generate(n: int, seed: int, *, iot_share: float = 0.3) -> SyntheticHistory:
    rng = np.random.Generator(np.random.PCG64(seed))
    units = rng.normal(0.0, 0.6, size=max(1, n // 180))
    unit_of = rng.integers(0, len(units), size=n)
    u = units[unit_of]
    w = rng.normal(0.0, 1.0, size=n)
    age = rng.uniform(0.1, 26.0, size=n)
    floors = np.where(rng.random(n) < 0.12, 2, rng.integers(6, 34, size=n)).astype(float)
    iot = rng.random(n) < iot_share
    h = -3.3 + 0.07 * age + 0.6 * u + 0.6 * w + 0.015 * floors
    d = rng.normal(0.0, 0.4, size=n)

    maint_days = np.where(rng.random(n) < _sigmoid(-3.5 + 1.5 * u), 1 + rng.exponential(8.0, n).round(), 0.0)
    insp_days = np.where(rng.random(n) < _sigmoid(-3.5 + 0.8 * u), 1 + rng.exponential(25.0, n).round(), 0.0)
    rect = rng.random(n) < _sigmoid(-1.5 + 0.8 * w + 0.6 * u + 0.04 * age)
    rect_open = rect & (rng.random(n) < _sigmoid(-1.0 + u))
    stop = rng.random(n) < _sigmoid(-5.0 + 1.2 * w + rect_open + 0.03 * insp_days)

    seen = np.where(iot, 1.0, 0.05)
    early, late = 275 / 365, 90 / 365
    rate_now, rate_before = np.exp(h + d), np.exp(h)

    def counts(yearly_before: np.ndarray, yearly_now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        recent = rng.poisson(yearly_now * late)
        return recent, recent + rng.poisson(yearly_before * early)

    faults_90, faults_365 = counts(8 * rate_before * seen, 8 * rate_now * seen)
    busy = floors / 18.0
    warn_90, warn_365 = counts((1.5 + 15 * rate_before) * busy * seen, (1.5 + 15 * rate_now) * busy * seen)
    resc_90, resc_365 = counts(1.5 * rate_before + 0.05, 1.5 * rate_now + 0.05)
    complaints = rng.poisson(0.15 * np.exp(0.6 * u + 0.4 * w) + 0.3 * resc_365)
    repeats = rng.poisson((0.4 * faults_90 + 0.2 * warn_90) * np.exp(0.5 * u))

    h_now = h + d + 0.025 * maint_days + 0.006 * insp_days + 0.4 * rect_open + 0.3 * stop
    p_true = 1.0 - np.exp(-K_SERIOUS * np.exp(h_now) * late)
    y = (rng.random(n) < p_true).astype(np.int64)

    unit_rate = _sigmoid(2.2 - 2.0 * units + rng.normal(0.0, 0.5, size=len(units))).round(2)
    unit_rate[rng.random(len(units)) < 0.03] = ON_TIME_NEUTRAL  # nothing due in the window

    X = empty(n)
    columns = {
        "age_years": age.round(1),
        "floors": floors,
        "has_iot": iot,
        "faults_90d": faults_90,
        "faults_365d": faults_365,
        "warnings_90d": warn_90,
        "warnings_365d": warn_365,
        "repeat_alarms_90d": repeats,
        "rescues_90d": resc_90,
        "rescues_365d": resc_365,
        "complaints_365d": complaints,
        "maintenance_overdue_days": maint_days,
        "inspection_overdue_days": insp_days,
        "rectifications_365d": rect,
        "rectification_open": rect_open,
        "stop_use": stop,
        "unit_on_time_90d": unit_rate[unit_of],
    }
    for name, values in columns.items():
        X[:, INDEX[name]] = values
    return SyntheticHistory(X, y, h_now, p_true)
