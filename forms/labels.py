"""A form's words in either language: the form's and each field's title (`title` in Chinese,
`x-title-en` in English) and each enum value's label (`x-enum-labels`: {"zh-CN": {...}, "en": {...}}).
The console, the case PDF and the tests read them through here."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from forms.messages import language


def title(schema: dict[str, Any], lang: str | None, default: str = "") -> str:
    if language(lang) == "en" and schema.get("x-title-en"):
        return str(schema["x-title-en"])
    return str(schema.get("title") or default)


def enum_label(prop: dict[str, Any], value: Any, lang: str | None) -> str:
    labels = prop.get("x-enum-labels", {}).get(language(lang), {})
    return str(labels.get(value, value))


def field_value(schema: dict[str, Any] | None, name: str, value: Any, lang: str | None) -> tuple[str, str]:
    """(label, shown value) of one submitted field: its title and, for an enum, the value's label."""
    prop = (schema or {}).get("properties", {}).get(name, {})
    if isinstance(value, bool):
        shown = ("是" if value else "否") if language(lang) == "zh-CN" else ("yes" if value else "no")
    elif "enum" in prop:
        shown = enum_label(prop, value, lang)
    elif isinstance(value, list):
        shown = "、".join(str(v) for v in value) if language(lang) == "zh-CN" else ", ".join(str(v) for v in value)
    else:
        shown = str(value)
    return title(prop, lang, name), shown


@lru_cache(maxsize=8)
def form_titles(forms_dir: str, lang: str) -> dict[str, str]:
    """file name -> the form's title in `lang`, for every form in the folder (read once)."""
    out = {}
    for path in sorted(Path(forms_dir).glob("*.json")):
        try:
            out[path.name] = title(json.loads(path.read_text(encoding="utf-8")), lang, path.stem)
        except (OSError, ValueError):
            continue
    return out
