"""What a new version of a process changes against the running one, element by element: the
analyst confirms it before deploying and it is kept with the version. Only what the engine runs is
compared (names, lanes, conditions, timers, forms, due times, scripts, wiring); moving shapes in
the diagram is not a change of the process. The XML is parsed as deploy parses it (no entities)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
# Extension properties the engine reads from a user task (engine.definitions).
SPIFF_PROPERTIES = {"formJsonSchemaFilename": "form", "dueIn": "due_in", "role": "role"}
# Model children that are not elements of their own: they are properties of their parent.
_NOT_ELEMENTS = {
    "laneSet",
    "incoming",
    "outgoing",
    "flowNodeRef",
    "extensionElements",
    "documentation",
    "conditionExpression",
    "script",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
    "textAnnotation",
    "association",
}


@dataclass(frozen=True)
class PropertyChange:
    property: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ElementChange:
    element: str
    kind: str  # the BPMN element type, e.g. userTask, sequenceFlow, lane, form
    change: str  # added, removed, changed
    name: str
    properties: list[PropertyChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "kind": self.kind,
            "change": self.change,
            "name": self.name,
            "properties": [{"property": p.property, "before": p.before, "after": p.after} for p in self.properties],
        }


def _local(tag: Any) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _text(node: Any) -> str | None:
    return (node.text or "").strip() if node is not None else None


def _properties(el: Any, lanes: Mapping[str, str]) -> dict[str, str]:
    """The engine-relevant properties of one element, as text, absent ones left out."""
    props: dict[str, str] = {}
    kind = _local(el.tag)
    if el.get("name"):
        props["name"] = el.get("name")
    element_id = el.get("id")
    if element_id in lanes:
        props["lane"] = lanes[element_id]
    if kind == "sequenceFlow":
        props["source"] = el.get("sourceRef") or ""
        props["target"] = el.get("targetRef") or ""
        condition = el.find("bpmn:conditionExpression", NS)
        if condition is not None:
            props["condition"] = _text(condition) or ""
    for attr in ("default", "attachedToRef", "cancelActivity", "calledElement"):
        if el.get(attr) is not None:
            props[attr] = el.get(attr)
    script = el.find("bpmn:script", NS)
    if script is not None:
        props["script"] = _text(script) or ""
    for definition in el:
        local = _local(definition.tag)
        if not local.endswith("EventDefinition"):
            continue
        props["event"] = local.removesuffix("EventDefinition")
        for timer_kind in TIMER_KINDS:
            expression = definition.find(f"bpmn:{timer_kind}", NS)
            if expression is not None:
                props["timer"] = f"{timer_kind}: {_text(expression)}"
        for ref in ("messageRef", "errorRef", "signalRef", "escalationRef"):
            if definition.get(ref):
                props[ref] = definition.get(ref)
    loop = el.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if loop is not None:
        props["multi_instance"] = json.dumps(
            {_local(c.tag): _text(c) for c in loop} | {"sequential": loop.get("isSequential", "false")},
            sort_keys=True,
            ensure_ascii=False,
        )
    for prop in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") in SPIFF_PROPERTIES:
            props[SPIFF_PROPERTIES[prop.get("name")]] = prop.get("value") or ""
    for attr in ("preScript", "postScript"):
        node = el.find(f"bpmn:extensionElements/spiffworkflow:{attr}", NS)
        if node is not None:
            props[attr] = _text(node) or ""
    operator = el.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    if operator is not None:
        params = {p.get("id"): p.get("value") for p in operator.iterfind(".//spiffworkflow:parameter", NS)}
        props["service"] = f"{operator.get('id')} {json.dumps(params, sort_keys=True, ensure_ascii=False)}"
    return props


def _elements(xml: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Every element of the executable model by id: (type, properties). Diagram shapes are left out."""
    tree = parse_xml(xml)
    lanes = {
        (ref.text or "").strip(): ref.getparent().get("name") or ref.getparent().get("id")
        for ref in tree.iterfind(".//bpmn:lane/bpmn:flowNodeRef", NS)
    }
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for process in tree.iterfind(".//bpmn:process", NS):
        for el in process.iter():
            if el is process or not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN}}}"):
                continue
            kind = _local(el.tag)
            if kind in _NOT_ELEMENTS or kind.endswith("EventDefinition") or not el.get("id"):
                continue
            if el.getparent() is not None and _local(el.getparent().tag).endswith("EventDefinition"):
                continue
            found[el.get("id")] = (kind, _properties(el, lanes))
    return found


def diff(
    before_xml: str,
    after_xml: str,
    before_forms: Mapping[str, Any] | None = None,
    after_forms: Mapping[str, Any] | None = None,
) -> list[ElementChange]:
    """The changes from `before` to `after`: removed, added, then changed elements (document
    order), then forms whose content changed under the same file name."""
    old, new = _elements(before_xml), _elements(after_xml)
    changes: list[ElementChange] = []
    for element, (kind, props) in old.items():
        if element not in new:
            changes.append(ElementChange(element, kind, "removed", props.get("name", "")))
    for element, (kind, props) in new.items():
        if element not in old:
            changes.append(ElementChange(element, kind, "added", props.get("name", "")))
            continue
        old_kind, old_props = old[element]
        moved = [
            PropertyChange(name, old_props.get(name), props.get(name))
            for name in sorted(set(old_props) | set(props))
            if old_props.get(name) != props.get(name)
        ]
        if old_kind != kind:
            moved.insert(0, PropertyChange("type", old_kind, kind))
        if moved:
            changes.append(ElementChange(element, kind, "changed", props.get("name", ""), moved))
    old_forms, new_forms = before_forms or {}, after_forms or {}
    for form in sorted(set(old_forms) & set(new_forms)):
        if json.dumps(old_forms[form], sort_keys=True) != json.dumps(new_forms[form], sort_keys=True):
            title = new_forms[form].get("title", "") if isinstance(new_forms[form], Mapping) else ""
            changes.append(ElementChange(form, "form", "changed", str(title), [PropertyChange("schema", None, None)]))
    return changes


def summary(changes: list[ElementChange]) -> dict[str, int]:
    """How many elements each kind of change touched (for the audit entry and the version list)."""
    counts = {"added": 0, "removed": 0, "changed": 0}
    for change in changes:
        counts[change.change] += 1
    return counts
