"""On-time maintenance per maintenance unit (the rule and its query live in registry/ontime.py,
so the risk model in detectors/ reads the same definition; re-exported here for processes/)."""

from registry.ontime import WINDOW_DAYS, OnTime, unit_on_time

__all__ = ["WINDOW_DAYS", "OnTime", "unit_on_time"]
