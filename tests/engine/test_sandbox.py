"""Analysts' code runs restricted: escapes fail with a clear error, ordinary code works."""

from __future__ import annotations

import pytest

from engine.sandbox import Sandbox, SandboxError, SandboxTimeout

ESCAPES = [
    ("__import__('os').system('id')", "invalid variable name"),
    ("import os", "import statements are not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "invalid attribute name"),
    ("open('/etc/passwd').read()", "name 'open' is not defined"),
    ("eval('1+1')", "Eval calls are not allowed"),
    ("exec('x=1')", "Exec calls are not allowed"),
    ("getattr(1, '__class__')", "name 'getattr' is not defined"),
    ("(lambda: 0).__globals__", "invalid attribute name"),
    ("'{0.__class__}'.format(1)", "format"),
    ("(x for x in []).gi_frame.f_globals", "gi_frame"),
    ("class A: pass", "__build_class__"),
    ("globals()", "name 'globals' is not defined"),
    ("type(1)", "name 'type' is not defined"),
    ("'a' * (10 ** 10)", "too large"),
    ("10 ** 10 ** 10", "too large"),
]


@pytest.mark.parametrize(("code", "reason"), ESCAPES)
def test_escape_attempts_fail_with_a_clear_error(code: str, reason: str) -> None:
    sandbox = Sandbox(time_limit=0.5)
    with pytest.raises(Exception) as err:
        sandbox.execute(f"x = {code}" if not code.startswith(("import", "class")) else code, {})
    assert reason in str(err.value)


def test_endless_loop_hits_the_time_limit() -> None:
    with pytest.raises(SandboxTimeout, match="time limit"):
        Sandbox(time_limit=0.2).execute("while True:\n    pass", {})


def test_endless_comprehension_hits_a_limit() -> None:
    with pytest.raises((SandboxError, ValueError)):
        Sandbox(time_limit=0.2).execute("x = [i for i in range(10**9)]", {})


def test_ordinary_scripts_and_expressions_work() -> None:
    sandbox = Sandbox(helpers={"double": lambda v: v * 2})
    data = {"count": 2, "items": [3, 1, 2]}
    sandbox.execute("total = sum(items) + count\nordered = sorted(items)\ncount += 1\nd = {'k': double(count)}", data)
    assert data == {"count": 3, "items": [3, 1, 2], "total": 8, "ordered": [1, 2, 3], "d": {"k": 6}}
    assert sandbox.evaluate("count > 2 and 'k' in d", data) is True


def test_script_can_delete_a_variable() -> None:
    data = {"a": 1, "b": 2}
    Sandbox().execute("del b", data)
    assert data == {"a": 1}


def test_month_arithmetic_counts_from_the_given_time() -> None:
    from datetime import UTC, datetime

    from engine.sandbox import iso_helpers

    helpers = iso_helpers(lambda: datetime(2026, 3, 15, tzinfo=UTC))
    assert helpers["iso_plus"]("2027-01-31T00:00:00+00:00", "P1M") == "2027-03-03T00:00:00+00:00"
    assert helpers["iso_plus"]("2026-11-23T01:30:00+00:00", "PT30M") == "2026-11-23T02:00:00+00:00"
    assert helpers["iso_minus"]("2026-12-23T00:00:00+00:00", "P7D") == "2026-12-16T00:00:00+00:00"
