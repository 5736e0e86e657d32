"""Process definitions: parse analysts' BPMN safely, lint it, deploy numbered versions, cache specs."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.instances import cap_instances
from engine.models import ProcessDefinition
from engine.sandbox import SandboxError, compile_expression, compile_script
from engine.script_lint import Refusal, code_refusals, instance_refusals, say, timer_refusals
from engine.timers import is_timer, use_engine_clock

FORM_PROPERTY = "formJsonSchemaFilename"
ROLE_PROPERTY = "role"
DUE_PROPERTY = "dueIn"

# Parsing never resolves entities, loads a DTD or touches the network (XXE, billion laughs).
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class DefinitionError(Exception):
    """The BPMN was refused; `problems` says where and why. Nothing was deployed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One reason for refusal, on one element (its id; "" for the whole file). `message` is English
    (both languages for the sandbox's refusals); `zh` and `en` say it in one language for the console."""

    element: str
    message: str
    zh: str = ""
    en: str = ""

    def __str__(self) -> str:
        return f"{self.element}: {self.message}" if self.element else self.message


@dataclass(frozen=True)
class HumanTaskSpec:
    bpmn_id: str
    title: str
    role: str | None
    form: str | None
    due_in: str | None


@dataclass
class ParsedProcess:
    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    human_tasks: dict[str, HumanTaskSpec] = field(default_factory=dict)


def parse_xml(xml: str | bytes) -> Any:
    """The XML tree of a BPMN document, parsed without entities, DTD or network; DefinitionError if not."""
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        tree = etree.fromstring(data, parser=_XML_PARSER)
    except etree.XMLSyntaxError as err:
        raise DefinitionError([Problem("", f"not well-formed XML: {err}", f"不是格式正确的 XML：{err}")]) from err
    doctype = tree.getroottree().docinfo.doctype
    if doctype:
        raise DefinitionError(
            [
                Problem(
                    "",
                    "DOCTYPE declarations are not allowed in BPMN files",
                    "BPMN 文件中不允许 DOCTYPE 声明（可能引用外部实体）",
                )
            ]
        )
    return tree


def _all_specs(parsed: ParsedProcess) -> list[Any]:
    specs = list(parsed.spec.task_specs.values())
    for sub in parsed.subprocess_specs.values():
        specs.extend(sub.task_specs.values())
    return specs


def _explicit_lanes(tree: Any) -> dict[str, str]:
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    return {
        ref.text.strip(): ref.getparent().get("name")
        for ref in tree.xpath(".//bpmn:lane/bpmn:flowNodeRef", namespaces=ns)
        if ref.text
    }


def parse_process(xml: str | bytes, filename: str = "<bpmn>") -> ParsedProcess:
    """Parse one BPMN document with its single executable process (XSD-validated)."""
    tree = parse_xml(xml)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.ElementTree(tree), filename)
        executable = [
            p.get("id")
            for p in tree.xpath(
                ".//bpmn:process[@isExecutable='true']",
                namespaces={"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"},
            )
        ]
        if len(executable) != 1:
            raise DefinitionError(
                [
                    Problem(
                        "",
                        f"expected one executable process, found {len(executable)}",
                        f"文件中应有且只有一个可执行流程，现有 {len(executable)} 个",
                    )
                ]
            )
        key = executable[0]
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as err:
        first = str(err).splitlines()[0]
        raise DefinitionError([Problem(getattr(err, "id", "") or "", first, f"BPMN 结构不符合规范：{first}")]) from err
    parsed = ParsedProcess(key=key, name=spec.description or key, spec=spec, subprocess_specs=subprocess_specs)
    lanes = _explicit_lanes(tree)
    for task_spec in _all_specs(parsed):
        # Tasks inside an embedded subprocess inherit its lane in SpiffWorkflow; a lane that lists
        # the task itself is the analyst's intent, so it wins.
        if task_spec.bpmn_id in lanes:
            task_spec.lane = lanes[task_spec.bpmn_id]
        definition = getattr(task_spec, "event_definition", None)
        if definition is not None:
            use_engine_clock(definition)
        cap_instances(task_spec)
        if isinstance(task_spec, UserTaskMixin):
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            parsed.human_tasks[task_spec.bpmn_id] = HumanTaskSpec(
                bpmn_id=task_spec.bpmn_id,
                title=task_spec.bpmn_name or task_spec.bpmn_id,
                role=props.get(ROLE_PROPERTY) or task_spec.lane,
                form=props.get(FORM_PROPERTY),
                due_in=props.get(DUE_PROPERTY),
            )
    return parsed


_WHAT_ZH = {
    "condition": "条件表达式",
    "dueIn": "办理时限 dueIn",
    "timer": "定时器表达式",
    "parameter": "服务参数 ",
    "cardinality": "多实例数量",
    "loop": "循环条件",
}


def _lint_expression(element: str, expression: str | None, what: str, problems: list[Problem]) -> None:
    if not expression:
        return
    try:
        compile_expression(expression)
    except SandboxError as err:
        first, _, rest = what.partition(" ")
        label = f"{_WHAT_ZH.get(first, first)}{rest if first == 'parameter' else ''}"
        problems.append(Problem(element, f"{what}: {err}", f"{label} 无法在沙箱中编译：{err}"))


def load_forms(parsed: ParsedProcess, forms_dir: Path) -> tuple[dict[str, Any], list[Problem]]:
    forms: dict[str, Any] = {}
    problems: list[Problem] = []
    for task in parsed.human_tasks.values():
        if not task.form or task.form in forms:
            continue
        path = forms_dir / task.form
        if path.resolve().parent != forms_dir.resolve() or not path.is_file():
            problems.append(
                Problem(task.bpmn_id, f"form {task.form} not found in forms/", f"表单 {task.form} 不在 forms/ 目录中")
            )
            continue
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except (json.JSONDecodeError, SchemaError) as err:
            problems.append(
                Problem(
                    task.bpmn_id,
                    f"form {task.form} is not a valid JSON Schema: {err}",
                    f"表单 {task.form} 不是有效的 JSON Schema：{err}",
                )
            )
            continue
        forms[task.form] = schema
    return forms, problems


def _refuse(problems: list[Problem], spec: Any, refusals: list[Refusal]) -> None:
    element = getattr(spec, "bpmn_id", None) or spec.name
    problems.extend(Problem(element, say(r, element, getattr(spec, "bpmn_name", None)), r.zh, r.en) for r in refusals)


def _lint_code(spec: Any, problems: list[Problem]) -> None:
    """Scripts compile in the sandbox and hold nothing that can never be right (engine.script_lint)."""
    element = spec.bpmn_id or spec.name
    for attr in ("script", "prescript", "postscript"):
        code = getattr(spec, attr, None)
        if code:
            try:
                compile_script(code)
            except SandboxError as err:
                problems.append(Problem(element, str(err), f"脚本被沙箱拒绝：{err}"))
            _refuse(problems, spec, code_refusals(code, "exec"))
    for condition, _target in getattr(spec, "cond_task_specs", []) or []:
        if condition is not None:
            _lint_expression(element, condition.args[0], "condition", problems)
            _refuse(problems, spec, code_refusals(condition.args[0], "eval"))
    for attr in ("cardinality", "condition"):  # multi-instance and loop settings
        expression = getattr(spec, attr, None)
        if isinstance(expression, str):
            _lint_expression(element, expression, attr, problems)
            _refuse(problems, spec, code_refusals(expression, "eval"))
    _refuse(problems, spec, instance_refusals(spec))


def lint(parsed: ParsedProcess, *, known_roles: Collection[str], services: Collection[str]) -> list[Problem]:
    """What makes a parsed process unsafe or unable to run; empty means deployable."""
    problems: list[Problem] = []
    for task in parsed.human_tasks.values():
        if not task.role:
            problems.append(
                Problem(
                    task.bpmn_id,
                    "user task is in no lane (a lane names the role)",
                    "用户任务不在任何泳道中（泳道即角色）",
                )
            )
        elif task.role not in known_roles:
            problems.append(
                Problem(
                    task.bpmn_id,
                    f"lane/role {task.role!r} is not a known role",
                    f"泳道（角色）{task.role!r} 不是已知角色",
                )
            )
        _lint_expression(task.bpmn_id, task.due_in, "dueIn", problems)
        refusals = code_refusals(task.due_in, "eval")
        problems.extend(Problem(task.bpmn_id, say(r, task.bpmn_id, task.title), r.zh, r.en) for r in refusals)
    for spec in _all_specs(parsed):
        element = spec.bpmn_id or spec.name
        _lint_code(spec, problems)
        definition = getattr(spec, "event_definition", None)
        if definition is not None and is_timer(definition):
            inner = getattr(definition, "event_definitions", [definition])
            for timer in inner:
                if isinstance(timer, TimerEventDefinition):
                    _lint_expression(element, timer.expression, "timer expression", problems)
                    _refuse(problems, spec, code_refusals(timer.expression, "eval") + timer_refusals(timer))
        operator = getattr(spec, "operation_name", None)
        if operator is not None:
            if operator not in services:
                problems.append(
                    Problem(element, f"unknown service operator {operator!r}", f"未知的服务操作 {operator!r}")
                )
            for name, param in (getattr(spec, "operation_params", {}) or {}).items():
                _lint_expression(element, param.get("value"), f"parameter {name}", problems)
                _refuse(problems, spec, code_refusals(param.get("value"), "eval"))
    return problems


def content_hash(xml: str, forms: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(xml.encode())
    digest.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def validate(
    xml: str,
    *,
    forms_dir: Path,
    known_roles: Collection[str],
    services: Collection[str],
    filename: str = "<bpmn>",
) -> tuple[ParsedProcess, dict[str, Any]]:
    """Parse + lint + forms; raises DefinitionError with every problem found."""
    parsed = parse_process(xml, filename)
    forms, problems = load_forms(parsed, forms_dir)
    problems.extend(lint(parsed, known_roles=known_roles, services=services))
    if problems:
        raise DefinitionError(problems)
    return parsed, forms


@dataclass(frozen=True)
class Deployment:
    definition: ProcessDefinition
    created: bool


_deploys = 0  # bumped on every new version in this process; callers' caches of "latest" compare it


def deploy_generation() -> int:
    return _deploys


def latest_definition(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())
    ).first()


def deploy(
    session: Session,
    xml: str,
    *,
    forms_dir: Path,
    known_roles: Collection[str],
    services: Collection[str],
    deployed_by: str,
    now: datetime,
    filename: str = "<bpmn>",
) -> Deployment:
    """A new numbered version only when content (BPMN or its forms) changed; else the current one."""
    parsed, forms = validate(xml, forms_dir=forms_dir, known_roles=known_roles, services=services, filename=filename)
    digest = content_hash(xml, forms)
    current = latest_definition(session, parsed.key)
    if current is not None and current.content_hash == digest:
        return Deployment(current, created=False)
    version = (
        session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == parsed.key)) or 0
    ) + 1
    definition = ProcessDefinition(
        key=parsed.key,
        version=version,
        name=parsed.name,
        bpmn_xml=xml,
        forms=forms,
        content_hash=digest,
        deployed_by=deployed_by,
        deployed_at=now,
    )
    session.add(definition)
    session.flush()
    _CACHE.put(definition.id, digest, parsed)
    global _deploys
    _deploys += 1
    return Deployment(definition, created=True)


class _SpecCache:
    """Parsed specs per definition version; a version's XML never changes, so entries never go stale."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[str, ParsedProcess]] = {}
        self._lock = threading.Lock()

    def put(self, definition_id: int, digest: str, parsed: ParsedProcess) -> None:
        with self._lock:
            self._items[definition_id] = (digest, parsed)

    def get(self, definition: ProcessDefinition) -> ParsedProcess:
        item = self._items.get(definition.id)
        if item is not None and item[0] == definition.content_hash:
            return item[1]
        parsed = parse_process(definition.bpmn_xml, f"{definition.key} v{definition.version}")
        self.put(definition.id, definition.content_hash, parsed)
        return parsed


_CACHE = _SpecCache()


def parsed_definition(definition: ProcessDefinition) -> ParsedProcess:
    return _CACHE.get(definition)
