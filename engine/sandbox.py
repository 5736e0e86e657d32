"""Restricted evaluation of analysts' scripts, gateway conditions and timer expressions.

BPMN files are untrusted input. Code is compiled with RestrictedPython (no imports, no
names or attributes starting with an underscore, no exec/eval/open) and runs with a small set
of builtins; the operators where one short expression becomes gigabytes or hours of big-int
work (`*`, `**`, `<<`, `%`-formatting, `pow`) go through size guards.

None of that is what holds a worker to its limits: a script can catch an exception or sit in
one C call. The engine runs analysts' code either in the worker only when engine.bounded has
shown it cheap, or in a child process (engine.script_pool) that is killed at its deadline. This
module is what both of them evaluate with; a `Sandbox` alone (traced) stops an endless loop
with SandboxTimeout, which is what tests and the child use.
"""

from __future__ import annotations

import ast
import operator
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
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

from engine import durations


class SandboxError(Exception):
    """A script or expression was refused or failed inside the sandbox."""


class ScriptStopped(SandboxError):
    """A limit stopped the code (time, memory, size, the engine run's budget): the case becomes an
    incident. `element`/`name` say which BPMN element, once the script engine knows it."""

    def __init__(self, reason: str, *, limit: str = "size", element: str = "", name: str = "") -> None:
        super().__init__(reason)
        self.reason, self.limit, self.element, self.name = reason, limit, element, name

    def at(self, spec: Any) -> ScriptStopped:
        """Name the BPMN element (the first one to know it wins)."""
        if not self.element:
            self.element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", "") or ""
            self.name = getattr(spec, "bpmn_name", None) or ""
        return self


class SandboxTimeout(ScriptStopped):
    def __init__(self, reason: str = "script ran past its time limit", **kw: Any) -> None:
        kw.setdefault("limit", "time")
        super().__init__(reason, **kw)


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
MAX_INT_BITS = 100_000  # about 30,000 digits: more than any count or amount, far less than a second of work
MAX_FORMAT_WIDTH = 100  # widths and precisions in %-formatting and format specs
# A %-conversion: flags, width (digits or *), precision (digits or *).
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _inplace(op: str, target: Any, value: Any) -> Any:
    if op in ("*=", "%="):
        return _guarded_binop(op[0], target, value)
    if op not in _INPLACE:
        raise SandboxError(f"operator {op} is not allowed")
    return _INPLACE[op](target, value)


def _too_large(what: str) -> ScriptStopped:
    return ScriptStopped(f"{what} too large")


def bad_percent_spec(template: str | bytes) -> str | None:
    """The first %-conversion whose width or precision is above MAX_FORMAT_WIDTH or taken from data."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    for width, precision in _PERCENT_SPEC.findall(text.replace("%%", "")):
        if any(part == "*" or (part and int(part) > MAX_FORMAT_WIDTH) for part in (width, precision)):
            return f"%{width}" + (f".{precision}" if precision else "")
    return None


def _int_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _guarded_binop(op: str, left: Any, right: Any) -> Any:
    """`*`, `**`, `<<` and `%` are where one short expression becomes gigabytes (or hours of big-int
    work in one C call, which no time limit inside the process can interrupt)."""
    if op == "+":
        return left + right
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int) and len(seq) * n > _MAX_REPEAT:
                raise _too_large("sequence repetition")
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            raise _too_large("number")
        return left * right
    if op == "**":
        return _guarded_pow(left, right)
    if op == "%":
        bad = bad_percent_spec(left) if isinstance(left, str | bytes) else None
        if bad:
            raise _too_large(f"format width {bad}")
        return left % right
    if isinstance(right, int) and (right > 4096 or _int_bits(left) + right > MAX_INT_BITS):
        raise _too_large("shift")
    return left << right


def _guarded_pow(left: Any, right: Any, modulo: Any = None) -> Any:
    if isinstance(right, int) and isinstance(left, int) and abs(left) > 1:
        if abs(right) > 1000 and modulo is None:
            raise _too_large("power")
        if modulo is None and _int_bits(left) * right > MAX_INT_BITS:
            raise _too_large("power")
    return pow(left, right) if modulo is None else pow(left, right, modulo)


_GUARDED_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus `+`, `*`, `**`, `<<` and `%` routed through a size guard (`_binop_`)."""

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
BUILTINS["pow"] = _guarded_pow


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

    def shift(ts: str, duration: str, forward: bool) -> str:
        # Months and years are counted from `ts` itself, so the result does not depend on today.
        start = datetime.fromisoformat(ts)
        if duration.startswith("-"):
            duration, forward = duration[1:], not forward
        parsed = durations.parse_duration(duration)
        if forward:
            return (start + durations.after(start, parsed)).isoformat()
        return (start - durations.before(start, parsed)).isoformat()

    def iso_plus(ts: str, duration: str) -> str:
        return shift(ts, duration, True)

    def iso_minus(ts: str, duration: str) -> str:
        return shift(ts, duration, False)

    def now_iso() -> str:
        return now().isoformat()

    return {"iso_plus": iso_plus, "iso_minus": iso_minus, "now": now_iso}


GUARDS: dict[str, Any] = {
    "__builtins__": BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": _getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
    "_binop_": _guarded_binop,
}


class Sandbox:
    """Evaluates and executes restricted code against a context of task data.

    `traced`: an endless loop ends with SandboxTimeout after `time_limit` (a trace function: slow,
    and only as strong as the code's inability to catch it). `guards` replace the default guards
    and builtins (engine.bounded's stricter ones)."""

    def __init__(
        self,
        time_limit: float = 1.0,
        helpers: Mapping[str, Any] | None = None,
        *,
        traced: bool = True,
        guards: Mapping[str, Any] | None = None,
    ) -> None:
        self.time_limit = time_limit
        self.helpers = dict(helpers or {})
        self.traced = traced
        self.guards = {**GUARDS, **(guards or {})}

    def _globals(self, context: Mapping[str, Any]) -> dict[str, Any]:
        g = dict(self.guards)
        g.update(self.helpers)
        g.update(context)
        return g

    def _run(self, code: CodeType, g: dict[str, Any]) -> Any:
        previous = sys.gettrace()
        if self.traced:
            sys.settrace(_deadline_tracer(time.monotonic() + self.time_limit))
        try:
            return eval(code, g)
        except SandboxError:
            raise
        except MemoryError as err:
            raise ScriptStopped("script used too much memory", limit="memory") from err
        finally:
            if self.traced:
                sys.settrace(previous)

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        return self._run(compile_expression(expression), self._globals(context))

    def execute(self, script: str, context: dict[str, Any]) -> None:
        """Run a script; top-level names it binds (plain data only) go back into context."""
        g = self._globals(context)
        self._run(compile_script(script), g)
        reserved = set(self.helpers) | set(self.guards)
        for key, value in g.items():
            if key in reserved or key.startswith("_") or callable(value):
                continue
            context[key] = value
        for key in [k for k in context if k not in g]:
            del context[key]  # `del x` in the script removes x from the task data
