"""The words people read for the codes cases carry — roles (BPMN lanes and sign-in roles), signal
sources, milestones, close reasons, system actors — in Chinese and English. One table, read by the
timeline sentences, the console and the reports."""

from __future__ import annotations

from forms.messages import language

# code -> (zh-CN, en)
ROLES: dict[str, tuple[str, str]] = {
    "rescue_centre": ("救援调度中心", "rescue centre"),
    "maintenance": ("维保单位", "maintenance unit"),
    "maintenance_manager": ("维保单位负责人", "maintenance manager"),
    "backup_maintenance": ("备援维保单位", "backup maintenance unit"),
    "property": ("使用单位（物业）", "use unit (property)"),
    "district_regulator": ("区县监管部门", "district regulator"),
    "city_regulator": ("市级监管部门", "city regulator"),
    "inspection_agency": ("检验机构", "inspection agency"),
    "dispatcher": ("调度员", "dispatcher"),
    "regulator": ("监管人员", "regulator"),
    "analyst": ("流程分析员", "process analyst"),
    "auditor": ("审计员", "auditor"),
    "admin": ("系统管理员", "administrator"),
    "public": ("乘客", "passenger"),
    "public_security": ("公安机关联络人", "public-security liaison"),
}
SOURCES: dict[str, tuple[str, str]] = {
    "iot": ("物联网监测", "IoT box"),
    "alarm_button": ("轿厢报警按钮", "alarm button"),
    "qr": ("乘客扫码求救", "passenger's QR call"),
    "ai": ("视频智能识别", "camera AI"),
    "phone": ("热线来电", "hotline call"),
    "scan": ("到期扫描", "expiry scan"),
    "inspection": ("检验报告", "inspection report"),
    "heartbeat": ("设备心跳检测", "heartbeat check"),
    "rules": ("监督预警规则", "supervision rules"),
    "supervision": ("监督预警责令", "ordered on a supervision warning"),
    "regulator": ("监管人员录入", "entered by a regulator"),
    "unknown": ("未知来源", "unknown source"),
}
MILESTONES: dict[str, tuple[str, str]] = {
    "reported": ("报警", "reported"),
    "dispatched": ("已派单", "dispatched"),
    "accepted": ("已接单", "accepted"),
    "on_site": ("到达现场", "on site"),
    "released": ("解救完成", "released"),
    "cause_reported": ("原因已上报", "cause reported"),
    "closed": ("回访结案", "closed"),
    "assigned": ("已分派", "assigned"),
    "answered": ("已答复", "answered"),
    "reviewed": ("已审核", "reviewed"),
    "applied": ("已报检", "inspection applied for"),
    "inspected": ("已检验", "inspected"),
    "maintained": ("已维保", "maintained"),
    "rectified": ("维保单位已整改", "rectified by the maintenance unit"),
    "evidence_submitted": ("已提交整改材料", "evidence submitted"),
    "re_inspected": ("已复检", "re-inspected"),
    "handled": ("已处置", "handled"),
    "verified": ("已确认修复", "repair confirmed"),
    "checked": ("已排查", "checked"),
    "police_notified": ("已报案", "reported to the police"),
    "restored": ("设备已恢复", "device restored"),
}
CLOSE_REASONS: dict[str, tuple[str, str]] = {
    "completed": ("流程办结", "completed"),
    "answered": ("已答复办结", "answered"),
    "inspected": ("检验完成", "inspected"),
    "passed": ("复检合格", "passed"),
    "false_alarm": ("误报", "false alarm"),
    "self_escaped": ("已自行脱困", "got out by themselves"),
    "self_recovered": ("故障已自行恢复", "recovered by itself"),
    "inspection_failed": ("检验不合格", "inspection failed"),
    "maintained": ("维保完成", "maintained"),
    "back_online": ("设备恢复在线", "device back online"),
    "restored": ("已恢复供电或网络", "power or network restored"),
    "repaired": ("设备已修复", "device repaired"),
    "damaged_reported": ("人为损坏已报案，设备已修复", "deliberate damage reported, device repaired"),
    "dismissed": ("已驳回", "dismissed"),
    "inspection_ordered": ("已责令检验", "inspection ordered"),
    "rectification_ordered": ("已责令整改", "rectification ordered"),
}
CASE_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "rescue": ("困人救援", "rescue"),
    "warning": ("故障预警", "fault warning"),
    "rectification": ("检验整改", "rectification"),
    "expiry": ("检验到期", "inspection expiry"),
    "complaint": ("投诉举报", "complaint"),
    "device_offline": ("设备离线", "device offline"),
    "supervision": ("监督预警", "supervision warning"),
}
KINDS: dict[str, tuple[str, str]] = {  # elevator kinds in the register
    "traction": ("曳引式电梯", "traction elevator"),
    "hydraulic": ("液压电梯", "hydraulic elevator"),
    "escalator": ("自动扶梯", "escalator"),
    "moving_walk": ("自动人行道", "moving walk"),
    "freight": ("载货电梯", "freight elevator"),
    "dumbwaiter": ("杂物电梯", "dumbwaiter"),
}
# What a signal says happened (detectors' warning types, camera AI event types, scans).
SIGNALS: dict[str, tuple[str, str]] = {
    "trapped": ("困人", "trapped"),
    "power_loss": ("停电", "power loss"),
    "overrun_top": ("冲顶", "overrun at the top"),
    "overrun_bottom": ("蹲底", "overrun at the bottom"),
    "car_door_closing_anomaly": ("轿门关闭异常", "car door closing anomaly"),
    "door_open_close_fault": ("开关门故障", "door open/close fault"),
    "floor_position_lost": ("楼层位置丢失", "floor position lost"),
    "door_held_open": ("长时间开门", "door held open"),
    "repeated_door_cycles": ("反复开关门", "repeated door cycles"),
    "abnormal_stop": ("非平层停梯", "abnormal stop"),
    "abnormal_start": ("异常启动", "abnormal start"),
    "door_open_outside_zone": ("开门走梯", "door open outside the levelling zone"),
    "door_lock_fault": ("门锁故障", "door lock fault"),
    "safety_circuit": ("安全回路断路", "safety circuit open"),
    "runtime_limiter": ("运行超时", "run-time limiter"),
    "overspeed": ("超速", "overspeed"),
    "overload": ("超载", "overload"),
    "offline": ("设备离线", "device offline"),
    "left_object": ("遗留物品", "object left behind"),
    "abnormal_behavior": ("异常行为", "abnormal behaviour"),
    "ad_violation": ("违规广告", "advertising violation"),
    "ebike": ("电动车入梯", "e-bike in the car"),
    "inspection": ("检验到期", "inspection due"),
    "maintenance": ("维保超期", "maintenance overdue"),
    "device_offline": ("设备离线", "device offline"),
    "complaints_per_elevator": ("同一电梯投诉集中", "complaints about one elevator"),
    "complaints_per_estate": ("同一小区投诉集中", "complaints about one estate"),
    "rescues_per_elevator": ("同一电梯反复困人", "repeated rescues of one elevator"),
    "late_arrivals": ("维保单位到场及时率偏低", "maintenance unit often late"),
    "repeated_nonconformities": ("检验反复不合格", "repeated inspection nonconformities"),
    "other": ("其他", "other"),
}
ACTORS: dict[str, tuple[str, str]] = {
    "system": ("系统", "system"),
    "timer": ("计时器", "timer"),
    "notifier": ("通知服务", "notifier"),
    "iot": ("物联网监测", "IoT monitoring"),
    "public": ("乘客", "passenger"),
    "expiry-scan": ("到期扫描", "expiry scan"),
    "supervision-rules": ("监督预警规则", "supervision rules"),
    "supervision": ("监督预警", "supervision warning"),
}
# Inspection reports (connectors/inspection): the conclusion, each nonconformity's TSG T7001 item
# class, and a rectification item's state.
CONCLUSIONS: dict[str, tuple[str, str]] = {
    "passed": ("合格", "passed"),
    "reinspection_passed": ("复检合格", "passed on re-inspection"),
    "passed_after_rectification": ("整改后合格", "passed after rectification"),
    "conditional": ("限期整改", "rectification required"),
    "failed": ("不合格", "failed"),
}
SEVERITIES: dict[str, tuple[str, str]] = {
    "A": ("A类（保证项目）", "class A (critical)"),
    "B": ("B类", "class B"),
    "C": ("C类", "class C"),
}
ITEM_STATES: dict[str, tuple[str, str]] = {
    "open": ("待整改", "to rectify"),
    "submitted": ("待审核", "awaiting review"),
    "accepted": ("已通过", "accepted"),
    "rejected": ("已退回", "returned"),
}
TABLES = {
    "role": ROLES,
    "source": SOURCES,
    "milestone": MILESTONES,
    "close_reason": CLOSE_REASONS,
    "actor": ACTORS,
    "elevator_kind": KINDS,
    "signal": SIGNALS,
    "conclusion": CONCLUSIONS,
    "severity": SEVERITIES,
    "item_state": ITEM_STATES,
}


def label(table: dict[str, tuple[str, str]], code: object, lang: str | None = None) -> str:
    """The code's words in `lang` (zh-CN by default); an unknown code is shown as it is."""
    pair = table.get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if language(lang) == "en" else pair[0]


def all_labels(lang: str | None) -> dict[str, str]:
    """ "role_maintenance": "维保单位", … for the console's scripts."""
    return {f"{kind}_{code}": label(table, code, lang) for kind, table in TABLES.items() for code in table}
