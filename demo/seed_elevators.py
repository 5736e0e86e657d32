"""The demo city's elevators, placed site by site (a residential compound's blocks and stairwells,
a hospital's or a mall's buildings), with their codes, floors, inspection and maintenance dates,
and the IoT boxes on some of their cars."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from demo.seed_organisations import ROW, Organisations, UseUnit
from demo.seed_vocabulary import (
    CN_NUMBERS,
    COMPOUND_SUFFIXES,
    DEVICE_MODELS,
    WORDS,
    DemoCity,
    DistrictInfo,
    near,
    unique,
)
from infra.settings import CITY_TZ
from registry.codes import KIND_BY_CATEGORY, make_qr_code, make_register_code


@dataclass(frozen=True)
class SiteProfile:
    """How a kind of use unit lays out its elevators."""

    buildings: tuple[str, ...]  # empty: residential 栋/单元 numbering
    per_building: tuple[int, int]
    floors: tuple[int, int]
    categories: dict[str, float]


PROFILES: dict[str, SiteProfile] = {
    "property": SiteProfile((), (1, 2), (6, 33), {"3110": 1.0}),
    "hospital": SiteProfile(
        ("门诊楼", "住院楼", "医技楼", "综合楼", "急诊楼"),
        (2, 6),
        (6, 24),
        {"3110": 0.8, "3120": 0.12, "3310": 0.08},
    ),
    "mall": SiteProfile(("A区", "B区"), (6, 14), (6, 8), {"3310": 0.5, "3320": 0.08, "3110": 0.35, "3120": 0.07}),
    "school": SiteProfile(("教学楼", "实验楼", "图书馆", "行政楼", "学生宿舍"), (1, 2), (6, 12), {"3110": 1.0}),
    "hotel": SiteProfile(("主楼",), (2, 6), (8, 28), {"3110": 0.85, "3120": 0.1, "3310": 0.05}),
    "office": SiteProfile(("A座", "B座"), (3, 8), (12, 33), {"3110": 0.9, "3120": 0.05, "3310": 0.05}),
}
LIFT_NOUN = {"3110": "客梯", "3120": "货梯", "3210": "液压梯", "3310": "扶梯", "3320": "人行道"}


@dataclass
class _Site:
    """A compound or campus being filled with elevators, building by building."""

    address: str
    lat: float
    lon: float
    year: int
    maintenance_unit_id: int
    profile: SiteProfile
    buildings: list[str]
    per_building: int
    base_floors: int
    building: int = 0
    placed: int = 0  # elevators placed in the current building
    floors: int = 0

    @property
    def full(self) -> bool:
        return self.building >= len(self.buildings)


@dataclass
class _Sites:
    """The sites placed so far: each use unit's, in order, and the compound names taken."""

    by_unit: dict[int, list[_Site]] = field(default_factory=dict)
    compounds: set[str] = field(default_factory=set)


def build_elevators(
    rng: random.Random, place: DemoCity, city: Organisations, count: int, now: datetime, qr_salt: str
) -> list[ROW]:
    today = now.astimezone(CITY_TZ).date()  # inspection dates are local calendar dates
    districts = rng.choices(place.districts, weights=[d.share for d in place.districts], k=count)
    cum_weights = {code: _cumulative([u.weight for u in units]) for code, units in city.use_units.items()}
    serials: Counter[tuple[str, str, int]] = Counter()
    qr_codes: set[str] = set()
    rows: list[ROW] = []
    sites = _Sites()
    for district in districts:
        unit = rng.choices(city.use_units[district.code], cum_weights=cum_weights[district.code])[0]
        site = _current_site(rng, place, city, sites, unit, today)
        label, floors, category = _place(rng, site)
        installed = min(date(site.year, 1, 1) + timedelta(days=rng.randrange(365)), today - timedelta(days=1))
        while True:  # next free serial whose QR code is also free (a 50-bit clash is rare but possible)
            key = (category, district.code, installed.year)
            serials[key] += rng.choice((1, 1, 1, 2, 3))
            code = make_register_code(category, district.code, installed.year, serials[key])
            qr = make_qr_code(code, qr_salt)
            if qr not in qr_codes:
                qr_codes.add(qr)
                break
        lat, lon = near(rng, site, 0.0004)
        rows.append({
            "id": len(rows) + 1,
            "register_code": code,
            "qr_code": qr,
            "kind": KIND_BY_CATEGORY[category],
            "address": f"{site.address}{label}",
            "district_code": district.code,
            "lat": lat,
            "lon": lon,
            "floors": floors,
            "installed_on": installed,
            "use_unit_id": unit.id,
            "maintenance_unit_id": site.maintenance_unit_id,
            "next_inspection_due": _inspection_due(rng, today),
            "last_maintenance_at": _last_maintenance(rng, now),
            "device_id": None,
            "stop_use": False,
        })  # fmt: skip
    return rows


def _current_site(
    rng: random.Random, place: DemoCity, city: Organisations, sites: _Sites, unit: UseUnit, today: date
) -> _Site:
    """The use unit's site being filled, or a new one (a compound, or the unit's next phase)."""
    own = sites.by_unit.setdefault(unit.id, [])
    if own and not own[-1].full:
        return own[-1]
    d, profile = unit.district, PROFILES[unit.kind]
    if unit.kind == "property":
        name = unique(rng, sites.compounds, lambda: f"{rng.choice(WORDS)}{rng.choice(COMPOUND_SUFFIXES)}")
        blocks, stairs = rng.randint(2, 24), rng.randint(1, 4)
        buildings = [f"{b}栋{s}单元" for b in range(1, blocks + 1) for s in range(1, stairs + 1)]
    else:
        phase = len(own)
        name = unit.name if phase == 0 else f"{unit.name}{CN_NUMBERS[min(phase, 9)]}期"
        buildings = list(profile.buildings)
    year = rng.randint(2000, min(2025, today.year))
    lo, hi = profile.floors
    if unit.kind == "property" and year < 2010:
        hi = 18  # older compounds are mostly mid-rise
    street = rng.choice(d.streets)
    site = _Site(
        address=f"{place.profile.name_zh}{d.name}{street}{rng.randint(1, 899)}号{name}",
        lat=0.0,
        lon=0.0,
        year=year,
        maintenance_unit_id=_pick_maintenance_unit(rng, city, d),
        profile=profile,
        buildings=buildings,
        per_building=rng.randint(*profile.per_building),
        base_floors=rng.randint(lo, hi),
    )
    site.lat, site.lon = near(rng, d, 0.02 if d.urban else 0.008)
    own.append(site)
    return site


def _pick_maintenance_unit(rng: random.Random, city: Organisations, d: DistrictInfo) -> int:
    # Most contracts go to a local unit; some to a firm from elsewhere (usually a big urban one).
    local = rng.random() < 0.85
    candidates = [m["id"] for m in city.maintenance_units if not local or m["district_code"] == d.code]
    return rng.choices(candidates, weights=[city.mu_weight[c] for c in candidates])[0]


def _place(rng: random.Random, site: _Site) -> tuple[str, int, str]:
    """The next elevator's label, floors and category on this site; advances the site."""
    if site.placed == 0:
        site.floors = min(33, max(6, site.base_floors + rng.choice((0, 0, 0, -1, 1, -2, 2))))
    site.placed += 1
    cats = site.profile.categories
    category = rng.choices(list(cats), weights=list(cats.values()))[0]
    if category == "3110" and site.floors <= 7 and rng.random() < 0.1:
        category = "3210"  # low-rise retrofits are often hydraulic
    label = f"{site.buildings[site.building]}{site.placed}号{LIFT_NOUN[category]}"
    if site.placed >= site.per_building:
        site.building, site.placed = site.building + 1, 0
    # An escalator links two levels; floors counts the levels it serves.
    return label, (2 if category in ("3310", "3320") else site.floors), category


def _inspection_due(rng: random.Random, today: date) -> date:
    if rng.random() < 0.03:
        return today - timedelta(days=rng.randint(1, 60))
    return today + timedelta(days=rng.randint(0, 395))


def _last_maintenance(rng: random.Random, now: datetime) -> datetime:
    """A visit during local working hours: 98% within the 15-day cycle, 2% overdue (16-20 days)."""
    days = rng.randint(16, 20) if rng.random() < 0.02 else rng.randint(0, 14)
    local_now = now.astimezone(CITY_TZ)
    minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    day = local_now.date() - timedelta(days=days)
    visit = datetime.combine(day, time(minute // 60, minute % 60), CITY_TZ)
    if visit > local_now:
        visit -= timedelta(days=1)
    return visit.astimezone(UTC)


def build_devices(rng: random.Random, place: DemoCity, lifts: list[ROW], count: int) -> list[ROW]:
    """IoT boxes on cars only (GB/T 24476 is about cars), urban districts first."""
    eligible = [e for e in lifts if e["kind"] in ("traction", "hydraulic")]
    if count > len(eligible):
        raise ValueError(f"only {len(eligible)} elevators can carry a device, {count} asked")
    urban = {d.code for d in place.districts if d.urban}
    # Weighted sample without replacement (Efraimidis-Spirakis): key u**(1/w), keep the largest.
    keyed = sorted(eligible, key=lambda e: rng.random() ** (0.5 if e["district_code"] in urban else 1.0))
    chosen = sorted(keyed[len(keyed) - count :], key=lambda e: e["id"]) if count else []
    rows = []
    for n, lift in enumerate(chosen, start=1):
        lift["device_id"] = f"{place.device_prefix}-IOT-{n:06d}"
        model = rng.choice(DEVICE_MODELS)
        rows.append({"id": lift["device_id"], "elevator_id": lift["id"], "model": model, "online": False})
    return rows


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out
