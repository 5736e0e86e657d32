"""Which analysts' code may run in the worker's own process: code whose cost is bounded by its size.

Most conditions, service parameters, `dueIn` values and scripts are a few names, comparisons,
string joins and date helpers. Sending each of them to a child process would cost more than the
step itself, so code that passes `is_bounded` runs here, without a trace function. It is bounded
because of what it cannot contain, checked on the syntax tree:

- no loops, comprehensions, lambdas, function definitions, try, with, or f-strings/%-formatting;
- calls only to FAST_CALLS by name, and `'<constant>'.join(x)`, with plain arguments;
- only `+`/`-` as arithmetic, at most MAX_ADDS of them; at most MAX_NODES nodes; short literals;

- no rebinding of those names (`max = sum` would make a call quadratic);

and because of what its few operations may do at run time (FAST_GUARDS): a `+` or a join whose
result would pass FAST_MAX_LEN, a slice of a value that long, a `str()` of anything but a scalar,
or a script result that would make the task data larger than FAST_MAX_DATA raises NotBounded, and
the same code runs again in a child process (engine.script_pool) under the real limits. So every
operation here costs at most the size of task data already in memory, and there are a few hundred
of them at most.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

from engine.sandbox import BUILTINS, SandboxError, _guarded_binop, _inplace

MAX_NODES = 300
MAX_ADDS = 32
FAST_MAX_LEN = 64 * 1024  # longest string or list a `+` or a join may build here
FAST_MAX_DATA = 64 * 1024  # units (engine.script_data) a fast script may bind
_MAX_LITERAL = 1000
FAST_CALLS = frozenset({"str", "int", "float", "bool", "len", "abs", "min", "max", "iso_plus", "iso_minus", "now"})
_SCALARS = (str, int, float, bool, type(None))

_NODES = (
    # statements (scripts)
    ast.Module, ast.Expression, ast.Assign, ast.AugAssign, ast.If, ast.Pass, ast.Delete, ast.Expr,
    # expressions
    ast.BoolOp, ast.Compare, ast.UnaryOp, ast.BinOp, ast.IfExp, ast.Constant, ast.Name, ast.Subscript,
    ast.Slice, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call, ast.Attribute,
    # contexts and operators
    ast.Load, ast.Store, ast.Del, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)  # fmt: skip


class NotBounded(Exception):
    """This run may not stay in the worker's process: run the code in a child process instead."""


def _is_join(node: ast.AST) -> bool:
    """`'<constant>'.join`: the one method bounded code may call."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "join"
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _allowed(node: ast.AST) -> bool:
    if not isinstance(node, _NODES):
        return False
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str | bytes):
            return len(value) <= _MAX_LITERAL
        return isinstance(value, bool | float | type(None)) or (isinstance(value, int) and abs(value) < 2**63)
    if isinstance(node, ast.Call):
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            return False
        return (isinstance(node.func, ast.Name) and node.func.id in FAST_CALLS) or _is_join(node.func)
    if isinstance(node, ast.Attribute):
        return _is_join(node)
    if isinstance(node, ast.Name):
        return isinstance(node.ctx, ast.Load) or node.id not in FAST_CALLS  # `max = sum` would call sum
    if isinstance(node, ast.Dict):
        return None not in node.keys  # no `**other`
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return all(isinstance(t, ast.Name) for t in targets)
    return True


@lru_cache(maxsize=4096)
def is_bounded(code: str, mode: str) -> bool:
    """`mode`: "eval" for an expression, "exec" for a script."""
    try:
        tree = ast.parse(code.strip() if mode == "eval" else code, mode=mode)
    except (SyntaxError, ValueError):
        return False  # the sandbox's compile says what is wrong with it
    nodes = list(ast.walk(tree))
    adds = sum(isinstance(n, ast.Add | ast.Sub) for n in nodes)
    return len(nodes) <= MAX_NODES and adds <= MAX_ADDS and all(_allowed(n) for n in nodes)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _fast_binop(op: str, left: Any, right: Any) -> Any:
    if op == "+" and _size(left) + _size(right) > FAST_MAX_LEN:
        raise NotBounded
    if op != "+":
        return _guarded_binop(op, left, right)
    return left + right


def _fast_inplace(op: str, target: Any, value: Any) -> Any:
    if op == "+=":
        return _fast_binop("+", target, value)
    return _inplace(op, target, value)


def _fast_getitem(obj: Any, key: Any) -> Any:
    if isinstance(key, slice) and _size(obj) > FAST_MAX_LEN:
        raise NotBounded  # a slice copies: of a large value, only in a child
    return obj[key]


def _fast_str(value: Any = "") -> str:
    if not isinstance(value, _SCALARS):
        raise NotBounded  # str() of a container costs its size: the child process may pay it
    return str(value)


def _fast_join(separator: str) -> Any:
    def join(items: Any) -> str:
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise NotBounded
        if sum(map(len, items)) + len(separator) * len(items) > FAST_MAX_LEN:
            raise NotBounded
        return separator.join(items)

    return join


def _fast_getattr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, str) and name == "join":
        return _fast_join(obj)
    raise SandboxError(f"attribute {name!r} is not available here")  # is_bounded let no other through


FAST_GUARDS: dict[str, Any] = {
    "__builtins__": {**BUILTINS, "str": _fast_str},
    "_getattr_": _fast_getattr,
    "_getitem_": _fast_getitem,
    "_binop_": _fast_binop,
    "_inplacevar_": _fast_inplace,
}
