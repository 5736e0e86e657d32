"""Rendering: report data -> HTML (Jinja templates in reports/templates) -> A4 PDF (WeasyPrint).

Times are shown in Asia/Shanghai; every page carries the city profile's report header (the platform's
name, `header`) and "第 n 页 / 共 m 页".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.models import EventKind
from reports import charts
from reports.case_sections import CaseReport
from reports.display import STATUS_LABELS, local
from reports.figures import METRICS, RescueFigures

TEMPLATES = Path(__file__).parent / "templates"
METRIC_TITLES = {
    "response": "响应时间分布（分钟）",
    "arrival": "到达时间分布（分钟）",
    "rescue": "救援时间分布（分钟）",
}
SLA_STATES = {
    "met": "按时",
    "missed": "超时",
    "pending": "进行中",
    "overdue": "已逾期",
    "waiting": "未到达",
    "cancelled": "已取消",
}
EVENT_KINDS = {
    EventKind.CASE_OPENED: "立案",
    EventKind.SIGNAL_JOINED: "信号并案",
    EventKind.TASK_CREATED: "生成任务",
    EventKind.TASK_ASSIGNED: "任务指派",
    EventKind.TASK_COMPLETED: "任务完成",
    EventKind.TASK_CANCELLED: "任务取消",
    EventKind.TIMER_FIRED: "计时到期",
    EventKind.ESCALATED: "升级处置",
    EventKind.MESSAGE_RECEIVED: "收到消息",
    EventKind.NOTIFICATION_QUEUED: "通知排队",
    EventKind.NOTIFICATION_SENT: "通知送达",
    EventKind.NOTIFICATION_FAILED: "通知失败",
    EventKind.FLAG_SET: "标记",
    EventKind.REGISTER_UPDATED: "登记更新",
    EventKind.CASE_CLOSED: "结案",
    EventKind.CASE_CANCELLED: "撤销",
    EventKind.CASE_FAILED: "流程异常",
}


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int
    title: str


def _css_string(value: object) -> str:
    """Text placed inside a CSS string in @page rules (no quotes or backslashes to break out)."""
    return str(value).replace("\\", "").replace('"', "").replace("\n", " ")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["css"] = _css_string
    env.globals.update(zip=zip, local=local)
    return env


def render_pdf(
    template: str, *, title: str, subtitle: str, generated: datetime, header: str, **context: Any
) -> Rendered:
    from weasyprint import HTML  # heavy import: only where a PDF is made

    html = (
        environment()
        .get_template(template)
        .render(
            title=title, subtitle=subtitle, platform=header, generated=local(generated, "%Y-%m-%d %H:%M"), **context
        )
    )
    document = HTML(string=html, base_url=str(TEMPLATES)).render()
    return Rendered(document.write_pdf(), len(document.pages), title)


def period_text(f: RescueFigures) -> str:
    last = f.end - timedelta(days=1)
    return f"统计期间：{f.start:%Y年%m月%d日} 至 {last:%Y年%m月%d日}（北京时间）"


def rescue_pdf(f: RescueFigures, *, scope_label: str, period: str, generated: datetime, header: str) -> Rendered:
    kind = {"week": "周报", "month": "月报"}.get(period, "报告")
    title = f"{scope_label}电梯应急救援{kind}"
    rendered_charts = {
        m: charts.bar_chart([(lbl, n) for lbl, n in f.times[m].buckets], title=METRIC_TITLES[m]) for m in METRICS
    }
    rendered_charts["by_type"] = charts.hbar_chart([(t, n) for _, t, n, _ in f.by_type], title="各类案件数量")
    rendered_charts["daily"] = charts.bar_chart(
        [(f"{d:%d}", n) for d, n in f.daily], title="每日困人救援案件数", height=170
    )
    return render_pdf(
        "rescue.html",
        title=title,
        subtitle=period_text(f),
        generated=generated,
        header=header,
        f=f,
        charts=rendered_charts,
    )


def case_pdf(r: CaseReport, *, generated: datetime, header: str) -> Rendered:
    return render_pdf(
        "case.html",
        title=f"案件报告 {r.case.number}",
        subtitle=f"{r.type_title} · {r.district}"
        + (" · 案件办理中，本报告为生成时的状态" if r.case.status == "open" else ""),
        generated=generated,
        header=header,
        r=r,
        opened=local(r.case.opened_at),
        closed=local(r.case.closed_at),
        status_label=STATUS_LABELS.get(r.case.status, r.case.status),
        kinds=EVENT_KINDS,
        sla_states=SLA_STATES,
    )


def risk_pdf(data: dict[str, Any], *, scope_label: str, generated: datetime, header: str) -> Rendered:
    chart = charts.hbar_chart([(f"{label}风险", n) for _, label, n in data["levels"]], title="风险等级分布（台）")
    return render_pdf(
        "risk.html",
        title=f"{scope_label}电梯风险监测报告",
        subtitle=f"数据截至 {local(generated, '%Y年%m月%d日')}",
        generated=generated,
        header=header,
        d=data,
        chart=chart,
    )


def inspection_pdf(data: dict[str, Any], *, scope_label: str, generated: datetime, header: str) -> Rendered:
    chart = charts.hbar_chart(
        [(r["district"], r["expired"]) for r in data["districts"]], title="各区县检验超期电梯数（台）"
    )
    return render_pdf(
        "inspection.html",
        title=f"{scope_label}电梯检验与到期状态报告",
        subtitle=f"状态日期：{data['today']}（北京时间）",
        generated=generated,
        header=header,
        d=data,
        chart=chart,
    )
