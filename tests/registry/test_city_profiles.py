"""One product, any city: the shipped profiles load, and under each of them (Dazhou, Sichuan 51xxxx,
96933; Lianyungang, Jiangsu 32xxxx, 96333) the rescue path runs, a QR call opens a case on a page that
shows the city's hotline, a case report carries the city's header, and an import takes the city's
codes and refuses another province's. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from demo.scenarios import SCENARIOS
from engine.models import Case, CaseStatus, TimelineEvent
from infra.city import CityProfileError, load_city
from infra.clock import SimulatedClock
from infra.settings import ROOT, Settings
from processes.sla import load_sla
from processes.system import System
from registry.equipment.classes import CLASSES, code_problems
from registry.equipment.models import Equipment
from registry.models import District, Elevator, Organisation, OrgKind
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

CITIES = {
    # key: (hotline, province prefix, report header, districts)
    "dazhou": ("96933", "51", "达州市电梯应急救援综合监管平台",
               {"通川区", "达川区", "万源市", "宣汉县", "开江县", "大竹县", "渠县"}),
    "lianyungang": ("96333", "32", "连云港市电梯安全智慧监管平台",
                    {"海州区", "连云区", "赣榆区", "东海县", "灌云县", "灌南县"}),
}  # fmt: skip
OTHER = {"dazhou": "lianyungang", "lianyungang": "dazhou"}


@pytest.fixture(params=sorted(CITIES))
def city(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def city_system(db_url: str, clock: SimulatedClock, city: str) -> Iterator[System]:
    system = make_system(db_url, clock, elevators=60, city=city)
    yield system
    system.db.dispose()


@pytest.fixture
def app(city_system: System) -> Flask:
    return app_for(city_system)


# -- the profiles themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CITIES))
def test_shipped_profile_has_the_citys_districts_hotline_and_prefix(key: str) -> None:
    profile = Settings(city=key).city_profile
    hotline, prefix, header, districts = CITIES[key]
    assert (profile.hotline, profile.province_prefix, profile.report_header) == (hotline, prefix, header)
    assert {d.name for d in profile.districts} == districts
    assert all(d.code.startswith(prefix) for d in profile.districts)
    assert {profile.arrival_within(d) for d in profile.districts if d.urban} == {"PT30M"}
    assert {profile.arrival_within(d) for d in profile.districts if not d.urban} == {"PT60M"}


def test_city_comes_from_the_environment() -> None:
    assert Settings.from_env({}).city_profile.key == "dazhou"
    assert Settings.from_env({"LIFTCASE_CITY": "lianyungang"}).city_profile.hotline == "96333"


def test_a_district_may_set_its_own_arrival_limit_and_the_sla_takes_the_profiles_calendar(tmp_path: Path) -> None:
    text = (ROOT / "cities" / "lianyungang.toml").read_text(encoding="utf-8")
    text = text.replace('name = "灌南县"\n', 'name = "灌南县"\narrival_within = "PT45M"\n')
    text = text.replace("holidays = [\n", 'holidays = [\n  "2026-12-01",\n')
    path = tmp_path / "lyg.toml"
    path.write_text(text, encoding="utf-8")
    profile = Settings(city=str(path)).city_profile
    assert profile.arrival_within(profile.district("320724")) == "PT45M"  # type: ignore[arg-type]
    from processes.sla import SlaSource

    sla = load_sla(SlaSource(Settings().sla_file, path))
    assert sla["rescue"]["arrival_by_district"] == {"320724": "PT45M"}
    assert "2026-12-01" in sla["complaint"]["holidays"] and "2026-10-10" in sla["complaint"]["makeup_workdays"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (('province_prefix = "32"', 'province_prefix = "3"'), "two digits"),
        (('hotline = "96333"', 'hotline = "call us"'), "phone number"),
        (('code = "320724"', 'code = "510724"'), "starting with 32"),
        (('arrival_within_rural = "PT60M"', 'arrival_within_rural = "an hour"'), "ISO 8601"),
        (('[report]\nheader = "连云港市电梯安全智慧监管平台"', "[report]"), "missing 'header'"),
    ],
)
def test_a_wrong_profile_is_refused_naming_the_field(tmp_path: Path, change: tuple[str, str], fragment: str) -> None:
    text = (ROOT / "cities" / "lianyungang.toml").read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(CityProfileError, match=re.escape(fragment)):
        load_city(path)


# -- under each profile -----------------------------------------------------------------------------


def test_seeded_city_is_the_profiles(city_system: System, city: str) -> None:
    hotline, prefix, _, districts = CITIES[city]
    with city_system.sessions() as session:
        assert set(session.scalars(select(District.name))) == districts
        codes = list(session.scalars(select(Elevator.register_code)))
        assert codes and all(c[4:6] == prefix for c in codes)
        centre = session.scalar(select(Organisation).where(Organisation.kind == OrgKind.RESCUE_CENTRE))
        assert centre is not None and centre.code == f"RC-{hotline}" and hotline in centre.name
        equipment = list(session.scalars(select(Equipment)))
    # the other special equipment: registered in the province, attributes valid for their class
    assert equipment and {e.equipment_class for e in equipment} >= {"boiler", "pressure_vessel", "crane"}
    for e in equipment:
        cls = CLASSES[e.equipment_class]
        assert code_problems(e.register_code, cls, prefix) == [] and cls.attribute_errors(e.attributes) == {}


def test_rescue_path_runs_with_the_citys_arrival_limit(city_system: System, clock: SimulatedClock) -> None:
    case_id = SCENARIOS["rescue"](city_system, clock)
    with city_system.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.CLOSED
        kinds = [k for (k,) in session.execute(select(TimelineEvent.kind).where(TimelineEvent.case_id == case_id))]
    assert "escalated" in kinds  # on site at 35 minutes: over the urban 30-minute limit


def test_api_tells_the_city(app: Flask, city: str) -> None:
    answer = Client(app, "property").get("/api/v1/city").get_json()
    assert (answer["key"], answer["hotline"], answer["province_prefix"]) == (city, *CITIES[city][:2])
    assert {d["name"] for d in answer["districts"]} == CITIES[city][3] and "demo" not in answer


def test_qr_page_shows_the_citys_hotline_and_a_call_opens_a_rescue(app: Flask, city_system: System, city: str) -> None:
    hotline, other = CITIES[city][0], CITIES[OTHER[city]][0]
    with city_system.sessions() as session:
        elevator = session.scalars(select(Elevator).order_by(Elevator.id)).first()
        assert elevator is not None
    client = app.test_client()
    html = client.get(f"/r/{elevator.qr_code}").get_data(as_text=True)
    assert f'href="tel:{hotline}"' in html and other not in html
    assert other not in client.get("/r/NOSUCHCODE").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post(f"/r/{elevator.qr_code}/rescue", data={"form_token": token})
    assert r.status_code in (302, 303), r.get_data(as_text=True)
    with city_system.sessions() as session:
        opened = session.scalar(
            select(func.count()).select_from(Case).where(Case.elevator_id == elevator.id, Case.case_type == "rescue")
        )
    assert opened == 1


def test_case_report_carries_the_citys_header(
    app: Flask, city_system: System, clock: SimulatedClock, city: str, tmp_path: Path
) -> None:
    case_id = SCENARIOS["rescue"](city_system, clock)
    r = Client(app, "city_regulator").get(f"/api/v1/reports/cases/{case_id}.pdf")
    assert r.status_code == 200
    path = tmp_path / "case.pdf"
    path.write_bytes(r.data)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert CITIES[city][2] in flat and CITIES[OTHER[city]][2] not in flat


def test_import_takes_the_citys_codes_and_refuses_another_provinces(app: Flask, city_system: System, city: str) -> None:
    prefix, other_prefix = CITIES[city][1], CITIES[OTHER[city]][1]
    with city_system.sessions() as session:
        district = session.scalar(select(District.code).order_by(District.code))
        uu = session.scalar(select(Organisation.code).where(Organisation.kind == OrgKind.USE_UNIT).limit(1))
        mu = session.scalar(select(Organisation.code).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT).limit(1))
    own = f"3110{district}2016900001"
    foreign = f"3110{other_prefix}07022016900002"
    header = "register_code,address,district_code,lat,lon,use_unit_code,maintenance_unit_code"
    rows = [
        f"{own},测试地址1号,{district},32.0,110.0,{uu},{mu}",
        f"{foreign},测试地址2号,{district},32.0,110.0,{uu},{mu}",
    ]
    data = ("\n".join([header, *rows]) + "\n").encode()
    admin = Client(app, "admin")
    r = admin.post(
        "/api/v1/elevators/import", data={"file": (io.BytesIO(data), "e.csv")}, content_type="multipart/form-data"
    )
    report = r.get_json()
    assert r.status_code == 200 and report["created"] == 1, report
    assert report["errors"] == [
        {
            "row": 3,
            "errors": {
                "register_code": [f"region code {other_prefix}0702 is not in this city's province ({prefix}xxxx)"]
            },
        }
    ]


def test_init_writes_the_profiles_districts_and_seed_builds_on_them(sqlite_url: str, clock: SimulatedClock) -> None:
    """A real deployment: `liftcase init` gives it its districts (to import the register into); the
    demo seed then adds the rest, and refuses a database of another city."""
    from datetime import UTC, datetime

    from demo.seed import seed_city
    from liftcase.bootstrap import build_system, create_schema
    from registry.districts import apply_profile

    system = build_system(Settings(database_url=sqlite_url, city="lianyungang"), clock=clock)
    create_schema(system)
    with system.sessions() as session, session.begin():
        assert apply_profile(session, system.settings.city_profile) == (6, 0)
        session.get(District, "320706").name = "旧名"  # type: ignore[union-attr]
    with system.sessions() as session, session.begin():
        assert apply_profile(session, system.settings.city_profile) == (0, 1)
        with pytest.raises(ValueError, match="other districts"):
            seed_city(session, elevators=10, devices=0, clock_now=datetime(2026, 11, 23, tzinfo=UTC),
                      city=Settings().city_profile)  # fmt: skip
    with system.sessions() as session, session.begin():
        counts = seed_city(session, elevators=10, devices=0, clock_now=datetime(2026, 11, 23, tzinfo=UTC),
                           city=system.settings.city_profile)  # fmt: skip
        assert counts["districts"] == 6 and session.get(District, "320706").name == "海州区"  # type: ignore[union-attr]
    system.db.dispose()


def test_rescue_arrival_limit_per_district_from_the_profile(db_url: str, clock: SimulatedClock, tmp_path: Path) -> None:
    """Lianyungang with 灌南县 at 45 minutes: a rescue there waits 45 minutes for arrival, one in another
    county 60, one in an urban district 30 (the BPMN's arrival timer)."""
    from datetime import timedelta

    from engine.models import CaseTimer
    from processes.intake import open_or_join

    text = (ROOT / "cities" / "lianyungang.toml").read_text(encoding="utf-8")
    path = tmp_path / "lianyungang.toml"
    path.write_text(text.replace('name = "灌南县"\n', 'name = "灌南县"\narrival_within = "PT45M"\n'), encoding="utf-8")
    system = make_system(db_url, clock, elevators=120, city=str(path))
    try:
        limits = {"320724": 45, "320722": 60, "320706": 30}
        for district, minutes in limits.items():
            with system.sessions() as session:
                elevator = session.scalar(select(Elevator.id).where(Elevator.district_code == district).limit(1))
            assert elevator is not None, district
            case_id = open_or_join(
                system.engine, system.sla, "rescue", elevator_id=elevator, signal={"source": "qr"}
            ).case_id
            with system.sessions() as session:
                fire_at = session.scalar(
                    select(CaseTimer.fire_at).where(CaseTimer.case_id == case_id, CaseTimer.bpmn_id == "t_arrival")
                )
                opened = session.get(Case, case_id).opened_at  # type: ignore[union-attr]
            assert fire_at == opened + timedelta(minutes=minutes), district
    finally:
        system.db.dispose()
