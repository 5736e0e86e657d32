"""Validate submitted form data against a task's JSON Schema, with one message per field."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker


class FormInvalid(Exception):
    """Submitted data does not match the form; `errors` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def field_errors(schema: dict[str, Any], data: Any) -> dict[str, list[str]]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "required":
            # jsonschema reports a missing field on its parent; the person wants it on the field.
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = [*path, missing]
        name = ".".join(str(p) for p in path) or "_form"
        errors.setdefault(name, []).append(error.message)
    return errors


def validate_form(schema: dict[str, Any] | None, data: dict[str, Any]) -> None:
    if schema is None:
        return
    errors = field_errors(schema, data)
    if errors:
        raise FormInvalid(errors)
