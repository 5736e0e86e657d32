"""The one guard on JSON request bodies: a document nested deeper than MAX_DEPTH, an integer
longer than MAX_INT_DIGITS, a number beyond a float or NaN/Infinity is refused with a clear 400
before any view, schema or form check walks it (those recurse, and Python refuses to turn a
100,000-digit string into an int with a ValueError the JSON parsers do not expect).
The size is bounded before that by Flask's MAX_CONTENT_LENGTH (413).

`install` checks every JSON request once, before its view; a view that verifies a signature over
the raw body first (the AI webhook) is marked `@own_body` and calls `loads` itself afterwards."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request

from web.http.errors import body

F = TypeVar("F", bound=Callable[..., Any])
MAX_DEPTH = 32  # our deepest real body (a form's data) is 3 levels
MAX_INT_DIGITS = 30  # ids are 32-bit, counts 64-bit at most
MAX_NUMBER_CHARS = 100


class JsonRefused(ValueError):
    """The body is not JSON we accept; the message says why."""


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JsonRefused(f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonRefused(f"a number written with {len(text)} characters; at most {MAX_NUMBER_CHARS}")
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {text[:20]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON value")


def _too_deep(value: Any) -> bool:
    """Without recursion: the walk itself must not be what a deep document breaks."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_DEPTH:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def loads(raw: bytes | str) -> Any:
    """The parsed body, or JsonRefused saying what is wrong with it."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except UnicodeDecodeError as err:
        raise JsonRefused(f"body is not UTF-8 text ({err.reason} at byte {err.start})") from err
    except RecursionError as err:
        raise JsonRefused(f"body is nested deeper than {MAX_DEPTH} levels") from err
    except json.JSONDecodeError as err:
        raise JsonRefused(f"body is not JSON: {err}") from err
    if isinstance(value, dict | list) and _too_deep(value):
        raise JsonRefused(f"body is nested deeper than {MAX_DEPTH} levels")
    return value


def own_body(view: F) -> F:
    """Mark a view that parses its JSON body itself, with `loads`, after checking a signature over it."""
    view.liftcase_own_body = True  # type: ignore[attr-defined]
    return view


def _view_parses_own_body() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a MethodView: the mark is on the method
        view = getattr(view_class, request.method.lower(), None)
    return bool(getattr(view, "liftcase_own_body", False))


def install(app: Flask) -> None:
    """Check every JSON body before its view (after sign-in: strangers' bodies are not parsed).
    The view's schema reads the same cached bytes again, now known to be safe to walk."""

    @app.before_request
    def _guard_json() -> tuple[Any, int] | None:
        if not request.is_json or request.content_length == 0 or _view_parses_own_body():
            return None
        raw = request.get_data(cache=True)
        if not raw:
            return None
        try:
            loads(raw)
        except JsonRefused as err:
            return body(400, str(err))
        return None
