"""A case's timeline as people read it (local Asia/Shanghai times, one-line summaries), and the
way events from outside the engine's steps reach it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Case, CaseTask, EventKind, TimelineEvent
from engine.timeline import verify_chain
from engine.timeline_store import append_entries, chain_link
from forms.messages import language
from infra.settings import CITY_TZ
from processes.labels import ACTORS, CASE_TYPE_NAMES, CLOSE_REASONS, ROLES, SOURCES, label
from registry.models import User


def add_to_timelines(
    session: Session, entries: Iterable[tuple[int | None, EventKind, dict[str, Any], str]], now: datetime
) -> None:
    """(case id, kind, payload, actor) events of the outside world (a notice delivered or failed)
    on their cases' timelines, in the caller's transaction. An entry about no case, or about a
    case that does not exist, is left out."""
    kept = [(case_id, kind, payload, actor) for case_id, kind, payload, actor in entries if case_id is not None]
    if kept:
        append_entries(session, kept, now, skip_missing=True)


def _local(value: Any) -> str:
    """An ISO time of a payload, in Beijing time (YYYY-MM-DD HH:MM)."""
    try:
        return datetime.fromisoformat(str(value)).astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


# Around what people wrote or registered inside a sentence (a task's name, a person, a note):
# summary_parts() hands those pieces apart so a page can mark them as data, not its own words.
_DATA = "\x1e"


def _d(value: Any) -> str:
    return f"{_DATA}{value}{_DATA}"


def summarize(
    kind: str,
    p: dict[str, Any],
    lang: str | None = "zh-CN",
    *,
    names: dict[int, str] | None = None,
    titles: dict[str, str] | None = None,
) -> str:
    """One sentence per event, in `lang` (zh-CN for reports): codes as words, times in Beijing time.
    `names` maps user ids to display names, `titles` BPMN task ids to their titles (for events
    that carry only the id)."""
    return _sentence(kind, p, lang, names or {}, titles or {}).replace(_DATA, "")


def summary_parts(
    kind: str, p: dict[str, Any], lang: str | None, *, names: dict[int, str], titles: dict[str, str]
) -> list[dict[str, Any]]:
    """The sentence as [{"text": …, "data": bool}, …]: data pieces are people's own words."""
    pieces = _sentence(kind, p, lang, names, titles).split(_DATA)
    return [{"text": piece, "data": i % 2 == 1} for i, piece in enumerate(pieces) if piece]


def _sentence(kind: str, p: dict[str, Any], lang: str | None, names: dict[int, str], titles: dict[str, str]) -> str:
    en = language(lang) == "en"
    sep = ", " if en else "、"

    def roles(codes: Any) -> str:
        return sep.join(label(ROLES, r, lang) for r in (codes or []))

    def task() -> str:
        title = _d(p.get("title") or titles.get(str(p.get("element")), p.get("element") or ""))
        return f"“{title}”" if en else f"「{title}」"

    match kind:
        case "case_opened":
            type_title = label(CASE_TYPE_NAMES, p.get("type"), lang)
            number = _d(p.get("number"))
            return (
                f"Case {number} opened: {type_title} (process version {p.get('version')})"
                if en
                else f"立案 {number}：{type_title}（流程第 {p.get('version')} 版）"
            )
        case "task_created":
            due = f"{', due ' if en else '，时限 '}{_local(p['due_at'])}" if p.get("due_at") else ""
            role = label(ROLES, p.get("role"), lang)
            who = p.get("assignee_id")
            if who is not None:
                name = _d(names.get(int(who), f"#{who}"))
                role += f" ({name} on call)" if en else f"（值班人员 {name}）"
            return f"Task {task()} for the {role}{due}" if en else f"生成任务{task()}，由{role}办理{due}"
        case "task_completed":
            return f"Task {task()} done" if en else f"完成任务{task()}"
        case "task_cancelled":
            return f"Task {task()} no longer needed" if en else f"任务{task()}已无需办理"
        case "task_assigned":
            who = p.get("assignee_id", p.get("user_id"))
            if who is None and p.get("undo"):
                withdrawn = f"Claim of task {task()} withdrawn: back to the unit"
                return withdrawn if en else f"撤销认领任务{task()}，退回本单位待认领"
            if who is None:
                return f"Task {task()} given back to the unit" if en else f"任务{task()}退回本单位待认领"
            name = _d(names.get(int(who), f"#{who}"))
            return f"Task {task()} assigned to {name}" if en else f"任务{task()}指派给 {name}"
        case "timer_fired":
            due = _local(p.get("due")) if p.get("due") else ""
            timer = _d(p.get("name") or p.get("element"))
            return f"Time limit reached: “{timer}” ({due})" if en else f"时限到期：「{timer}」（{due}）"
        case "escalated":
            reason = _d(p.get("reason") or "")
            return (
                f"Escalated to level {p.get('level')}, told the {roles(p.get('roles'))}: {reason}"
                if en
                else f"升级为{p.get('level')}级响应，通知{roles(p.get('roles'))}：{reason}"
            )
        case "notification_queued":
            n = len(p.get("notifications", []))
            told = roles(p.get("roles"))
            return f"Notice to the {told} ({n} people)" if en else f"通知{told}（{n} 人）"
        case "notification_sent":
            n = len(p.get("notifications", []))
            return f"{n} notice(s) delivered" if en else f"{n} 条通知已送达"
        case "notification_failed":
            told = roles([p.get("role")])
            return f"A notice to the {told} failed" if en else f"给{told}的通知发送失败"
        case "comment_added":
            body = _d(str(p.get("body", ""))[:120])
            return f"Comment: {body}" if en else f"备注：{body}"
        case "attachment_added":
            return f"Attachment {_d(p.get('filename'))}" if en else f"上传附件 {_d(p.get('filename'))}"
        case "signal_joined":
            source = label(SOURCES, p.get("source") or "unknown", lang)
            return f"Another signal joined this case: {source}" if en else f"又一信号并入本案：{source}"
        case "register_updated":
            fields = {"next_inspection_due": ("next inspection due", "下次检验日期"),
                      "last_maintenance_at": ("last maintenance", "上次维保时间")}  # fmt: skip
            changed = sep.join(
                f"{fields.get(k, (k, k))[0 if en else 1]} {_local(v[0]) if v[0] else '—'} → {_local(v[1])}"
                for k, v in (p.get("changes") or {}).items()
            )
            return f"Register updated: {changed}" if en else f"登记信息更新：{changed}"
        case "item_updated":
            return _item_sentence(p, en)
        case "message_received":
            return f"Message received: {_d(p.get('message'))}" if en else f"收到消息：{_d(p.get('message'))}"
        case "flag_set" if p.get("flag") == "checked_in":
            proof = {"tag": ("NFC tag", "NFC 标签"), "qr": ("tag code", "标签二维码"), "position": ("position", "定位")}
            how = proof.get(p.get("proof") or "", ("no proof", "无凭证"))[0 if en else 1]
            far = (" (position far from the elevator)" if en else "（定位距电梯过远）") if p.get("far") else ""
            return f"Technician checked in on site: {how}{far}" if en else f"维保人员现场打卡：{how}{far}"
        case "flag_set" if p.get("flag") == "visit_confirmed":
            return "The use unit confirmed the maintenance visit" if en else "使用单位确认了维保记录"
        case "flag_set" if p.get("flag") == "visit_disputed":
            reason = _d(p.get("reason") or "")
            return (
                f"The use unit disputed the maintenance visit: {reason}"
                if en
                else f"使用单位对维保记录提出异议：{reason}"
            )
        case "flag_set":
            on = bool(p.get("value"))
            if en:
                return "Elevator marked out of use" if on else "Elevator back in use"
            return "电梯标记为停用" if on else "电梯解除停用"
        case "case_closed":
            reason = label(CLOSE_REASONS, p.get("outcome") or "completed", lang)
            return f"Case closed: {reason}" if en else f"结案：{reason}"
        case "case_cancelled":
            return f"Case cancelled: {_d(p.get('reason'))}" if en else f"撤销案件：{_d(p.get('reason'))}"
        case "case_failed":
            named = (f" “{_d(p['name'])}”" if en else f" 「{_d(p['name'])}」") if p.get("name") else ""
            where = f"{_d(p.get('element'))}{named}"
            return (
                f"Process stopped at {where}: {_d(p.get('label', ''))}"
                if en
                else f"流程在 {where} 处异常：{_d(p.get('label', ''))}"
            )
    return kind.replace("_", " ")


def _item_sentence(p: dict[str, Any], en: bool) -> str:
    """A rectification item's move (processes.rectification_items)."""
    code = _d(p.get("code", ""))
    match p.get("action"):
        case "added":
            codes = _d("、".join(str(c) for c in p.get("codes") or []))
            n = p.get("count", 0)
            return f"{n} nonconformities to rectify: {codes}" if en else f"新增 {n} 项待整改不符合项：{codes}"
        case "evidence":
            return f"Evidence attached to item {code}" if en else f"整改项 {code} 提交整改材料"
        case "accepted":
            return f"Item {code} accepted" if en else f"整改项 {code} 审核通过"
        case "rejected":
            note = f": {_d(p['note'])}" if en and p.get("note") else (f"：{_d(p['note'])}" if p.get("note") else "")
            return f"Item {code} returned{note}" if en else f"整改项 {code} 被退回{note}"
    return f"Item {code} updated" if en else f"整改项 {code} 已更新"


def case_timeline(sessions: sessionmaker, case_id: int) -> dict[str, Any]:
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise LookupError(f"case {case_id} not found")
        return timeline_of(session, case)


# Built once: every case page and timeline export reads them.
_ENTRIES = select(TimelineEvent).where(TimelineEvent.case_id == bindparam("case_id")).order_by(TimelineEvent.id)
_TITLES = select(CaseTask.bpmn_id, CaseTask.title).where(CaseTask.case_id == bindparam("case_id"))


def timeline_of(session: Session, case: Case, lang: str | None = "zh-CN") -> dict[str, Any]:
    """The case's events for reading (sentences in `lang`, people by their names), and the check of
    its hash chain, from one read of the rows (in insertion order, which is what the check needs;
    shown in sequence order)."""
    rows = list(session.scalars(_ENTRIES, {"case_id": case.id}))
    links = [chain_link(r) for r in rows]
    broken = verify_chain(case.id, links, case.timeline_head, case.timeline_seq)
    events = sorted(rows, key=lambda r: r.seq)
    names, titles, people = _names(session, case.id, rows)
    return {
        "case": {
            "number": case.number,
            "type": case.case_type,
            "status": case.status,
            "priority": case.priority,
            "escalation_level": case.escalation_level,
            "opened_at": case.opened_at.isoformat(),
            "closed_at": case.closed_at and case.closed_at.isoformat(),
            "close_reason": case.close_reason,
            "milestones": case.milestones,
        },
        "chain": "intact" if broken is None else f"BROKEN: {broken}",
        "events": [
            {
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at.isoformat(),
                "at_local": e.at.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor,
                "actor_name": label(ACTORS, e.actor, lang) if e.actor in ACTORS else people.get(e.actor, e.actor),
                "summary": summarize(e.kind, e.payload, lang, names=names, titles=titles),
                "parts": summary_parts(e.kind, e.payload, lang, names=names, titles=titles),
                "payload": e.payload,
                "hash": e.hash,
            }
            for e in events
        ],
    }


def _names(
    session: Session, case_id: int, rows: list[TimelineEvent]
) -> tuple[dict[int, str], dict[str, str], dict[str, str]]:
    """(user id -> name, BPMN task id -> title, username -> name) for the sentences of these events."""
    ids = {
        int(who)
        for r in rows
        if r.kind in (EventKind.TASK_ASSIGNED, EventKind.TASK_CREATED)
        and (who := r.payload.get("assignee_id", r.payload.get("user_id"))) is not None
    }
    usernames = {r.actor for r in rows if r.actor not in ACTORS}
    names: dict[int, str] = {}
    people: dict[str, str] = {}
    if ids or usernames:
        for uid, username, display in session.execute(
            select(User.id, User.username, User.display_name).where(or_(User.id.in_(ids), User.username.in_(usernames)))
        ):
            names[uid] = display
            people[username] = display
    titles = {bpmn_id: title for bpmn_id, title in session.execute(_TITLES, {"case_id": case_id})}
    return names, titles, people
