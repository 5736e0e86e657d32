"""Deploy-time refusals of analysts' code and settings that can never be right, in Chinese and English.

The limits (engine.limits, engine.script_pool) stop such code at run time anyway; refusing it at
deploy tells the analyst which element and why before a case turns into an incident:

- `try`/`except` in a script (it exists to catch the time limit);
- a format width or precision above MAX_FORMAT_WIDTH (`'%0400000000d' % 1`, `f'{x:>400000000}'`),
  or one taken from data (`'%*d'`, `f'{x:{w}}'`);
- a multi-instance cardinality or loop maximum above MAX_INSTANCES;
- a timer of the wrong kind (a timeDate given a duration like 'PT3M' parses to a dict and fails
  every step of the case; a timeDuration given a date-time), a duration over a hundred years, or a
  cycle that repeats every zero seconds.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask

from engine import durations
from engine.limits import MAX_INSTANCES
from engine.sandbox import MAX_FORMAT_WIDTH, bad_percent_spec
from engine.timers import parse_cycle, parse_date_time

# [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_FORMAT_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[a-zA-Z%]?$", re.S)


@dataclass(frozen=True)
class Refusal:
    zh: str
    en: str


_TRY = Refusal(
    "脚本不能使用 try/except：运行时限和内存上限不允许被捕获",
    "a script may not use try/except: the time and memory limits must not be caught",
)


def _width_refusal(spec: str) -> Refusal:
    return Refusal(
        f"格式宽度或精度 {spec!r} 过大（上限 {MAX_FORMAT_WIDTH}，且不能取自数据）",
        f"format width or precision {spec!r} is too large (at most {MAX_FORMAT_WIDTH}, and not taken from data)",
    )


def _spec_refusal(node: ast.FormattedValue) -> Refusal | None:
    spec = node.format_spec
    if spec is None:
        return None
    if not isinstance(spec, ast.JoinedStr) or any(not isinstance(v, ast.Constant) for v in spec.values):
        return _width_refusal("{…}")
    text = "".join(str(v.value) for v in spec.values if isinstance(v, ast.Constant))
    match = _FORMAT_SPEC.match(text)
    numbers = [int(n) for n in (match.groups() if match else ()) if n]
    if match is None or any(n > MAX_FORMAT_WIDTH for n in numbers):
        return _width_refusal(text)
    return None


def _percent_refusal(node: ast.BinOp) -> Refusal | None:
    if not isinstance(node.op, ast.Mod) or not isinstance(node.left, ast.Constant):
        return None
    template = node.left.value
    bad = bad_percent_spec(template) if isinstance(template, str | bytes) else None
    return _width_refusal(bad) if bad else None


def code_refusals(code: str | None, mode: str) -> list[Refusal]:
    """What is wrong with a script ("exec") or an expression ("eval"); syntax errors are the
    sandbox's compile's to report."""
    if not code:
        return []
    try:
        tree = ast.parse(code.strip() if mode == "eval" else code, mode=mode)
    except (SyntaxError, ValueError):
        return []
    found: list[Refusal] = []
    for node in ast.walk(tree):
        refusal = None
        if isinstance(node, ast.Try | ast.TryStar):
            refusal = _TRY
        elif isinstance(node, ast.FormattedValue):
            refusal = _spec_refusal(node)
        elif isinstance(node, ast.BinOp):
            refusal = _percent_refusal(node)
        if refusal is not None and refusal not in found:
            found.append(refusal)
    return found


def _constant_int(expression: Any) -> int | None:
    try:
        value = ast.literal_eval(str(expression).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def instance_refusals(spec: Any) -> list[Refusal]:
    """A cardinality (multi-instance) or maximum (standard loop) written as a number above the cap."""
    if isinstance(spec, MultiInstanceTask):
        count, what = _constant_int(spec.cardinality) if spec.cardinality else None, ("多实例数量", "loopCardinality")
    elif isinstance(spec, StandardLoopTask):
        count, what = _constant_int(spec.maximum) if spec.maximum else None, ("循环次数上限", "loopMaximum")
    else:
        return []
    if count is None or count <= MAX_INSTANCES:
        return []
    return [
        Refusal(
            f"{what[0]} {count} 超过上限 {MAX_INSTANCES}",
            f"{what[1]} {count} is above the limit of {MAX_INSTANCES} instances",
        )
    ]


def _kind(literal: str) -> str:
    head = literal.strip().upper()[:1]
    return {"P": "duration", "R": "cycle"}.get(head, "date-time")


# kind -> (Chinese name, English name, example)
_KINDS = {
    "duration": ("时长", "a duration", "'PT10M'"),
    "cycle": ("循环", "a cycle", "'R3/PT10M'"),
    "date-time": ("日期时间", "a date-time", "'2026-11-23T09:30:00+08:00'"),
}
_WANTS = {TimeDateEventDefinition: "date-time", DurationTimerEventDefinition: "duration"}
_TAGS = {"date-time": "timeDate", "duration": "timeDuration", "cycle": "timeCycle"}


def _wanted(definition: TimerEventDefinition) -> str:
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    return next((kind for cls, kind in _WANTS.items() if isinstance(definition, cls)), "date-time")


def _parse(literal: str, kind: str) -> None:
    if kind == "duration":
        durations.parse_duration(literal)
    elif kind == "cycle":
        _cycles, _start, interval = parse_cycle(literal, datetime(2026, 1, 1, tzinfo=UTC))
        if interval.total_seconds() <= 0:
            raise ValueError("the interval must be positive")
    else:
        parse_date_time(literal)


def timer_refusals(definition: TimerEventDefinition) -> list[Refusal]:
    """A quoted literal of the wrong kind for its timer, or one that does not parse."""
    text = (definition.expression or "").strip()
    if text[:1] not in ("'", '"'):
        return []  # an expression: its value is checked when the timer starts
    literal, wanted = text.strip("'\""), _wanted(definition)
    given = _kind(literal)
    try:
        _parse(literal, given)
    except Exception as err:
        # The parser's own words stay in English only: the Chinese says what to write instead.
        zh = f"定时器 {literal!r} 不是有效的 ISO 8601 值（例如 'PT15M' 表示 15 分钟）"
        en = f"timer {literal!r} is not ISO 8601: {err}"
        return [Refusal(zh, en)]
    if given == wanted:
        return []
    tag, alt = _TAGS[wanted], _TAGS[given]
    (want_zh, want_en, example), (got_zh, got_en, _) = _KINDS[wanted], _KINDS[given]
    return [
        Refusal(
            f"{tag} 需要{want_zh}（如 {example}），{literal!r} 是{got_zh}（请改用 {alt}）",
            f"a {tag} needs {want_en} such as {example}; {literal!r} is {got_en} (use a {alt})",
        )
    ]


def say(refusal: Refusal, element: str, name: str | None) -> str:
    """The message of a Problem: which element (its id is the Problem's), Chinese / English."""
    if name and name != element:
        return f"「{name}」（{element}）：{refusal.zh} / {element} '{name}': {refusal.en}"
    return f"{element}：{refusal.zh} / {element}: {refusal.en}"
