"""A case's PDF report draws a placeholder for a photo it cannot draw (a pixel bomb or a damaged
file stored before uploads were checked) instead of answering 500 every time it is asked for."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.models import Attachment
from processes.system import System
from registry.models import OrgKind, Role
from registry.scope import Scope
from reports import service
from tests.support import hostile_files as hostile
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system

CITY = Scope(0, "test", frozenset({Role.REGULATOR}), None, OrgKind.CITY_REGULATOR, None)


def stored_as_is(system: System, case_id: int, data: bytes, filename: str) -> None:
    """A file in the store as it came, with its row: what uploads left before they were checked."""
    digest = hashlib.sha256(data).hexdigest()
    path = system.settings.upload_dir / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with system.sessions() as session, session.begin():
        session.add(
            Attachment(
                case_id=case_id,
                kind="evidence",
                filename=filename,
                content_type="image/png",
                size=len(data),
                sha256=digest,
                storage_key=f"{digest[:2]}/{digest}",
                uploaded_by="maint",
                created_at=system.clock.now(),
            )
        )


def test_case_report_draws_placeholders_for_images_it_cannot_draw(
    sqlite_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    system = make_system(sqlite_url, clock, elevators=40, upload_dir=tmp_path / "uploads")
    try:
        case_id = open_or_join(
            system.engine, system.settings.sla_file, "rescue", elevator_id=demo_elevator(system), signal={}
        ).case_id
        stored_as_is(system, case_id, hostile.png_claiming(100_000, 100_000), "bomb.png")
        stored_as_is(system, case_id, hostile.png_claiming(8_000, 8_000), "huge.png")
        stored_as_is(system, case_id, hostile.photo("PNG")[:50], "truncated.png")
        stored_as_is(system, case_id, hostile.photo("PNG"), "fine.png")
        with system.sessions() as session:
            report = service.case_report(session, CITY, case_id, now=clock.now(), upload_dir=system.settings.upload_dir)
        drawn = {p["filename"]: p["uri"] is not None for p in report.photos}
        assert drawn == {"bomb.png": False, "huge.png": False, "truncated.png": False, "fine.png": True}

        r = Client(app_for(system), "dispatcher").get(f"/api/v1/reports/cases/{case_id}.pdf")
        assert r.status_code == 200 and r.data.startswith(b"%PDF")
        if shutil.which("pdftotext") is None:
            pytest.skip("pdftotext (poppler-utils) is not installed: the placeholder text is not read back")
        path = tmp_path / "case.pdf"
        path.write_bytes(r.data)
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
        assert "".join(text.split()).count("图片无法显示") == 3
    finally:
        system.db.dispose()

