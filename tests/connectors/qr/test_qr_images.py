"""QR images (SVG, PNG) that encode the page's absolute URL, and the printable PDF signs (CLI and
signed-in download)."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import segno
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import func, select

from infra.clock import SimulatedClock
from liftcase.cli import main
from processes.system import System
from registry.models import Elevator
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

BASE = "https://lift.example.cn"


@pytest.fixture
def qr_system(sqlite_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(sqlite_url, clock, elevators=30, public_base_url=BASE)
    yield system
    system.db.dispose()


def first_elevator(system: System) -> Elevator:
    with system.sessions() as session:
        return session.scalars(select(Elevator).order_by(Elevator.id)).first()


def module_matrix(png: bytes, size: int, scale: int = 8, border: int = 4) -> list[list[bool]]:
    """Read the modules back from the PNG (dark = True) by sampling each module's centre."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return [
        [
            image.getpixel(((border + c) * scale + scale // 2, (border + r) * scale + scale // 2)) < 128
            for c in range(size)
        ]
        for r in range(size)
    ]


def test_png_and_svg_encode_the_absolute_page_url(qr_system: System) -> None:
    e = first_elevator(qr_system)
    client = app_for(qr_system).test_client()
    url = f"{BASE}/r/{e.qr_code}"
    expected = segno.make(url, error="m")
    rows = [[bool(v) for v in row] for row in expected.matrix]

    png = client.get(f"/r/{e.qr_code}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png.data))
    side = (len(rows) + 8) * 8
    assert image.size == (side, side)
    assert module_matrix(png.data, len(rows)) == rows  # the same symbol as the URL's, module for module

    svg = client.get(f"/r/{e.qr_code}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(svg.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(float(root.get("width"))) == side
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None and len(path.get("d")) > 100
    # a different URL gives a different drawing: the SVG depends on what it encodes
    other = segno.make(f"{BASE}/r/OTHERCODE1", error="m")
    buf = io.BytesIO()
    other.save(buf, kind="svg", scale=8, border=4, xmldecl=True, svgns=True)
    assert buf.getvalue() != svg.data

    assert client.get("/r/NOSUCHCODE/qr.png").status_code == 404


def _pdf_pages(pdf: bytes, tmp_path: Path) -> tuple[int, str]:
    target = tmp_path / "signs.pdf"
    target.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
    return pages, text


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) is not installed")
def test_qr_sheets_cli_prints_three_signs_per_elevator(
    qr_system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = first_elevator(qr_system)
    with qr_system.sessions() as session:
        count = session.scalar(select(func.count()).where(Elevator.district_code == e.district_code))
    out = tmp_path / "out.pdf"
    env = {"LIFTCASE_DATABASE_URL": qr_system.settings.database_url, "LIFTCASE_PUBLIC_BASE_URL": BASE}
    result = CliRunner().invoke(main, ["qr-sheets", "--district", e.district_code, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert f"{count * 3} signs" in result.output
    pages, text = _pdf_pages(out.read_bytes(), tmp_path)
    assert pages == count * 3
    assert e.register_code in text and "96933" in text
    assert "电梯应急救援" in text and "底坑" in text and "机房重地" in text
    bad = CliRunner().invoke(main, ["qr-sheets", "--district", e.district_code, "--variant", "roof"], env=env)
    assert bad.exit_code != 0 and "unknown sign variant" in bad.output


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) is not installed")
def test_sheet_download_needs_sign_in_and_respects_scope(qr_system: System, tmp_path: Path) -> None:
    app = app_for(qr_system)
    e = first_elevator(qr_system)
    anonymous = app.test_client().get(f"/r/sheets.pdf?district={e.district_code}&variant=car")
    assert anonymous.status_code == 401
    admin = Client(app, "admin")
    r = admin.get(f"/r/sheets.pdf?district={e.district_code}&variant=car")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages, text = _pdf_pages(r.data, tmp_path)
    with qr_system.sessions() as session:
        count = session.scalar(select(func.count()).where(Elevator.district_code == e.district_code))
    assert pages == count and e.register_code in text and "底坑" not in text
    # the property company sees only its own elevators' signs
    prop = Client(app, "property")
    r = prop.get(f"/r/sheets.pdf?district={e.district_code}&variant=car")
    if r.status_code == 200:
        own_pages, _ = _pdf_pages(r.data, tmp_path)
        assert own_pages < count
    else:
        assert r.status_code == 404
    assert admin.get("/r/sheets.pdf").status_code == 422
