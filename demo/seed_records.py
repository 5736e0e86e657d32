"""The demo elevators' register records beyond the portrait: manufacturer and model, factory number,
installer, use-registration certificate, place category (from the use unit's kind) with the key-place
flag, rated load and speed. Drawn from a random stream of their own, so adding them left every other
seeded row as it was."""

from __future__ import annotations

import random

from demo.seed_organisations import ROW, Organisations
from demo.seed_vocabulary import LIFT_WORDS, DemoCity, near
from registry.models import OrgKind
from registry.places import is_key_place

# name, code, models (car lifts; escalators)
MANUFACTURERS = (
    ("奥的斯电梯（中国）有限公司", "OTIS", ("GeN2", "GeN2-MRL"), ("506NCE",)),
    ("通力电梯有限公司", "KONE", ("MonoSpace 500", "MiniSpace"), ("TravelMaster 110",)),
    ("迅达（中国）电梯有限公司", "SCHINDLER", ("Schindler 3300", "Schindler 5500"), ("Schindler 9300",)),
    ("日立电梯（中国）有限公司", "HITACHI", ("HGP", "HGE"), ("HCE",)),
    ("上海三菱电梯有限公司", "MITSUBISHI", ("LEHY-III", "ELENESSA"), ("J-S",)),
    ("康力电梯股份有限公司", "CANNY", ("KLK2", "KLW"), ("KLF",)),
    ("广州广日电梯工业有限公司", "GUANGRI", ("GRF", "GRVF"), ("GRE",)),
)
PLACE_OF_UNIT_KIND = {
    "property": "residential",
    "hospital": "hospital",
    "mall": "mall",
    "school": "school",
    "hotel": "hotel",
    "office": "office",
}
LOADS = {"traction": (630, 800, 1000, 1050, 1350), "hydraulic": (400, 630), "escalator": (), "moving_walk": ()}


def add_records(seed: int, place: DemoCity, orgs: Organisations, lifts: list[ROW]) -> None:
    """Add the manufacturer and installer organisations to `orgs` and fill every elevator's record."""
    rng = random.Random(seed ^ 0x5EED_0014)
    makers = []
    for n, (name, _key, cars, steps) in enumerate(MANUFACTURERS, start=1):
        row = _org(orgs, f"MF-{n:02d}", name, OrgKind.MANUFACTURER, rng, place)
        makers.append((row["id"], cars, steps))
    installers = [
        _org(orgs, f"IN-{n:02d}", f"{place.province_short}{word}电梯安装工程有限公司", OrgKind.INSTALLER, rng, place)[
            "id"
        ]
        for n, word in enumerate(rng.sample(LIFT_WORDS, 4), start=1)
    ]
    kinds = {u.id: u.kind for units in orgs.use_units.values() for u in units}
    for lift in lifts:
        maker, cars, steps = rng.choice(makers)
        yy = lift["installed_on"].year % 100
        moving = lift["kind"] in ("escalator", "moving_walk")
        category = PLACE_OF_UNIT_KIND.get(kinds.get(lift["use_unit_id"], ""), "other")
        if category == "residential" and rng.random() < 0.02:
            category = "elderly_home"  # a care home inside a compound
        lift.update(
            manufacturer_id=maker,
            model=rng.choice(steps if moving else cars),
            factory_number=f"{yy:02d}{rng.randrange(10**6):06d}",
            installer_id=rng.choice(installers) if rng.random() < 0.6 else None,
            use_certificate_no=f"梯1{lift['district_code'][:4]}{rng.randrange(10**5):05d}({yy:02d})",
            place_category=category,
            key_place=is_key_place(category),
            rated_load_kg=rng.choice(LOADS[lift["kind"]]) if LOADS[lift["kind"]] else None,
            rated_speed=_speed(lift, rng),
        )


def _speed(lift: ROW, rng: random.Random) -> float:
    """m/s by kind and height: escalators 0.5, hydraulic 0.5-0.63, cars faster the taller the building."""
    if lift["kind"] in ("escalator", "moving_walk"):
        return 0.5
    if lift["kind"] == "hydraulic":
        return rng.choice((0.5, 0.63))
    floors = lift["floors"]
    if floors <= 7:
        return 1.0
    if floors <= 18:
        return rng.choice((1.5, 1.75))
    return rng.choice((2.0, 2.5))


def _org(orgs: Organisations, code: str, name: str, kind: OrgKind, rng: random.Random, place: DemoCity) -> ROW:
    lat, lon = near(rng, place.districts[0], 0.01)
    row = {
        "id": len(orgs.orgs) + 1,
        "code": code,
        "name": name,
        "kind": kind.value,
        "district_code": None,
        "phone": place.landline(rng),
        "lat": lat,
        "lon": lon,
    }
    orgs.orgs.append(row)
    orgs.ids[code] = row["id"]
    return row
