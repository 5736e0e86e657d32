"""A deterministic demo city: Dazhou's districts, organisations, users, elevators and IoT boxes.

`seed_city(session, clock_now=...)` fills an empty database; the same seed gives the same rows,
ids included, on SQLite and PostgreSQL. The caller commits.

Demo logins (every seeded user has the password `DEMO_PASSWORD` when a hasher is passed):

| username         | roles                            | organisation                                     |
|------------------|----------------------------------|--------------------------------------------------|
| `dispatcher`     | dispatcher                       | 96933 rescue centre (RC-96933)                   |
| `maint`          | maintenance, on call             | unit maintaining most of `property`'s IoT lifts  |
| `maint_manager`  | maintenance, maintenance_manager | the same unit as `maint`                         |
| `property`       | property                         | the 通川区 use unit with the most IoT elevators  |
| `regulator`      | regulator                        | 通川区市场监督管理局 (REG-511702)                |
| `city_regulator` | regulator                        | 达州市市场监督管理局 (REG-CITY)                  |
| `analyst`        | analyst                          | the platform (PLATFORM)                          |
| `auditor`        | auditor                          | the platform                                     |
| `admin`          | admin                            | the platform                                     |

So one trapped alarm on a `property` elevator with a device reaches `maint`, `maint_manager`,
`dispatcher` and `regulator` together. Generated users: `reg511702_1`, `cityreg_1`,
`dispatcher_01`, `mu001_tech1` (tech1 is on call), `mu001_manager`, `uu0001_property`,
`analyst_1`, `auditor_1`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from infra.settings import CITY_TZ
from registry.codes import DEFAULT_QR_SALT, KIND_BY_CATEGORY, make_qr_code, make_register_code
from registry.models import Device, District, Elevator, Organisation, OrgKind, Role, User

DEMO_PASSWORD = "Dazhou-96933"
USE_UNITS = 560
ROW = dict[str, Any]


@dataclass(frozen=True)
class DistrictInfo:
    code: str
    name: str
    urban: bool
    lat: float
    lon: float
    share: float  # of the city's elevators
    maintenance_units: int
    streets: tuple[str, ...]


# Centres are the district seats, approximately.
DISTRICTS: tuple[DistrictInfo, ...] = (
    DistrictInfo("511702", "通川区", True, 31.2140, 107.5010, 0.42, 14,
                 ("朝阳东路", "朝阳西路", "通川北路", "通川中路", "通川南路", "凤凰大道", "金龙大道",
                  "西外大道", "北外大道", "荷叶街", "来凤路", "塔沱路")),
    DistrictInfo("511703", "达川区", True, 31.1960, 107.5110, 0.26, 9,
                 ("三里坪大道", "翠屏路", "长田坝路", "明月大道", "通达东路", "河市大道", "南外人民路",
                  "滨河路")),
    DistrictInfo("511722", "宣汉县", False, 31.3540, 107.7270, 0.08, 4,
                 ("东乡大道", "解放街", "新华街", "中山街", "南坝路", "城南路")),
    DistrictInfo("511723", "开江县", False, 31.0830, 107.8680, 0.03, 2,
                 ("新宁大道", "淙城路", "东环路", "人民路", "宝泉路")),
    DistrictInfo("511724", "大竹县", False, 30.7360, 107.2040, 0.08, 4,
                 ("竹阳大道", "白塔路", "东柳街", "人民路", "北大街", "庙坝路")),
    DistrictInfo("511725", "渠县", False, 30.8360, 106.9730, 0.08, 4,
                 ("渠江大道", "文化路", "宕渠大道", "人民街", "新南路", "賨人路")),
    DistrictInfo("511781", "万源市", False, 32.0810, 108.0360, 0.05, 3,
                 ("人民路", "红旗街", "万家坝路", "古东关路", "北大街")),
)  # fmt: skip
URBAN_DISTRICT = "511702"  # 通川区: where the demo users live

WORDS = (
    "金山 凤凰 翠屏 滨江 锦绣 阳光 世纪 明月 龙湾 东方 华都 天誉 南城 星河 御景 香山 银河 紫薇 丽景 江湾 "
    "盛世 绿洲 名都 君临 蓝湾 书香 和谐 嘉禾 金色 巴山 州河 莲湖 塔沱 西圣 北湖 仁和 安泰 恒泰 鑫源 万和 "
    "富华 瑞祥 康城 福瑞 宏达 惠民 美景 翡翠 天骄 新城 锦江 金桂 玉兰 九龙 馨苑 泰和 丰泽 通达 宏远"
).split()
LIFT_WORDS = (
    "通达 宏远 巴山 蜀通 凤凰 州河 安运 顺升 恒力 鑫达 金鼎 华升 川东 瑞通 捷运 天梯 永安 博远 长升 众诚 "
    "力拓 汇升 昌平 安捷 腾达 佳运 中恒 信诚 万升 宇通 联达 正升 云梯 德润 明远 升力 和泰 泰升 川渝 东升"
).split()
COMPOUND_SUFFIXES = ("小区", "花园", "苑", "名城", "华府", "公馆", "家园", "新村", "雅居", "国际")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰宇浩俊凯鹏飞雪梅琳婷欣怡晨阳"
MOBILE_PREFIXES = "138 139 135 136 158 159 150 151 182 183 187 188 180 199".split()
DEVICE_MODELS = ("LiftSense LS-200", "LiftSense LS-300 4G", "YunTi YT-E8", "SafeCar SC-4G", "BaShan BOX-2")
CN_NUMBERS = "一二三四五六七八九十"


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
USE_UNIT_KINDS = {
    "property": 0.72,
    "hospital": 0.07,
    "mall": 0.08,
    "school": 0.07,
    "hotel": 0.03,
    "office": 0.03,
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
class _UseUnit:
    id: int
    name: str
    kind: str
    district: DistrictInfo
    weight: float
    sites: list[_Site] = field(default_factory=list)


@dataclass
class _City:
    orgs: list[ROW] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # org code -> id
    maintenance_units: list[ROW] = field(default_factory=list)
    mu_weight: dict[int, float] = field(default_factory=dict)
    use_units: dict[str, list[_UseUnit]] = field(default_factory=dict)  # by district code
    compounds: set[str] = field(default_factory=set)


def seed_city(
    session: Session,
    *,
    seed: int = 20261123,
    elevators: int = 14188,
    devices: int = 1000,
    clock_now: datetime,
    hash_password: Callable[[str], str] | None = None,
    qr_salt: str = DEFAULT_QR_SALT,
) -> dict[str, int]:
    """Insert the demo city into an empty database and return the row count per table."""
    if clock_now.tzinfo is None:
        raise ValueError("clock_now must be timezone-aware")
    if not 0 <= devices <= elevators:
        raise ValueError(f"devices ({devices}) must be between 0 and elevators ({elevators})")
    _refuse_non_empty(session)
    rng = random.Random(seed)
    city = _organisations(rng)
    lifts = _elevators(rng, city, elevators, clock_now, qr_salt)
    boxes = _devices(rng, lifts, devices)
    # One hash for everyone: a deliberately slow hasher would otherwise cost minutes.
    password_hash = hash_password(DEMO_PASSWORD) if hash_password else None
    users = _users(rng, city, lifts, password_hash)
    districts = [{"code": d.code, "name": d.name, "urban": d.urban, "lat": d.lat, "lon": d.lon} for d in DISTRICTS]
    # Parents before children: SQLite checks foreign keys row by row.
    tables = (
        (District, districts),
        (Organisation, city.orgs),
        (User, users),
        (Elevator, lifts),
        (Device, boxes),
    )
    for model, rows in tables:
        _insert(session, model, rows)
    _advance_id_sequences(session)
    return {
        "districts": len(districts),
        "organisations": len(city.orgs),
        "users": len(users),
        "elevators": len(lifts),
        "devices": len(boxes),
    }


def _refuse_non_empty(session: Session) -> None:
    filled = [
        model.__tablename__
        for model in (Elevator, Organisation, User, District, Device)
        if session.scalar(select(func.count()).select_from(model))
    ]
    if filled:
        raise ValueError(f"refusing to seed: the database already has rows in {', '.join(filled)}")


def _insert(session: Session, model: type, rows: list[ROW]) -> None:
    if rows:
        session.execute(insert(model), rows)


def _advance_id_sequences(session: Session) -> None:
    """Explicit ids leave PostgreSQL's id sequences at 1; move them past the seeded rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("organisations", "users", "elevators"):
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


# --- organisations -------------------------------------------------------------------------


def _organisations(rng: random.Random) -> _City:
    city = _City()

    def add(code: str, name: str, kind: OrgKind, district: DistrictInfo | None, phone: str, spread: float) -> ROW:
        lat, lon = _near(rng, district or DISTRICTS[0], spread)
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

    centre = DISTRICTS[0]
    add("REG-CITY", "达州市市场监督管理局", OrgKind.CITY_REGULATOR, None, "0818-12315", 0.005)
    for d in DISTRICTS:
        add(f"REG-{d.code}", f"{d.name}市场监督管理局", OrgKind.DISTRICT_REGULATOR, d, _landline(rng), 0.004)
    add("RC-96933", "达州市96933电梯应急救援中心", OrgKind.RESCUE_CENTRE, centre, "96933", 0.004)
    add("INS-01", "达州市特种设备监督检验所", OrgKind.INSPECTION_AGENCY, centre, _landline(rng), 0.01)
    ins2 = "四川省特种设备检验研究院达州分院"
    add("INS-02", ins2, OrgKind.INSPECTION_AGENCY, DISTRICTS[1], _landline(rng), 0.01)
    add("PLATFORM", "达州市电梯应急救援综合监管平台", OrgKind.PLATFORM, None, "96933", 0.004)

    names = [f"达州市{w}电梯工程有限公司" for w in LIFT_WORDS] + [f"四川{w}电梯有限公司" for w in LIFT_WORDS]
    rng.shuffle(names)
    for d in DISTRICTS:
        for _ in range(d.maintenance_units):
            n = len(city.maintenance_units) + 1
            row = add(f"MU-{n:03d}", names.pop(), OrgKind.MAINTENANCE_UNIT, d, _landline(rng), 0.012)
            city.maintenance_units.append(row)
            # A few big firms hold many contracts, most hold a handful.
            city.mu_weight[row["id"]] = rng.lognormvariate(0, 0.7) * (1.5 if d.urban else 1.0)

    used: set[str] = set()
    for d in DISTRICTS:
        units = city.use_units.setdefault(d.code, [])
        for _ in range(round(USE_UNITS * d.share)):
            kind = rng.choices(list(USE_UNIT_KINDS), weights=list(USE_UNIT_KINDS.values()))[0]
            name = _unique(rng, used, lambda kind=kind, d=d: _use_unit_name(rng, kind, d))
            n = sum(len(u) for u in city.use_units.values()) + 1
            row = add(f"UU-{n:04d}", name, OrgKind.USE_UNIT, d, _landline(rng), 0.015)
            weight = rng.lognormvariate(0, 0.8) * 3 if kind == "property" else rng.uniform(0.3, 1.2)
            units.append(_UseUnit(row["id"], name, kind, d, weight))
    return city


def _use_unit_name(rng: random.Random, kind: str, d: DistrictInfo) -> str:
    word = rng.choice(WORDS)
    match kind:
        case "property":
            prefix = rng.choice(("达州", "达州市", "四川", d.name[:2]))
            return f"{prefix}{word}物业{rng.choice(('服务', '管理'))}有限公司"
        case "hospital":
            place = f"达州市{d.name}" if d.urban else d.name
            kinds = "人民医院 中医院 妇幼保健院 第二人民医院 中西医结合医院 骨科医院 康复医院".split()
            return f"{place}{rng.choice(kinds)}" if rng.random() < 0.6 else f"达州{word}医院"
        case "mall":
            return f"{word}{rng.choice(('购物中心', '广场', '百货', '商业广场', '国际商城'))}"
        case "school":
            kinds = "第一中学 第二中学 第三中学 实验中学 实验小学 外国语学校 职业中学".split()
            return f"{d.name}{rng.choice(kinds)}" if rng.random() < 0.6 else f"达州{word}学校"
        case "hotel":
            return f"达州{word}{rng.choice(('大酒店', '宾馆', '酒店'))}"
        case _:
            return f"{word}商务大厦"


# --- elevators -----------------------------------------------------------------------------


def _elevators(rng: random.Random, city: _City, count: int, now: datetime, qr_salt: str) -> list[ROW]:
    today = now.astimezone(CITY_TZ).date()  # inspection dates are local calendar dates
    districts = rng.choices(DISTRICTS, weights=[d.share for d in DISTRICTS], k=count)
    cum_weights = {code: _cumulative([u.weight for u in units]) for code, units in city.use_units.items()}
    serials: Counter[tuple[str, str, int]] = Counter()
    qr_codes: set[str] = set()
    rows: list[ROW] = []
    for district in districts:
        unit = rng.choices(city.use_units[district.code], cum_weights=cum_weights[district.code])[0]
        site = _current_site(rng, city, unit, today)
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
        lat, lon = _near(rng, site, 0.0004)
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


def _current_site(rng: random.Random, city: _City, unit: _UseUnit, today: date) -> _Site:
    if unit.sites and not unit.sites[-1].full:
        return unit.sites[-1]
    d, profile = unit.district, PROFILES[unit.kind]
    if unit.kind == "property":
        name = _unique(rng, city.compounds, lambda: f"{rng.choice(WORDS)}{rng.choice(COMPOUND_SUFFIXES)}")
        blocks, stairs = rng.randint(2, 24), rng.randint(1, 4)
        buildings = [f"{b}栋{s}单元" for b in range(1, blocks + 1) for s in range(1, stairs + 1)]
    else:
        phase = len(unit.sites)
        name = unit.name if phase == 0 else f"{unit.name}{CN_NUMBERS[min(phase, 9)]}期"
        buildings = list(profile.buildings)
    year = rng.randint(2000, min(2025, today.year))
    lo, hi = profile.floors
    if unit.kind == "property" and year < 2010:
        hi = 18  # older compounds are mostly mid-rise
    street = rng.choice(d.streets)
    site = _Site(
        address=f"达州市{d.name}{street}{rng.randint(1, 899)}号{name}",
        lat=0.0,
        lon=0.0,
        year=year,
        maintenance_unit_id=_pick_maintenance_unit(rng, city, d),
        profile=profile,
        buildings=buildings,
        per_building=rng.randint(*profile.per_building),
        base_floors=rng.randint(lo, hi),
    )
    site.lat, site.lon = _near(rng, d, 0.02 if d.urban else 0.008)
    unit.sites.append(site)
    return site


def _pick_maintenance_unit(rng: random.Random, city: _City, d: DistrictInfo) -> int:
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


def _devices(rng: random.Random, lifts: list[ROW], count: int) -> list[ROW]:
    """IoT boxes on cars only (GB/T 24476 is about cars), urban districts first."""
    eligible = [e for e in lifts if e["kind"] in ("traction", "hydraulic")]
    if count > len(eligible):
        raise ValueError(f"only {len(eligible)} elevators can carry a device, {count} asked")
    urban = {d.code for d in DISTRICTS if d.urban}
    # Weighted sample without replacement (Efraimidis-Spirakis): key u**(1/w), keep the largest.
    keyed = sorted(eligible, key=lambda e: rng.random() ** (0.5 if e["district_code"] in urban else 1.0))
    chosen = sorted(keyed[len(keyed) - count :], key=lambda e: e["id"]) if count else []
    rows = []
    for n, lift in enumerate(chosen, start=1):
        lift["device_id"] = f"DZ-IOT-{n:06d}"
        model = rng.choice(DEVICE_MODELS)
        rows.append({"id": lift["device_id"], "elevator_id": lift["id"], "model": model, "online": False})
    return rows


# --- users ---------------------------------------------------------------------------------


def _users(rng: random.Random, city: _City, lifts: list[ROW], password_hash: str | None) -> list[ROW]:
    rows: list[ROW] = []

    def add(username: str, roles: list[Role], org_code: str | int, *, on_call: bool = False, name: str = "") -> None:
        org_id = org_code if isinstance(org_code, int) else city.ids[org_code]
        rows.append(
            {
                "id": len(rows) + 1,
                "username": username,
                "display_name": name or _person(rng),
                "password_hash": password_hash,
                "roles": [r.value for r in roles],
                "organisation_id": org_id,
                "phone": _mobile(rng),
                "email": f"{username}@dazhou.example.com",
                "on_call": on_call,
                "active": True,
            }
        )

    property_unit, demo_unit = _demo_units(city, lifts)
    add("dispatcher", [Role.DISPATCHER], "RC-96933", name="演示调度员")
    add("maint", [Role.MAINTENANCE], demo_unit, on_call=True, name="演示维保员")
    add("maint_manager", [Role.MAINTENANCE, Role.MAINTENANCE_MANAGER], demo_unit, name="演示维保经理")
    add("property", [Role.PROPERTY], property_unit, name="演示物业")
    add("regulator", [Role.REGULATOR], f"REG-{URBAN_DISTRICT}", name="演示区监管员")
    add("city_regulator", [Role.REGULATOR], "REG-CITY", name="演示市监管员")
    add("analyst", [Role.ANALYST], "PLATFORM", name="演示业务分析员")
    add("auditor", [Role.AUDITOR], "PLATFORM", name="演示审计员")
    add("admin", [Role.ADMIN], "PLATFORM", name="平台管理员")

    for n in (1, 2):
        add(f"cityreg_{n}", [Role.REGULATOR], "REG-CITY")
    for d in DISTRICTS:
        for n in (1, 2):
            add(f"reg{d.code}_{n}", [Role.REGULATOR], f"REG-{d.code}")
    for n in range(1, 7):
        add(f"dispatcher_{n:02d}", [Role.DISPATCHER], "RC-96933")
    for n, mu in enumerate(city.maintenance_units, start=1):
        for t in (1, 2, 3):
            # One on-call technician per unit; in the demo unit `maint` holds that duty.
            add(f"mu{n:03d}_tech{t}", [Role.MAINTENANCE], mu["id"], on_call=t == 1 and mu["id"] != demo_unit)
        add(f"mu{n:03d}_manager", [Role.MAINTENANCE, Role.MAINTENANCE_MANAGER], mu["id"])
    for org in city.orgs:
        if org["kind"] == OrgKind.USE_UNIT:
            add(f"uu{org['code'][3:]}_property", [Role.PROPERTY], org["id"])
    for n in (1, 2):
        add(f"analyst_{n}", [Role.ANALYST], "PLATFORM")
        add(f"auditor_{n}", [Role.AUDITOR], "PLATFORM")
    return rows


def _demo_units(city: _City, lifts: list[ROW]) -> tuple[int, int]:
    """(use unit, maintenance unit) in 通川区 that share the most IoT elevators."""
    local = [e for e in lifts if e["district_code"] == URBAN_DISTRICT]
    pool = [e for e in local if e["device_id"]] or local
    if not pool:  # tiny seeds: fall back to the first local organisations
        first_uu = city.use_units[URBAN_DISTRICT][0].id
        first_mu = next(m["id"] for m in city.maintenance_units if m["district_code"] == URBAN_DISTRICT)
        return first_uu, first_mu
    use_unit = _most_common(e["use_unit_id"] for e in pool)
    unit_lifts = (e["maintenance_unit_id"] for e in pool if e["use_unit_id"] == use_unit)
    return use_unit, _most_common(unit_lifts)


# --- small helpers -------------------------------------------------------------------------


def _most_common(values: Any) -> int:
    counts = Counter(values)
    return max(counts, key=lambda v: (counts[v], -v))  # ties to the lowest id, for determinism


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _near(rng: random.Random, place: Any, spread: float) -> tuple[float, float]:
    return round(rng.gauss(place.lat, spread), 6), round(rng.gauss(place.lon, spread * 1.15), 6)


def _unique(rng: random.Random, used: set[str], make: Callable[[], str]) -> str:
    for _ in range(50):
        name = make()
        if name not in used:
            break
    else:  # names ran out: number them, still deterministic
        base, n = make(), 2
        while f"{base}{n}" in used:
            n += 1
        name = f"{base}{n}"
    used.add(name)
    return name


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _landline(rng: random.Random) -> str:
    return f"0818-{rng.randint(2_000_000, 2_999_999)}"
