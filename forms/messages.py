"""What a person reads when a form field is wrong, in zh-CN or English: one sentence per JSON Schema
keyword that forms/*.json use, never jsonschema's own English ("'outcome' is a required property")."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("zh-CN", "en")

# keyword -> (zh-CN, en); {limit} is the keyword's value in the schema.
_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("必填", "Required"),
    "minimum": ("不能小于 {limit}", "Must be at least {limit}"),
    "exclusiveMinimum": ("必须大于 {limit}", "Must be more than {limit}"),
    "maximum": ("不能大于 {limit}", "Must be at most {limit}"),
    "exclusiveMaximum": ("必须小于 {limit}", "Must be less than {limit}"),
    "minLength": ("至少 {limit} 个字", "At least {limit} characters"),
    "maxLength": ("最多 {limit} 个字", "At most {limit} characters"),
    "minItems": ("至少 {limit} 项", "At least {limit} items"),
    "maxItems": ("最多 {limit} 项", "At most {limit} items"),
    "enum": ("请从列表中选择", "Choose one of the listed values"),
    "const": ("必须勾选", "This must be checked"),
    "pattern": ("格式不正确", "Not in the expected format"),
    "format": ("格式不正确", "Not in the expected format"),
    "type": ("类型不正确", "Wrong kind of value"),
    "additionalProperties": ("表单没有这些项：{limit}", "This form has no such field: {limit}"),
}
_FALLBACK = ("填写有误", "Not valid")
# What each format expects, more helpful than "not in the expected format".
_FORMATS: dict[str, tuple[str, str]] = {
    "date": ("请填写日期（年-月-日）", "Enter a date (YYYY-MM-DD)"),
    "date-time": ("请填写日期和时间", "Enter a date and time"),
}


def language(lang: str | None) -> str:
    """'zh_CN', 'zh_Hans_CN', 'zh-CN', None -> 'zh-CN'; 'en…' -> 'en'."""
    return "en" if (lang or "").lower().startswith("en") else "zh-CN"


def message(keyword: str, limit: Any, lang: str | None) -> str:
    index = LANGUAGES.index(language(lang))
    if keyword == "format" and str(limit) in _FORMATS:
        return _FORMATS[str(limit)][index]
    if keyword == "const" and limit is not True:
        keyword = "enum"
    return _MESSAGES.get(keyword, _FALLBACK)[index].format(limit=limit)
