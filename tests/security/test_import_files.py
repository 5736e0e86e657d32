"""Hostile files at every CSV/XLSX import (elevators, special equipment, inspection reports): an XLSX
zip bomb, 100k rows, a cell past the csv module's field limit, bytes that are neither UTF-8 nor GBK,
a file that is not a spreadsheet. Each is a 422 naming the file, nothing written; none is a 500."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from connectors.inspection.service import add_source
from infra.clock import SimulatedClock
from registry.models import Organisation, OrgKind
from tests.security.test_inspection_attacks import zip_bomb_xlsx
from tests.support.api_client import Client, app_for
from tests.support.system import START, make_system

ENDPOINTS = ["/api/v1/elevators/import", "/api/v1/equipment/import", "/api/v1/inspection-reports/import?source=inst"]
HEADER = "register_code,address,district_code,lat,lon,use_unit_code,maintenance_unit_code,equipment_class,name,"
HEADER += "report_no,inspected_on,conclusion\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('imports') / 'liftcase.sqlite3'}"
    clock = SimulatedClock(START)
    system = make_system(url, clock, elevators=20)
    with system.sessions() as session, session.begin():
        org = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
        assert org is not None
        add_source(session, "inst", org.code, clock.now(), system.settings.secret_key)
    yield app_for(system)
    system.db.dispose()


def upload(app: Flask, url: str, data: bytes, name: str) -> tuple[int, dict]:
    sep = "&" if "?" in url else "?"
    r = Client(app, "admin").post(
        f"{url}{sep}dry_run=true",
        json=None,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    return r.status_code, r.get_json() or {}


def xlsx_with_sheet(sheet_xml: bytes) -> bytes:
    """A real workbook whose first sheet is replaced by `sheet_xml`."""
    import zipfile

    from openpyxl import Workbook

    small = io.BytesIO()
    Workbook().save(small)
    out = io.BytesIO()
    with zipfile.ZipFile(small) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for member in src.infolist():
            z.writestr(member, sheet_xml if member.filename == "xl/worksheets/sheet1.xml" else src.read(member))
    return out.getvalue()


NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
    + b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    + b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    + b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">'
    + b'<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>'
    + b"<worksheet "
    + NS
    + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&i;</t></is></c></row>'
    + b"</sheetData></worksheet>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet '
    + NS
    + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>register_code</t></is></c></row>'
    + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData></worksheet>'
)

HOSTILE = {
    "zip-bomb": (zip_bomb_xlsx, "bomb.xlsx", "unpacks"),
    "100k-rows": (lambda: (HEADER + "x,y\n" * 100_000).encode(), "many.csv", "rows"),
    "huge-cell": (lambda: (HEADER + '"' + "x" * 200_000 + '"\n').encode(), "cell.csv", "field"),
    "not-text": (lambda: bytes(range(256)) * 50, "binary.csv", ""),
    "not-xlsx": (lambda: b"PK\x03\x04 not really a zip", "fake.xlsx", "XLSX"),
    "xlsx-laughs": (lambda: xlsx_with_sheet(LAUGHS), "laughs.xlsx", "XLSX"),
    "xlsx-xxe": (lambda: xlsx_with_sheet(XXE), "xxe.xlsx", "XLSX"),
}


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_file_is_a_clear_422(app: Flask, url: str, kind: str) -> None:
    make, name, said = HOSTILE[kind]
    status, answer = upload(app, url, make(), name)
    assert status == 422, (status, answer)
    assert "file" in answer.get("errors", {}) and said in answer["message"], answer
    assert "root:" not in str(answer) and "aaaaaaaaaaaaaaaaaaaa" not in str(answer)


def test_who_may_import_inspection_reports(app: Flask) -> None:
    """Institutes' staff import as their own source, admins name one; nobody else, and no source by guess."""
    data = (HEADER + "x\n").encode()
    url = "/api/v1/inspection-reports/import"
    for name in ("regulator", "property", "maint", "dispatcher", "analyst"):
        r = Client(app, name).post(
            f"{url}?source=inst",
            json=None,
            data={"file": (io.BytesIO(data), "r.csv")},
            content_type="multipart/form-data",
        )
        assert r.status_code == 403, (name, r.status_code)
    status, answer = upload(app, f"{url}?source=no-such-source", data, "r.csv")
    assert status == 422 and "source" in answer["errors"]
    anonymous = app.test_client().post(url, data={"file": (io.BytesIO(data), "r.csv")})
    assert anonymous.status_code == 401


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_file_past_the_upload_limit_is_413(app: Flask, url: str) -> None:
    big = HEADER.encode() + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    status, _ = upload(app, url, big, "big.csv")
    assert status == 413
