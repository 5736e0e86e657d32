"""Validate submitted form data against a task's JSON Schema, with one message per field, in the
language of the person who reads it (forms/messages.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from forms.messages import message


@dataclass(frozen=True)
class Problem:
    """One wrong field: its path ("trapped_count", "photos.0"), the JSON Schema keyword it broke and
    the keyword's value in the schema (50 for maximum: 50)."""

    field: str
    keyword: str
    limit: Any


class FormInvalid(Exception):
    """Submitted data does not match the form; `messages(lang)` maps each field to what is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.keyword}" for p in problems))

    def messages(self, lang: str | None = None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in self.problems:
            text = message(p.keyword, p.limit, lang)
            if text not in out.setdefault(p.field, []):
                out[p.field].append(text)
        return out

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.messages("en")


def problems(schema: dict[str, Any], data: Any) -> list[Problem]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    found: list[Problem] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = [str(p) for p in error.absolute_path]
        keyword = str(error.validator)
        if keyword == "required":
            # jsonschema reports a missing field on its parent; the person wants it on the field.
            path.append(error.message.split("'")[1] if "'" in error.message else "")
        elif keyword == "additionalProperties":
            instance = error.instance if isinstance(error.instance, dict) else {}
            extra = set(instance) - set(error.schema.get("properties", {}))
            # reported on the form (or the object holding them): there is no such field to show it at
            found.append(Problem(".".join(path) or "_form", keyword, "、".join(sorted(extra))))
            continue
        found.append(Problem(".".join(path) or "_form", keyword, error.validator_value))
    return found


def field_errors(schema: dict[str, Any], data: Any, lang: str | None = "en") -> dict[str, list[str]]:
    return FormInvalid(problems(schema, data)).messages(lang)


def validate_form(schema: dict[str, Any] | None, data: dict[str, Any]) -> None:
    if schema is None:
        return
    found = problems(schema, data)
    if found:
        raise FormInvalid(found)
