"""The demo city seed and the elevator identification codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

import registry.models  # noqa: F401  (registers the tables on Base.metadata)
from demo.seed import DEMO_PASSWORD, seed_city
from infra.db import Base, make_engine, make_sessionmaker
from registry.codes import (
    CATEGORIES,
    QR_CODE_LENGTH,
    make_qr_code,
    make_register_code,
    parse_register_code,
    validate_register_code,
)
from registry.models import Device, District, Elevator, Organisation, OrgKind, Role, User

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
DEMO_USERS = (
    "dispatcher",
    "maint",
    "maint_manager",
    "property",
    "regulator",
    "city_regulator",
    "analyst",
    "auditor",
    "admin",
)

# --- codes ---------------------------------------------------------------------------------


def test_make_register_code_round_trips() -> None:
    code = make_register_code("3110", "511702", 2015, 123)
    assert code == "31105117022015000123"
    assert validate_register_code(code) == []
    parts = parse_register_code(code)
    assert (parts.category, parts.region, parts.year, parts.serial) == ("3110", "511702", 2015, 123)
    assert parts.category_name == CATEGORIES["3110"] and parts.kind == "traction"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("3110511702201500012", "20 digits"),  # 19 long
        ("311051170220150001234", "20 digits"),
        ("3110511702201500012X", "digits 0-9"),
        ("３１１０５１１７０２２０１５０００１２３", "digits 0-9"),  # full-width digits pass str.isdigit
        ("99995117022015000123", "unknown equipment category"),
        ("31101101012015000123", "not in this city's province (51xxxx)"),
        ("31105117021975000123", "outside 1980..2030"),
    ],
)
def test_validate_register_code_names_the_problem(code: str, fragment: str) -> None:
    problems = validate_register_code(code, province_prefix="51")
    assert problems and any(fragment in p for p in problems), problems


def test_make_register_code_refuses_invalid_parts() -> None:
    with pytest.raises(ValueError, match="unknown equipment category"):
        make_register_code("1234", "511702", 2015, 1)
    with pytest.raises(ValueError, match="6 digits"):
        make_register_code("3110", "511702", 2015, 1_000_000)
    with pytest.raises(ValueError, match="invalid register code"):
        parse_register_code("31105117022015")


def test_qr_code_is_short_deterministic_and_salted() -> None:
    code = make_register_code("3310", "511703", 2020, 7)
    qr = make_qr_code(code)
    assert qr == make_qr_code(code) and len(qr) == QR_CODE_LENGTH
    assert set(qr) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert make_qr_code(code, salt="other") != qr
    assert make_qr_code(make_register_code("3310", "511703", 2020, 8)) != qr


# --- the seeded city -----------------------------------------------------------------------


def _fresh(path: Path) -> sessionmaker:
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    return make_sessionmaker(engine)


def _seed(path: Path, **kwargs: object) -> sessionmaker:
    factory = _fresh(path)
    with factory() as session:
        seed_city(session, clock_now=NOW, **kwargs)  # type: ignore[arg-type]
        session.commit()
    return factory


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sessionmaker, dict[str, int]]]:
    factory = _fresh(tmp_path_factory.mktemp("city") / "city.db")
    with factory() as session:
        counts = seed_city(session, clock_now=NOW)
        session.commit()
    yield factory, counts
    factory.kw["bind"].dispose()


@pytest.fixture
def session(city: tuple[sessionmaker, dict[str, int]]) -> Iterator[Session]:
    with city[0]() as s:
        yield s


def _count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_counts(city: tuple[sessionmaker, dict[str, int]], session: Session) -> None:
    counts = city[1]
    assert _count(session, Elevator) == counts["elevators"] == 14188
    assert _count(session, Device) == counts["devices"] == 1000
    assert _count(session, District) == counts["districts"] == 7
    assert _count(session, Organisation) == counts["organisations"]
    assert _count(session, User) == counts["users"] < 2000
    assert 35 <= _count(session, Organisation, Organisation.kind == OrgKind.MAINTENANCE_UNIT) <= 45
    assert _count(session, Organisation, Organisation.kind == OrgKind.USE_UNIT) >= 300
    assert _count(session, Organisation, Organisation.kind == OrgKind.DISTRICT_REGULATOR) == 7


def test_elevators_are_mostly_urban(session: Session) -> None:
    urban = _count(session, Elevator, Elevator.district_code.in_(["511702", "511703"]))
    assert urban > 14188 * 0.55


def test_every_register_code_validates_and_matches_its_elevator(session: Session) -> None:
    rows = session.execute(select(Elevator.register_code, Elevator.district_code, Elevator.kind)).all()
    for code, district, kind in rows:
        assert validate_register_code(code) == [], code
        parts = parse_register_code(code)
        assert parts.region == district and parts.kind == kind
    categories = {parse_register_code(code).category for code, _, _ in rows}
    assert {"3110", "3310"} <= categories
    assert len({qr for (qr,) in session.execute(select(Elevator.qr_code))}) == len(rows)


def test_use_unit_is_in_the_elevators_district(session: Session) -> None:
    use_unit = aliased(Organisation)
    wrong = session.scalar(
        select(func.count())
        .select_from(Elevator)
        .join(use_unit, Elevator.use_unit_id == use_unit.id)
        .where((use_unit.district_code != Elevator.district_code) | (use_unit.kind != OrgKind.USE_UNIT))
    )
    assert wrong == 0


def test_maintenance_units_are_mostly_local(session: Session) -> None:
    mu = aliased(Organisation)
    same_district = mu.district_code == Elevator.district_code
    query = select(mu.kind, same_district).select_from(Elevator).join(mu, Elevator.maintenance_unit_id == mu.id)
    rows = session.execute(query).all()
    assert {kind for kind, _ in rows} == {OrgKind.MAINTENANCE_UNIT}
    local = sum(1 for _, same in rows if same)
    assert 0.75 < local / len(rows) < 0.97  # mostly local, some cross-district contracts


def test_dates_follow_the_inspection_and_maintenance_cycles(session: Session) -> None:
    today = NOW.date()
    due = list(session.scalars(select(Elevator.next_inspection_due)))
    overdue = sum(1 for d in due if d < today) / len(due)
    assert 0.015 < overdue < 0.05
    assert max(due) <= today + timedelta(days=400)
    visits = list(session.scalars(select(Elevator.last_maintenance_at)))
    assert all(v.tzinfo is not None and NOW - timedelta(days=21) < v <= NOW for v in visits)
    late = sum(1 for v in visits if NOW - v > timedelta(days=15)) / len(visits)
    assert 0.005 < late < 0.04
    floors = {f for (f,) in session.execute(select(Elevator.floors).where(Elevator.kind == "traction"))}
    assert min(floors) >= 6 and max(floors) <= 33


def test_devices_are_linked_both_ways(session: Session) -> None:
    pairs = session.execute(select(Device.id, Elevator.device_id, Elevator.kind).join(Elevator)).all()
    assert len(pairs) == 1000
    assert all(device == linked and kind != "escalator" for device, linked, kind in pairs)
    assert _count(session, Elevator, Elevator.device_id.is_not(None)) == 1000
    assert session.get(Device, "DZ-IOT-000001") is not None


def test_every_role_has_users(session: Session) -> None:
    roles = {role for user_roles in session.scalars(select(User.roles)) for role in user_roles}
    assert roles == {r.value for r in Role}
    assert set(session.scalars(select(User.password_hash))) == {None}  # no hasher, no hashes


def test_demo_users_sit_in_sensible_organisations(session: Session) -> None:
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(DEMO_USERS)))}
    assert set(users) == set(DEMO_USERS)
    org = {name: session.get(Organisation, u.organisation_id) for name, u in users.items()}
    assert org["dispatcher"].code == "RC-96933"
    assert org["regulator"].code == "REG-511702" and org["city_regulator"].code == "REG-CITY"
    assert {org[n].kind for n in ("analyst", "auditor", "admin")} == {OrgKind.PLATFORM}
    assert org["maint"].id == org["maint_manager"].id and users["maint"].on_call
    assert Role.MAINTENANCE_MANAGER in users["maint_manager"].roles
    # The demo property's 通川区 IoT elevators are looked after by the demo maintenance unit.
    shared = _count(
        session,
        Elevator,
        Elevator.use_unit_id == org["property"].id,
        Elevator.maintenance_unit_id == org["maint"].id,
        Elevator.district_code == "511702",
        Elevator.device_id.is_not(None),
    )
    assert shared > 0
    on_call = _count(session, User, User.organisation_id == org["maint"].id, User.on_call.is_(True))
    assert on_call == 1


def test_every_unit_has_staff(session: Session) -> None:
    for kind in (OrgKind.USE_UNIT, OrgKind.MAINTENANCE_UNIT, OrgKind.DISTRICT_REGULATOR):
        orgs = set(session.scalars(select(Organisation.id).where(Organisation.kind == kind)))
        staffed = set(session.scalars(select(User.organisation_id).where(User.organisation_id.in_(orgs))))
        assert staffed == orgs, kind


def test_reseeding_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="already has rows"):
        seed_city(session, clock_now=NOW)


def test_same_seed_gives_identical_rows(tmp_path: Path) -> None:
    def dump(factory: sessionmaker) -> dict[str, list[tuple]]:
        with factory() as s:
            return {
                t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key.columns))]
                for t in (Elevator.__table__, Organisation.__table__, User.__table__, Device.__table__)
            }

    a = dump(_seed(tmp_path / "a.db", elevators=500, devices=40))
    b = dump(_seed(tmp_path / "b.db", elevators=500, devices=40))
    c = dump(_seed(tmp_path / "c.db", elevators=500, devices=40, seed=7))
    assert len(a["elevators"]) == 500 and len(a["devices"]) == 40
    assert a == b
    assert a["elevators"] != c["elevators"]


def test_password_hasher_is_used_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def fake_hash(password: str) -> str:
        calls.append(password)
        return f"fake${password}"

    factory = _seed(tmp_path / "h.db", elevators=50, devices=5, hash_password=fake_hash)
    assert calls == [DEMO_PASSWORD]
    with factory() as s:
        assert set(s.scalars(select(User.password_hash))) == {f"fake${DEMO_PASSWORD}"}


def test_refuses_naive_clock_and_too_many_devices(tmp_path: Path) -> None:
    with _fresh(tmp_path / "n.db")() as s:
        with pytest.raises(ValueError, match="timezone-aware"):
            seed_city(s, clock_now=NOW.replace(tzinfo=None), elevators=10, devices=0)
        with pytest.raises(ValueError, match="devices"):
            seed_city(s, clock_now=NOW, elevators=10, devices=11)
