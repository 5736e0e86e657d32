"""A deterministic demo city from a city profile (cities/*.toml; Dazhou unless told): its districts,
organisations, users, elevators and IoT boxes.

`seed_city(session, clock_now=..., city=...)` fills an empty database; the same seed and profile give
the same rows, ids included, on SQLite and PostgreSQL. The caller commits. The organisations come from
seed_organisations.py, the elevators and IoT boxes from seed_elevators.py, the districts and names
from seed_vocabulary.py; this module adds the users and writes the rows.

Demo logins (every seeded user has the password `DEMO_PASSWORD` when a hasher is passed); the table is
Dazhou's, other cities have the same users in their own organisations (RC-{hotline}, REG-{district}):

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
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from demo.seed_elevators import build_devices, build_elevators
from demo.seed_equipment import build_equipment
from demo.seed_organisations import ROW, Organisations, build_organisations
from demo.seed_records import add_records
from demo.seed_vocabulary import DemoCity, demo_city, mobile, person
from infra.city import CityProfile
from infra.settings import Settings
from registry.codes import DEFAULT_QR_SALT
from registry.equipment.models import Equipment
from registry.models import Device, District, Elevator, Organisation, OrgKind, Role, User

DEMO_PASSWORD = "Dazhou-96933"


def seed_city(
    session: Session,
    *,
    seed: int = 20261123,
    elevators: int = 14188,
    devices: int = 1000,
    clock_now: datetime,
    hash_password: Callable[[str], str] | None = None,
    qr_salt: str = DEFAULT_QR_SALT,
    city: CityProfile | None = None,
) -> dict[str, int]:
    """Insert the demo city into an empty database and return the row count per table.
    `city`: the profile to build (default: the default settings' city, Dazhou)."""
    if clock_now.tzinfo is None:
        raise ValueError("clock_now must be timezone-aware")
    if not 0 <= devices <= elevators:
        raise ValueError(f"devices ({devices}) must be between 0 and elevators ({elevators})")
    _refuse_non_empty(session)
    rng = random.Random(seed)
    place = demo_city(city or Settings().city_profile)
    held = _held_districts(session, place)
    orgs = build_organisations(rng, place)
    lifts = build_elevators(rng, place, orgs, elevators, clock_now, qr_salt)
    boxes = build_devices(rng, place, lifts, devices)
    # One hash for everyone: a deliberately slow hasher would otherwise cost minutes.
    password_hash = hash_password(DEMO_PASSWORD) if hash_password else None
    users = _users(rng, place, orgs, lifts, password_hash)
    add_records(seed, place, orgs, lifts)
    equipment = build_equipment(seed, place, orgs, len(lifts), clock_now)
    districts = [
        {"code": d.code, "name": d.name, "urban": d.urban, "lat": d.lat, "lon": d.lon}
        for d in place.districts
        if d.code not in held  # `liftcase init` may have written them already
    ]
    # Parents before children: SQLite checks foreign keys row by row.
    tables = (
        (District, districts),
        (Organisation, orgs.orgs),
        (User, users),
        (Elevator, lifts),
        (Device, boxes),
        (Equipment, equipment),
    )
    for model, rows in tables:
        _insert(session, model, rows)
    _advance_id_sequences(session)
    return {
        "districts": len(place.districts),
        "organisations": len(orgs.orgs),
        "users": len(users),
        "elevators": len(lifts),
        "devices": len(boxes),
        "equipment": len(equipment),
    }


def _refuse_non_empty(session: Session) -> None:
    filled = [
        model.__tablename__
        for model in (Elevator, Organisation, User, Device, Equipment)
        if session.scalar(select(func.count()).select_from(model))
    ]
    if filled:
        raise ValueError(f"refusing to seed: the database already has rows in {', '.join(filled)}")


def _held_districts(session: Session, place: DemoCity) -> set[str]:
    """The districts already there (from `liftcase init`); refuse another city's."""
    held = set(session.scalars(select(District.code)))
    foreign = held - {d.code for d in place.districts}
    if foreign:
        raise ValueError(
            f"refusing to seed {place.profile.key}: the database has other districts ({', '.join(sorted(foreign))})"
        )
    return held


def _insert(session: Session, model: type, rows: list[ROW]) -> None:
    if rows:
        session.execute(insert(model), rows)


def _advance_id_sequences(session: Session) -> None:
    """Explicit ids leave PostgreSQL's id sequences at 1; move them past the seeded rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("organisations", "users", "elevators", "equipment"):
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


# --- users ---------------------------------------------------------------------------------


def _users(
    rng: random.Random, place: DemoCity, city: Organisations, lifts: list[ROW], password_hash: str | None
) -> list[ROW]:
    rows: list[ROW] = []
    rescue_centre, urban = f"RC-{place.profile.hotline}", place.urban_district

    def add(username: str, roles: list[Role], org_code: str | int, *, on_call: bool = False, name: str = "") -> None:
        org_id = org_code if isinstance(org_code, int) else city.ids[org_code]
        rows.append(
            {
                "id": len(rows) + 1,
                "username": username,
                "display_name": name or person(rng),
                "password_hash": password_hash,
                "roles": [r.value for r in roles],
                "organisation_id": org_id,
                "phone": mobile(rng),
                "email": f"{username}@{place.email_domain}",
                "on_call": on_call,
                "active": True,
            }
        )

    property_unit, demo_unit = _demo_units(city, lifts, urban)
    add("dispatcher", [Role.DISPATCHER], rescue_centre, name="演示调度员")
    add("maint", [Role.MAINTENANCE], demo_unit, on_call=True, name="演示维保员")
    add("maint_manager", [Role.MAINTENANCE, Role.MAINTENANCE_MANAGER], demo_unit, name="演示维保经理")
    add("property", [Role.PROPERTY], property_unit, name="演示物业")
    add("regulator", [Role.REGULATOR], f"REG-{urban}", name="演示区监管员")
    add("city_regulator", [Role.REGULATOR], "REG-CITY", name="演示市监管员")
    add("analyst", [Role.ANALYST], "PLATFORM", name="演示业务分析员")
    add("auditor", [Role.AUDITOR], "PLATFORM", name="演示审计员")
    add("admin", [Role.ADMIN], "PLATFORM", name="平台管理员")

    for n in (1, 2):
        add(f"cityreg_{n}", [Role.REGULATOR], "REG-CITY")
    for d in place.districts:
        for n in (1, 2):
            add(f"reg{d.code}_{n}", [Role.REGULATOR], f"REG-{d.code}")
    for n in range(1, 7):
        add(f"dispatcher_{n:02d}", [Role.DISPATCHER], rescue_centre)
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


def _demo_units(city: Organisations, lifts: list[ROW], urban: str) -> tuple[int, int]:
    """(use unit, maintenance unit) in the first urban district (通川区) that share the most IoT elevators."""
    local = [e for e in lifts if e["district_code"] == urban]
    pool = [e for e in local if e["device_id"]] or local
    if not pool:  # tiny seeds: fall back to the first local organisations
        first_uu = city.use_units[urban][0].id
        first_mu = next(m["id"] for m in city.maintenance_units if m["district_code"] == urban)
        return first_uu, first_mu
    use_unit = _most_common(e["use_unit_id"] for e in pool)
    unit_lifts = (e["maintenance_unit_id"] for e in pool if e["use_unit_id"] == use_unit)
    return use_unit, _most_common(unit_lifts)


def _most_common(values: Any) -> int:
    counts = Counter(values)
    return max(counts, key=lambda v: (counts[v], -v))  # ties to the lowest id, for determinism
