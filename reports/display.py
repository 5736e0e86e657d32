"""How reports show values to people: times in the city's zone, status and case-type labels, a form
answer as text. Shared by the PDFs (render.py) and the spreadsheets (exports.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from infra.settings import CITY_TZ
from processes.catalogue import CASE_TYPES

STATUS_LABELS = {"open": "办理中", "closed": "已办结", "cancelled": "已撤销", "failed": "异常"}


def local(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return at.astimezone(CITY_TZ).strftime(fmt) if at else ""


def case_titles() -> dict[str, str]:
    return {key: ct.title for key, ct in CASE_TYPES.items()}


def answer_text(value: Any) -> str:
    """A form answer as one cell of text: yes/no in Chinese, lists and objects as JSON, cut at 300."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)[:300]
    return str(value)[:300]
