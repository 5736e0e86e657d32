"""The diff an analyst confirms before deploying: element by element, only what the engine runs."""

from __future__ import annotations

import pytest

from engine.definition_diff import diff, summary
from engine.definitions import DefinitionError
from infra.settings import ROOT

WARNING_XML = (ROOT / "bpmn" / "warning.bpmn").read_text(encoding="utf-8")


def _by_id(changes):
    return {c.element: c for c in changes}


def test_the_same_file_and_a_moved_shape_change_nothing() -> None:
    assert diff(WARNING_XML, WARNING_XML) == []
    moved = WARNING_XML.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)
    assert moved != WARNING_XML and diff(WARNING_XML, moved) == []


def test_names_conditions_timers_lanes_forms_and_due_times_are_named() -> None:
    after = (
        WARNING_XML.replace('name="维保接单"', 'name="维保单位接单"')
        .replace("<bpmn:conditionExpression>safety_critical<", "<bpmn:conditionExpression>safety_critical and True<")
        .replace(">accept_within</bpmn:timeDuration>", ">'PT15M'</bpmn:timeDuration>")
        .replace('value="warning_verify.json"', 'value="warning_fix.json"')
        .replace('value="onsite_deadline"', 'value="fix_deadline"')
        # verify_fix moves from the property lane to maintenance
        .replace("<bpmn:flowNodeRef>verify_fix</bpmn:flowNodeRef>", "")
        .replace(
            "<bpmn:flowNodeRef>report_fix</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>report_fix</bpmn:flowNodeRef><bpmn:flowNodeRef>verify_fix</bpmn:flowNodeRef>",
        )
    )
    changes = _by_id(diff(WARNING_XML, after))
    props = {e: {p.property: (p.before, p.after) for p in c.properties} for e, c in changes.items()}
    assert props["accept_order"]["name"] == ("维保接单", "维保单位接单")
    assert props["f_p2"]["condition"] == ("safety_critical", "safety_critical and True")
    assert props["t_accept"]["timer"] == ("timeDuration: accept_within", "timeDuration: 'PT15M'")
    assert props["verify_fix"]["form"] == ("warning_verify.json", "warning_fix.json")
    assert props["verify_fix"]["lane"] == ("property", "maintenance")
    assert props["report_onsite"]["due_in"] == ("onsite_deadline", "fix_deadline")
    assert all(c.change == "changed" for c in changes.values())
    assert set(changes) == {"accept_order", "f_p2", "t_accept", "verify_fix", "report_onsite"}


def test_added_and_removed_elements_and_changed_form_content() -> None:
    after = WARNING_XML.replace(
        '<bpmn:dataObject id="recovered" name="设备报告故障已恢复" />',
        '<bpmn:dataObject id="recovered_again" name="再次恢复" />',
    )
    changes = diff(WARNING_XML, after, {"a.json": {"title": "旧"}}, {"a.json": {"title": "新"}})
    by_id = _by_id(changes)
    assert by_id["recovered"].change == "removed" and by_id["recovered_again"].change == "added"
    assert by_id["recovered_again"].name == "再次恢复"
    assert by_id["a.json"].kind == "form" and by_id["a.json"].change == "changed"
    assert summary(changes) == {"added": 1, "removed": 1, "changed": 1}


def test_the_diff_parses_without_entities() -> None:
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + WARNING_XML.split("?>", 1)[1]
    )
    with pytest.raises(DefinitionError, match="DOCTYPE"):
        diff(WARNING_XML, hostile)
