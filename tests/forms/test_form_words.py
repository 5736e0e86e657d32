"""Every task form speaks both languages (issue 15): the form and each field have a Chinese `title`
and an English `x-title-en`, every enum value a label in each language; a wrong field is told in
the reader's language, never as jsonschema's English."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forms.labels import enum_label, field_value, title
from forms.validation import FormInvalid, validate_form

FORMS = sorted((Path(__file__).resolve().parents[2] / "forms").glob("*.json"))
CJK = ("\u4e00", "\u9fff")


def chinese(text: str) -> bool:
    return any(CJK[0] <= c <= CJK[1] for c in text)


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_every_form_names_its_fields_and_choices_in_both_languages(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert chinese(title(schema, "zh-CN")) and not chinese(title(schema, "en"))
    for name, prop in schema["properties"].items():
        zh, en = title(prop, "zh-CN"), title(prop, "en")
        assert chinese(zh) and en and not chinese(en) and en != name, (path.name, name)
        for value in prop.get("enum", []):
            assert chinese(enum_label(prop, value, "zh_Hans_CN")), (path.name, name, value)
            label = enum_label(prop, value, "en")
            assert label != value and not chinese(label) and "_" not in label, (path.name, name, value)


def test_messages_per_field_in_the_readers_language() -> None:
    schema = json.loads((FORMS[0].parent / "rescue_verify.json").read_text(encoding="utf-8"))
    with pytest.raises(FormInvalid) as caught:
        validate_form(schema, {"outcome": "maybe", "trapped_count": -3, "note": "x" * 1001, "extra": 1})
    assert caught.value.messages("zh_Hans_CN") == {
        "_form": ["表单没有这些项：extra"],
        "note": ["最多 1000 个字"],
        "outcome": ["请从列表中选择"],
        "trapped_count": ["不能小于 0"],
    }
    assert caught.value.messages("en")["trapped_count"] == ["Must be at least 0"]
    with pytest.raises(FormInvalid) as missing:
        validate_form(schema, {})
    assert missing.value.messages("zh-CN") == {"outcome": ["必填"]}
    assert missing.value.messages("en") == {"outcome": ["Required"]}


def test_a_submitted_answer_reads_as_words() -> None:
    schema = json.loads((FORMS[0].parent / "rescue_release.json").read_text(encoding="utf-8"))
    assert field_value(schema, "method", "leveling_and_open", "zh-CN") == ("解救方式", "平层开门放人")
    assert field_value(schema, "method", "leveling_and_open", "en") == ("How they were released",
                                                                        "Levelled and opened the doors")
    assert field_value(schema, "injured", False, "zh-CN") == ("是否有人受伤", "否")
