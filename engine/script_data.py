"""What analysts' code may hand back into task data: plain data of a bounded size and depth.

Task data is copied into every task, serialized on every step and shown on the console, so a
value is measured as JSON would spell it out: a list that holds the same string a thousand times
counts a thousand strings (`b = [a, a, a, a]`, `c = [b, b, b, b]`, ... is small in memory and
huge on disk). The walk stops as soon as the cap is passed, so measuring costs at most the cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from engine.sandbox import SandboxError, ScriptStopped

MAX_DATA_UNITS = 1_000_000  # characters, numbers and containers of one script's task data
MAX_DEPTH = 40  # nesting: JSON, deepcopy and pickle recurse over it
_SCALARS = (str, bytes, int, float, bool, type(None), date, datetime, time, timedelta, timezone)
_CONTAINERS = (list, tuple, set, frozenset)


class TooMuchData(ScriptStopped):
    def __init__(self, reason: str = "the script's data is too large", **kw: Any) -> None:
        kw.setdefault("limit", "size")
        super().__init__(reason, **kw)


def _units(value: Any) -> int:
    if isinstance(value, str | bytes):
        return 1 + len(value)
    if isinstance(value, int):
        return 1 + value.bit_length() // 32
    return 1


def measure(value: Any, cap: int = MAX_DATA_UNITS, *, name: str = "") -> int:
    """Units of `value`; TooMuchData past `cap` or MAX_DEPTH, SandboxError for what is not data."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TooMuchData(f"{name or 'the result'} is nested more than {MAX_DEPTH} deep")
        total += _units(item)
        if total > cap:
            raise TooMuchData(f"{name or 'the result'} is too large (more than {cap} characters and items)")
        if isinstance(item, _SCALARS):
            continue
        if isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item.keys())
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, _CONTAINERS):
            stack.extend((v, depth + 1) for v in item)
        else:
            raise SandboxError(f"{name or 'the result'} is not data: {type(item).__name__}")
    return total


def measure_all(values: Mapping[str, Any], cap: int = MAX_DATA_UNITS) -> int:
    """Units of a whole context (name by name, one cap for all)."""
    total = 0
    for key, value in values.items():
        total += measure(value, cap - total, name=key)
    return total
