"""An inspection report, from the webhook's JSON or an import file's rows, checked field by field
before anything is written.

JSON: `{source, ts, report_no, register_code, inspected_on, conclusion, next_due?, rectify_by?,
idempotency_key?, nonconformities: [{code, description, severity}]}`. The conclusion is a code of
processes.inspection_results.CONCLUSIONS or its Chinese word (合格, 复检合格, 整改后合格, 限期整改,
不合格). A failed or conditional report lists at least one nonconformity; a passing one none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from processes.inspection_results import CONCLUSIONS, NEEDS_RECTIFICATION, PASSING, Result
from processes.labels import CONCLUSIONS as CONCLUSION_WORDS
from processes.rectification_items import SEVERITIES, Finding

# TSG T7001 item numbers: 2.8, 3.12, 8.3(2), 6.10(1)(b)
ITEM_CODE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}(\(\d{1,2}\))?(\([a-z]\))?$")
BY_WORD = {zh: code for code, (zh, _en) in CONCLUSION_WORDS.items()}
SEVERITY_WORDS = {"A类": "A", "B类": "B", "C类": "C"}


class ReportInvalid(ValueError):
    """Per-field problems, answered as 422 `{"errors": {field: [message]}}`."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("the report has errors")
        self.errors = errors


@dataclass(frozen=True)
class Report:
    source: str
    idempotency_key: str
    register_code: str
    result: Result
    ts: datetime | None = None


def conclusion_code(value: Any) -> str:
    text = str(value or "").strip()
    code = BY_WORD.get(text, text)
    if code not in CONCLUSIONS:
        raise ValidationError(
            f"must be one of {', '.join(CONCLUSIONS)} (or 合格, 复检合格, 整改后合格, 限期整改, 不合格)"
        )
    return code


class Conclusion(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return conclusion_code(super()._deserialize(value, attr, data, **kwargs))


class NonconformitySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(
        required=True, validate=validate.Regexp(ITEM_CODE, error="a TSG T7001 item number, e.g. 2.8 or 3.12(1)")
    )
    description = fields.String(required=True, validate=validate.Length(2, 500))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))


class ReportSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # institutes add fields of their own; we read only ours

    source = fields.String(required=True, validate=validate.Length(1, 60))
    ts = fields.AwareDateTime(required=True)
    idempotency_key = fields.String(validate=validate.Length(1, 120))
    report_no = fields.String(required=True, validate=validate.Length(1, 60))
    register_code = fields.String(required=True, validate=validate.Length(1, 32))
    inspected_on = fields.Date(required=True)
    conclusion = Conclusion(required=True)
    next_due = fields.Date(allow_none=True)
    rectify_by = fields.Date(allow_none=True)
    nonconformities = fields.List(
        fields.Nested(NonconformitySchema), load_default=list, validate=validate.Length(0, 200)
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kw: Any) -> None:
        check_consistent(data)


def check_consistent(data: dict[str, Any]) -> None:
    """What one field means for another (raised against the field to change)."""
    conclusion, items = data.get("conclusion"), data.get("nonconformities") or []
    if conclusion in NEEDS_RECTIFICATION and not items:
        raise ValidationError(f"a {conclusion} report lists its nonconformities", "nonconformities")
    if conclusion in PASSING and items:
        raise ValidationError(
            "a passing report has no open nonconformities (use conclusion conditional)", "nonconformities"
        )
    inspected, due = data.get("inspected_on"), data.get("next_due")
    if inspected and due and due <= inspected:
        raise ValidationError("must be after inspected_on", "next_due")
    codes = [i["code"] for i in items]
    if len(codes) != len(set(codes)):
        raise ValidationError("each item number once per report", "nonconformities")


def result_of(data: dict[str, Any]) -> Result:
    return Result(
        report_no=data["report_no"],
        inspected_on=data["inspected_on"],
        conclusion=data["conclusion"],
        next_due=data.get("next_due"),
        findings=[Finding(i["code"], i["description"], i["severity"]) for i in data.get("nonconformities") or []],
        rectify_by=data.get("rectify_by"),
    )


def parse_report(payload: Any) -> Report:
    if not isinstance(payload, dict):
        raise ReportInvalid({"_schema": ["the body must be a JSON object"]})
    try:
        data = ReportSchema().load(payload)
    except ValidationError as err:
        raise ReportInvalid(dict(err.normalized_messages())) from err  # type: ignore[arg-type]
    return Report(
        source=data["source"],
        idempotency_key=data.get("idempotency_key") or data["report_no"],
        register_code=data["register_code"],
        result=result_of(data),
        ts=data["ts"],
    )


# --- the import file: one row per nonconformity (a passing report: one row without an item) ----

COLUMNS = (
    "report_no", "register_code", "inspected_on", "conclusion", "next_due", "rectify_by",
    "item_code", "item_description", "item_severity",
)  # fmt: skip
REQUIRED = ("report_no", "register_code", "inspected_on", "conclusion")
ALIASES = {
    "报告编号": "report_no",
    "设备代码": "register_code",
    "检验日期": "inspected_on",
    "检验结论": "conclusion",
    "下次检验日期": "next_due",
    "整改期限": "rectify_by",
    "不符合项编号": "item_code",
    "不符合项描述": "item_description",
    "项目类别": "item_severity",
}
REPORT_COLUMNS = ("register_code", "inspected_on", "conclusion", "next_due", "rectify_by")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def group_rows(rows: list[dict[str, Any]]) -> tuple[list[tuple[list[int], dict[str, Any]]], list[dict[str, Any]]]:
    """The file's reports (their row numbers and the payload they make) and the per-row errors
    `{"row": n, "errors": {column: [message]}}` (row 2 is the first under the header). A report
    with any bad row is refused whole: half its nonconformities would be a wrong record."""
    errors: dict[int, dict[str, list[str]]] = {}
    groups: dict[str, tuple[list[int], dict[str, Any]]] = {}
    for index, raw in enumerate(rows, start=2):
        if not raw:
            continue
        row = {k: _cell(v) for k, v in raw.items()}
        problems: dict[str, list[str]] = {}
        for column in REQUIRED:
            if not row.get(column):
                problems.setdefault(column, []).append("required")
        report_no = row.get("report_no") or f"(row {index})"
        numbers, report = groups.setdefault(report_no, ([], {"report_no": report_no, "nonconformities": []}))
        numbers.append(index)
        for column in REPORT_COLUMNS:
            value = row.get(column) or None
            if value is not None and report.setdefault(column, value) != value:
                problems.setdefault(column, []).append(f"differs from the report's other rows ({report[column]})")
        if row.get("item_code") or row.get("item_description"):
            severity = row.get("item_severity") or ""
            report["nonconformities"].append(
                {
                    "code": row.get("item_code") or "",
                    "description": row.get("item_description") or "",
                    "severity": SEVERITY_WORDS.get(severity, severity.upper()),
                    "_row": index,
                }
            )
        if problems:
            errors[index] = problems
    good: list[tuple[list[int], dict[str, Any]]] = []
    for numbers, report in groups.values():
        try:
            loaded = ReportSchema(exclude=("source", "ts")).load(
                {
                    **report,
                    "nonconformities": [{k: v for k, v in i.items() if k != "_row"} for i in report["nonconformities"]],
                }
            )
        except ValidationError as err:
            for field_name, messages in dict(err.normalized_messages()).items():  # type: ignore[arg-type]
                _blame(errors, numbers, report, field_name, messages)
        else:
            if not any(n in errors for n in numbers):
                good.append((numbers, loaded))
                continue
        for n in numbers:  # the report is refused whole: its good rows say why
            if n not in errors:
                errors[n] = {"report_no": ["another row of this report has errors; the report was not imported"]}
    return good, [{"row": n, "errors": errors[n]} for n in sorted(errors)]


def _blame(
    errors: dict[int, dict[str, list[str]]], numbers: list[int], report: dict[str, Any], field_name: str, messages: Any
) -> None:
    """A report's schema error on the rows that caused it (an item's on its own row)."""
    if field_name == "nonconformities" and isinstance(messages, dict):
        items = report["nonconformities"]
        for position, item_messages in messages.items():
            if isinstance(position, int) and position < len(items):
                row_errors = errors.setdefault(items[position]["_row"], {})
                for key, value in item_messages.items():
                    row_errors.setdefault(f"item_{key}", []).extend(value)
        return
    column = {"next_due": "next_due", "nonconformities": "item_code"}.get(field_name, field_name)
    flat = messages if isinstance(messages, list) else [str(messages)]
    for n in numbers:
        errors.setdefault(n, {}).setdefault(column, []).extend(str(m) for m in flat)
