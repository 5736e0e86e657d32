"""The demo city's other special equipment: boilers in hospitals and hotels, pressure vessels and
cranes in factories, a ropeway and rides at a scenic park, forklifts and sightseeing cars, about one
piece for every five elevators; valid attributes for each class, inspection dates spread over the
cycle with a few past due. A random stream of its own, so the rest of the seed stays as it was."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from demo.seed_organisations import ROW, Organisations
from demo.seed_vocabulary import WORDS, DemoCity, near
from infra.settings import CITY_TZ
from registry.equipment.classes import CLASSES
from registry.equipment.service import add_months
from registry.places import is_key_place

# class -> (pieces per 1,000 elevators, the use-unit kinds that run it, place category when not theirs)
SHARE: dict[str, tuple[float, tuple[str, ...], str]] = {
    "boiler": (20, ("hospital", "hotel", "school"), "industrial"),
    "pressure_vessel": (60, ("hospital", "mall", "office"), "industrial"),
    "pressure_piping": (12, ("hospital",), "industrial"),
    "crane": (45, (), "industrial"),
    "ropeway": (0.15, (), "public"),
    "amusement_ride": (2.5, ("mall",), "public"),
    "site_vehicle": (55, ("mall", "school"), "industrial"),
}
NAMES = {
    "boiler": ("燃气蒸汽锅炉", "燃气热水锅炉", "电加热锅炉"),
    "pressure_vessel": ("储气罐", "分汽缸", "液氧储罐", "压缩空气储罐"),
    "pressure_piping": ("蒸汽管道", "天然气管道", "医用氧气管道"),
    "crane": ("桥式起重机", "门式起重机", "塔式起重机", "施工升降机", "机械式停车设备"),
    "ropeway": ("观光索道",),
    "amusement_ride": ("摩天轮", "过山车", "旋转木马", "海盗船"),
    "site_vehicle": ("叉车", "观光车", "牵引车"),
}


def build_equipment(seed: int, place: DemoCity, orgs: Organisations, elevators: int, now: datetime) -> list[ROW]:
    rng = random.Random(seed ^ 0xE0_0014)
    today = now.astimezone(CITY_TZ).date()
    units = [u for us in orgs.use_units.values() for u in us]
    by_kind: dict[str, list[Any]] = {}
    for unit in units:
        by_kind.setdefault(unit.kind, []).append(unit)
    rows: list[ROW] = []
    serials: dict[tuple[str, str], int] = {}
    for key, (per_thousand, kinds, default_place) in SHARE.items():
        cls = CLASSES[key]
        count = round(elevators * per_thousand / 1000 + rng.random())
        for _ in range(count):
            pool = [u for k in kinds for u in by_kind.get(k, [])] if kinds and rng.random() < 0.6 else units
            unit = rng.choice(pool)
            category = unit.kind if unit.kind in kinds else default_place
            category = {"property": "residential"}.get(category, category)
            district = unit.district
            year = rng.randint(2005, min(2025, today.year))
            serials[(key, district.code)] = serials.get((key, district.code), 0) + 1
            attributes = _attributes(key, rng)
            cycle = cls.cycle_for(attributes)
            last = today - timedelta(days=rng.randint(0, cycle * 31 + 30))  # a few past due
            lat, lon = near(rng, district, 0.015)
            rows.append({
                "id": len(rows) + 1,
                "equipment_class": key,
                "register_code": f"{cls.digit}000{district.code}{year}{serials[(key, district.code)]:06d}",
                "name": f"{rng.randint(1, 6)}号{rng.choice(NAMES[key])}",
                "address": f"{place.profile.name_zh}{district.name}{rng.choice(district.streets)}"
                f"{rng.randint(1, 899)}号{unit.name if unit.kind != 'property' else rng.choice(WORDS) + '工业园'}",
                "district_code": district.code,
                "lat": lat,
                "lon": lon,
                "use_unit_id": unit.id,
                "maintenance_unit_id": None,
                "place_category": category,
                "key_place": is_key_place(category),
                "installed_on": date(year, rng.randint(1, 12), rng.randint(1, 28)),
                "attributes": attributes,
                "inspection_cycle_months": cycle,
                "last_inspected_on": last,
                "next_inspection_due": add_months(last, cycle),
                "status": "stopped" if rng.random() < 0.03 else "in_use",
                "created_at": now,
                "updated_at": now,
            })  # fmt: skip
    return rows


def _attributes(key: str, rng: random.Random) -> dict[str, Any]:
    match key:
        case "boiler":
            return {
                "type": rng.choice(["steam", "hot_water"]),
                "rated_pressure_mpa": rng.choice([0.7, 1.0, 1.25]),
                "rated_evaporation_t_h": rng.choice([1, 2, 4, 6]),
                "fuel": rng.choice(["gas", "gas", "electric", "biomass"]),
            }
        case "pressure_vessel":
            return {
                "category": rng.choice(["I", "II", "III"]),
                "medium": rng.choice(["压缩空气", "蒸汽", "液氧", "液化石油气"]),
                "design_pressure_mpa": rng.choice([0.8, 1.0, 1.6, 2.5]),
                "volume_m3": rng.choice([0.5, 1, 2, 5, 10]),
                "safety_grade": rng.choice([1, 2, 2, 3]),
            }
        case "pressure_piping":
            return {
                "grade": rng.choice(["GC2", "GC2", "GB1", "GD1"]),
                "medium": rng.choice(["蒸汽", "天然气", "氧气"]),
                "length_m": rng.randint(50, 3000),
                "nominal_diameter_mm": rng.choice([25, 50, 80, 100, 150]),
            }
        case "crane":
            return {
                "type": rng.choice(["bridge", "gantry", "tower", "construction_hoist", "mechanical_parking"]),
                "rated_capacity_t": rng.choice([2, 3, 5, 10, 16, 20]),
                "lifting_height_m": rng.choice([6, 9, 12, 40]),
            }
        case "ropeway":
            return {
                "type": "fixed_grip",
                "length_m": rng.randint(400, 1800),
                "vertical_rise_m": rng.randint(80, 400),
                "carriers": rng.randint(40, 120),
                "capacity_persons_h": rng.choice([600, 800, 1200]),
            }
        case "amusement_ride":
            return {
                "type": rng.choice(["观览车类", "滑行车类", "转马类", "陀螺类"]),
                "grade": rng.choice(["A", "B", "C"]),
                "max_speed_m_s": rng.choice([1.0, 5.0, 12.0]),
                "passengers": rng.choice([12, 24, 40]),
            }
    return {"type": rng.choice(["forklift", "forklift", "sightseeing_car"]),
            "plate_no": f"场{rng.randint(10000, 99999)}", "rated_load_kg": rng.choice([1500, 2000, 3000]),
            "power": rng.choice(["electric", "diesel", "lpg"])}  # fmt: skip
