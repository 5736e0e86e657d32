"""The seven classes of special equipment besides elevators (特种设备目录, TSG 08), each with the
attributes its record keeps (a JSON Schema the register validates with jsonschema) and its periodic
inspection cycle (TSG rules; a record may set its own, e.g. a shorter cycle the agency ordered).

Adding a class: one EquipmentClass entry here; the register, import, API and figures take it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator


@dataclass(frozen=True)
class EquipmentClass:
    key: str
    name_zh: str
    name_en: str
    digit: str  # first digit of a 20-digit 设备代码 of this class (3 is the elevator's)
    cycle_months: int  # periodic inspection, by default
    attributes: dict[str, Any]  # JSON Schema of the class-specific attributes
    # The cycle some attributes call for (a pressure vessel's safety grade), else None: the default.
    cycle_rule: Callable[[dict[str, Any]], int | None] = field(default=lambda _a: None, compare=False)

    def cycle_for(self, attributes: dict[str, Any]) -> int:
        return self.cycle_rule(attributes) or self.cycle_months

    def attribute_errors(self, attributes: Any) -> dict[str, list[str]]:
        """Per attribute (or "attributes" for the whole object), what is wrong; empty when valid."""
        errors: dict[str, list[str]] = {}
        for error in sorted(_validator(self).iter_errors(attributes), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.path) or "attributes"
            errors.setdefault(where, []).append(error.message)
        return errors


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _number(minimum: float, maximum: float, title: str) -> dict[str, Any]:
    return {"type": "number", "minimum": minimum, "maximum": maximum, "title": title}


def _integer(minimum: int, maximum: int, title: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "title": title}


def _choice(values: list[str], title: str) -> dict[str, Any]:
    return {"type": "string", "enum": values, "title": title}


def _text(title: str, max_length: int = 60) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "title": title}


def _vessel_cycle(attributes: dict[str, Any]) -> int | None:
    """TSG 21: safety grade 1-2 every 6 years, 3 every 3 to 6 (3 here), 4 when the agency says (1 here)."""
    return {1: 72, 2: 72, 3: 36, 4: 12}.get(attributes.get("safety_grade", 0))


def _crane_cycle(attributes: dict[str, Any]) -> int | None:
    """TSG Q7015: tower, construction hoist, mobile and cable cranes yearly; the others every 2 years."""
    return 12 if attributes.get("type") in ("tower", "construction_hoist", "mobile", "cable") else None


CLASSES: dict[str, EquipmentClass] = {
    c.key: c
    for c in (
        EquipmentClass(
            "boiler", "锅炉", "Boiler", "1", 12,
            _schema({
                "type": _choice(["steam", "hot_water", "organic_heat_carrier"], "锅炉类别"),
                "rated_pressure_mpa": _number(0, 40, "额定工作压力 MPa"),
                "rated_evaporation_t_h": _number(0, 5000, "额定蒸发量 t/h"),
                "rated_thermal_power_mw": _number(0, 5000, "额定热功率 MW"),
                "fuel": _choice(["coal", "gas", "oil", "biomass", "electric", "waste_heat"], "燃料"),
            }, ["type", "rated_pressure_mpa", "fuel"]),
        ),
        EquipmentClass(
            "pressure_vessel", "压力容器", "Pressure vessel", "2", 36,
            _schema({
                "category": _choice(["I", "II", "III"], "容器类别"),
                "medium": _text("介质"),
                "design_pressure_mpa": _number(0, 1000, "设计压力 MPa"),
                "volume_m3": _number(0, 100_000, "容积 m³"),
                "safety_grade": _integer(1, 5, "安全状况等级"),
                "mobile": {"type": "boolean", "title": "移动式"},
            }, ["category", "medium", "design_pressure_mpa", "volume_m3"]),
            cycle_rule=_vessel_cycle,
        ),
        EquipmentClass(
            "pressure_piping", "压力管道", "Pressure piping", "8", 36,
            _schema({
                "grade": _choice(["GA1", "GA2", "GB1", "GB2", "GC1", "GC2", "GC3", "GD1", "GD2"], "管道级别"),
                "medium": _text("介质"),
                "length_m": _number(0, 10_000_000, "长度 m"),
                "nominal_diameter_mm": _integer(1, 5000, "公称直径 mm"),
                "design_pressure_mpa": _number(0, 100, "设计压力 MPa"),
            }, ["grade", "medium", "length_m"]),
        ),
        EquipmentClass(
            "crane", "起重机械", "Crane", "4", 24,
            _schema({
                "type": _choice(["bridge", "gantry", "tower", "mobile", "cable", "portal", "construction_hoist",
                                 "mechanical_parking", "other"], "起重机类型"),
                "rated_capacity_t": _number(0, 20_000, "额定起重量 t"),
                "span_m": _number(0, 500, "跨度 m"),
                "lifting_height_m": _number(0, 1000, "起升高度 m"),
            }, ["type", "rated_capacity_t"]),
            cycle_rule=_crane_cycle,
        ),
        EquipmentClass(
            "ropeway", "客运索道", "Passenger ropeway", "9", 12,
            _schema({
                "type": _choice(["detachable", "fixed_grip", "reversible", "surface_lift"], "索道类型"),
                "length_m": _number(1, 20_000, "斜长 m"),
                "vertical_rise_m": _number(0, 5000, "高差 m"),
                "carriers": _integer(1, 2000, "运载工具数"),
                "capacity_persons_h": _integer(1, 20_000, "运量 人/小时"),
            }, ["type", "length_m", "capacity_persons_h"]),
        ),
        EquipmentClass(
            "amusement_ride", "大型游乐设施", "Large amusement ride", "6", 12,
            _schema({
                "type": _text("设施类型 (观览车类, 滑行车类, 架空游览车类 …)"),
                "grade": _choice(["A", "B", "C"], "级别"),
                "max_speed_m_s": _number(0, 100, "最大运行速度 m/s"),
                "max_height_m": _number(0, 300, "最大运行高度 m"),
                "passengers": _integer(1, 1000, "额定乘客数"),
            }, ["type", "grade", "passengers"]),
        ),
        EquipmentClass(
            "site_vehicle", "场(厂)内专用机动车辆", "Site vehicle", "5", 12,
            _schema({
                "type": _choice(["forklift", "sightseeing_car", "sightseeing_train", "tractor", "other"], "车辆类型"),
                "plate_no": _text("牌照编号", 20),
                "rated_load_kg": _integer(1, 100_000, "额定载荷 kg"),
                "power": _choice(["electric", "diesel", "petrol", "lpg", "other"], "动力方式"),
                "seats": _integer(1, 100, "座位数"),
            }, ["type", "plate_no", "power"]),
        ),
    )
}  # fmt: skip
# Names accepted for a class in import files.
CLASS_ALIASES: dict[str, str] = {c.name_zh: c.key for c in CLASSES.values()} | {
    "场内专用机动车辆": "site_vehicle",
    "场(厂)内机动车辆": "site_vehicle",
    "起重机": "crane",
    "游乐设施": "amusement_ride",
}

_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(cls: EquipmentClass) -> Draft202012Validator:
    found = _VALIDATORS.get(cls.key)
    if found is None:
        Draft202012Validator.check_schema(cls.attributes)
        found = _VALIDATORS[cls.key] = Draft202012Validator(cls.attributes)
    return found


def equipment_class(value: str) -> EquipmentClass | None:
    """The class a key ("boiler") or Chinese name ("锅炉") names, else None."""
    value = value.strip()
    return CLASSES.get(value) or CLASSES.get(CLASS_ALIASES.get(value, ""))


def code_problems(code: str, cls: EquipmentClass, province_prefix: str | None) -> list[str]:
    """A 设备代码 of 20 digits must start with the class's digit and be registered in the city's
    province; other identifiers (pipeline numbers, plates) need only be 4-32 letters, digits or '-'."""
    if len(code) == 20 and code.isascii() and code.isdigit():
        problems = []
        if code[0] != cls.digit:
            problems.append(f"a {cls.name_zh} code starts with {cls.digit}, not {code[0]}")
        if province_prefix and code[4:6] != province_prefix:
            problems.append(f"region code {code[4:10]} is not in this city's province ({province_prefix}xxxx)")
        return problems
    if not (4 <= len(code) <= 32 and code.isascii() and all(c.isalnum() or c == "-" for c in code)):
        return ["must be 4-32 letters, digits or '-' (or a 20-digit 设备代码)"]
    return []
