"""The demo city's organisations: the regulators, the rescue centre, the inspection agencies, the
platform, the maintenance units (a few big firms, many small) and the use units with their kinds."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from demo.seed_vocabulary import LIFT_WORDS, WORDS, DemoCity, DistrictInfo, near, unique
from registry.models import OrgKind

ROW = dict[str, Any]
USE_UNITS = 560
USE_UNIT_KINDS = {
    "property": 0.72,
    "hospital": 0.07,
    "mall": 0.08,
    "school": 0.07,
    "hotel": 0.03,
    "office": 0.03,
}


@dataclass
class UseUnit:
    id: int
    name: str
    kind: str
    district: DistrictInfo
    weight: float


@dataclass
class Organisations:
    orgs: list[ROW] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # org code -> id
    maintenance_units: list[ROW] = field(default_factory=list)
    mu_weight: dict[int, float] = field(default_factory=dict)
    use_units: dict[str, list[UseUnit]] = field(default_factory=dict)  # by district code


def build_organisations(rng: random.Random, place: DemoCity) -> Organisations:
    city = Organisations()
    profile, districts = place.profile, place.districts
    landline = place.landline

    def add(code: str, name: str, kind: OrgKind, district: DistrictInfo | None, phone: str, spread: float) -> ROW:
        lat, lon = near(rng, district or districts[0], spread)
        row = {
            "id": len(city.orgs) + 1,
            "code": code,
            "name": name,
            "kind": kind.value,
            "district_code": district.code if district else None,
            "phone": phone,
            "lat": lat,
            "lon": lon,
        }
        city.orgs.append(row)
        city.ids[code] = row["id"]
        return row

    centre, hotline, area = districts[0], profile.hotline, profile.demo.get("area_code", "0000")
    add("REG-CITY", f"{profile.name_zh}市场监督管理局", OrgKind.CITY_REGULATOR, None, f"{area}-12315", 0.005)
    for d in districts:
        add(f"REG-{d.code}", f"{d.name}市场监督管理局", OrgKind.DISTRICT_REGULATOR, d, landline(rng), 0.004)
    rescue_centre = f"{profile.name_zh}{hotline}电梯应急救援中心"
    add(f"RC-{hotline}", rescue_centre, OrgKind.RESCUE_CENTRE, centre, hotline, 0.004)
    agencies = list(profile.demo.get("inspection_agencies") or [f"{profile.name_zh}特种设备监督检验所"])
    for n, agency in enumerate(agencies, start=1):
        where = districts[min(n - 1, len(districts) - 1)]
        add(f"INS-{n:02d}", agency, OrgKind.INSPECTION_AGENCY, where, landline(rng), 0.01)
    add("PLATFORM", profile.platform_zh, OrgKind.PLATFORM, None, hotline, 0.004)

    names = [f"{profile.name_zh}{w}电梯工程有限公司" for w in LIFT_WORDS]
    names += [f"{place.province_short}{w}电梯有限公司" for w in LIFT_WORDS]
    rng.shuffle(names)
    for d in districts:
        for _ in range(d.maintenance_units):
            n = len(city.maintenance_units) + 1
            row = add(f"MU-{n:03d}", names.pop(), OrgKind.MAINTENANCE_UNIT, d, landline(rng), 0.012)
            city.maintenance_units.append(row)
            # A few big firms hold many contracts, most hold a handful.
            city.mu_weight[row["id"]] = rng.lognormvariate(0, 0.7) * (1.5 if d.urban else 1.0)

    used: set[str] = set()
    for d in districts:
        units = city.use_units.setdefault(d.code, [])
        for _ in range(round(USE_UNITS * d.share)):
            kind = rng.choices(list(USE_UNIT_KINDS), weights=list(USE_UNIT_KINDS.values()))[0]
            name = unique(rng, used, lambda kind=kind, d=d: _use_unit_name(rng, place, kind, d))
            n = sum(len(u) for u in city.use_units.values()) + 1
            row = add(f"UU-{n:04d}", name, OrgKind.USE_UNIT, d, landline(rng), 0.015)
            weight = rng.lognormvariate(0, 0.8) * 3 if kind == "property" else rng.uniform(0.3, 1.2)
            units.append(UseUnit(row["id"], name, kind, d, weight))
    return city


def _use_unit_name(rng: random.Random, place: DemoCity, kind: str, d: DistrictInfo) -> str:
    word = rng.choice(WORDS)
    short, full = place.profile.short_zh, place.profile.name_zh
    match kind:
        case "property":
            prefix = rng.choice((short, full, place.province_short, d.name[:2]))
            return f"{prefix}{word}物业{rng.choice(('服务', '管理'))}有限公司"
        case "hospital":
            where = f"{full}{d.name}" if d.urban else d.name
            kinds = "人民医院 中医院 妇幼保健院 第二人民医院 中西医结合医院 骨科医院 康复医院".split()
            return f"{where}{rng.choice(kinds)}" if rng.random() < 0.6 else f"{short}{word}医院"
        case "mall":
            return f"{word}{rng.choice(('购物中心', '广场', '百货', '商业广场', '国际商城'))}"
        case "school":
            kinds = "第一中学 第二中学 第三中学 实验中学 实验小学 外国语学校 职业中学".split()
            return f"{d.name}{rng.choice(kinds)}" if rng.random() < 0.6 else f"{short}{word}学校"
        case "hotel":
            return f"{short}{word}{rng.choice(('大酒店', '宾馆', '酒店'))}"
        case _:
            return f"{word}商务大厦"
