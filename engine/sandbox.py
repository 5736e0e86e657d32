"""Restricted evaluation of analysts' scripts, gateway conditions and timer expressions.

BPMN files are untrusted input. Code is compiled with RestrictedPython (no imports, no
names or attributes starting with an underscore, no exec/eval/open), runs with a small set
of builtins and under a wall-clock limit enforced by a trace function, so an endless loop
ends with a clear error instead of hanging a worker.
"""

from __future__ import annotations

import ast
import operator
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, safer_getattr


class SandboxError(Exception):
    """A script or expression was refused or failed inside the sandbox."""


class SandboxTimeout(SandboxError):
    pass


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "|=": operator.ior,
    "&=": operator.iand,
}
_MAX_REPEAT = 100_000  # longest sequence a script may build with `*`


def _inplace(op: str, target: Any, value: Any) -> Any:
    if op == "*=":
        return _guarded_binop("*", target, value)
    if op not in _INPLACE:
        raise SandboxError(f"operator {op} is not allowed")
    return _INPLACE[op](target, value)


def _guarded_binop(op: str, left: Any, right: Any) -> Any:
    """`*`, `**` and `<<` are where one short expression becomes gigabytes."""
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int) and len(seq) * n > _MAX_REPEAT:
                raise SandboxError("sequence repetition too large")
        return left * right
    if op == "**":
        if isinstance(right, int) and abs(right) > 1000 and isinstance(left, int) and abs(left) > 1:
            raise SandboxError("power too large")
        return left**right
    if isinstance(right, int) and right > 4096:
        raise SandboxError("shift too large")
    return left << right


_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<"}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus `a * b`, `a ** b`, `a << b` routed through a size guard."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "import statements are not allowed")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "import statements are not allowed")
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST | Iterable[ast.AST] | None:
        visited = super().visit_BinOp(node)
        if not isinstance(visited, ast.BinOp):
            return visited
        op = _GUARDED_OPS.get(type(visited.op))
        if op is None:
            return visited
        call = ast.Call(
            func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(op), visited.left, visited.right], keywords=[]
        )
        return ast.fix_missing_locations(ast.copy_location(call, visited))


def _getitem(obj: Any, key: Any) -> Any:
    return obj[key]


_EXTRA_BUILTINS: dict[str, Any] = {
    name: getattr(__builtins__, name, None) if not isinstance(__builtins__, dict) else __builtins__[name]
    for name in (
        "min",
        "max",
        "sum",
        "any",
        "all",
        "sorted",
        "enumerate",
        "zip",
        "dict",
        "set",
        "map",
        "filter",
        "reversed",
    )
}

BUILTINS: dict[str, Any] = {**safe_builtins, **limited_builtins, **_EXTRA_BUILTINS}
BUILTINS.pop("__build_class__", None)  # no class statements: a class body is a way to reach dunders


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    result = compile_restricted_eval(expression.strip(), "<expression>", policy=_Policy)
    if result.errors or result.code is None:
        raise SandboxError(f"expression {expression!r} refused: {'; '.join(result.errors)}")
    return result.code


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    result = compile_restricted_exec(script, "<script>", policy=_Policy)
    if result.errors or result.code is None:
        raise SandboxError(f"script refused: {'; '.join(result.errors)}")
    return result.code


def _deadline_tracer(deadline: float) -> Callable[[FrameType, str, Any], Any]:
    # Opcode events, because a one-line `while True: pass` emits no line events in 3.11.
    ticks = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal ticks
        if event == "call":
            frame.f_trace_opcodes = True
        ticks += 1
        if ticks % 512 == 0 and time.monotonic() > deadline:
            raise SandboxTimeout("script ran past its time limit")
        return trace

    return trace


def iso_helpers(now: Callable[[], datetime]) -> dict[str, Callable[..., Any]]:
    """Date helpers offered to scripts: ISO strings in, ISO strings out (task data stays JSON)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as T

    def shift(ts: str, duration: str, forward: bool) -> str:
        # Months and years are counted from `ts` itself, so the result does not depend on today.
        start = datetime.fromisoformat(ts)
        if duration.startswith("-"):
            duration, forward = duration[1:], not forward
        parsed = T.parse_iso_duration(duration)
        if forward:
            ahead: timedelta = T.get_timedelta_from_start(parsed, start)
            return (start + ahead).isoformat()
        back: timedelta = T.get_timedelta_from_end(parsed, start)
        return (start - back).isoformat()

    def iso_plus(ts: str, duration: str) -> str:
        return shift(ts, duration, True)

    def iso_minus(ts: str, duration: str) -> str:
        return shift(ts, duration, False)

    def now_iso() -> str:
        return now().isoformat()

    return {"iso_plus": iso_plus, "iso_minus": iso_minus, "now": now_iso}


class Sandbox:
    """Evaluates and executes restricted code against a context of task data."""

    def __init__(self, time_limit: float = 1.0, helpers: Mapping[str, Any] | None = None) -> None:
        self.time_limit = time_limit
        self.helpers = dict(helpers or {})

    def _globals(self, context: Mapping[str, Any]) -> dict[str, Any]:
        g: dict[str, Any] = {
            "__builtins__": BUILTINS,
            "_getattr_": safer_getattr,
            "_getitem_": _getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_write_": full_write_guard,
            "_inplacevar_": _inplace,
            "_binop_": _guarded_binop,
        }
        g.update(self.helpers)
        g.update(context)
        return g

    def _run(self, code: CodeType, g: dict[str, Any]) -> Any:
        previous = sys.gettrace()
        sys.settrace(_deadline_tracer(time.monotonic() + self.time_limit))
        try:
            return eval(code, g)
        except SandboxError:
            raise
        except MemoryError as err:
            raise SandboxError("script used too much memory") from err
        finally:
            sys.settrace(previous)

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        return self._run(compile_expression(expression), self._globals(context))

    def execute(self, script: str, context: dict[str, Any]) -> None:
        """Run a script; top-level names it binds (plain data only) go back into context."""
        g = self._globals(context)
        self._run(compile_script(script), g)
        reserved = set(self.helpers) | {"__builtins__"}
        for key, value in g.items():
            if key in reserved or key.startswith("_") or callable(value):
                continue
            context[key] = value
        for key in [k for k in context if k not in g]:
            del context[key]  # `del x` in the script removes x from the task data
