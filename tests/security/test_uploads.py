"""Hostile evidence uploads (POST /api/v1/tasks/{id}/attachments): pixel bombs are refused before
a pixel is decoded; accepted photos are re-encoded (metadata and appended payloads gone) and only
they are shown inline; PDFs with JavaScript or launch actions, and PDF polyglots, are refused."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.models import Attachment
from processes.system import System
from tests.support import hostile_files as hostile
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system


@pytest.fixture
def upload(sqlite_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Client, str, int]]:
    system = make_system(sqlite_url, clock, elevators=40, upload_dir=tmp_path / "uploads")
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=demo_elevator(system), signal={"source": "qr"}
    ).case_id
    dispatcher = Client(app_for(system), "dispatcher")
    task = next(t for t in dispatcher.get("/api/v1/tasks").get_json() if t["case_id"] == case_id)
    yield system, dispatcher, f"/api/v1/tasks/{task['id']}/attachments", case_id
    system.db.dispose()


def send(client: Client, url: str, data: bytes, name: str) -> Any:
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def stored_files(system: System) -> list[Path]:
    return [p for p in system.settings.upload_dir.rglob("*") if p.is_file()]


def attachment_count(system: System) -> int:
    with system.sessions() as session:
        return session.scalar(select(func.count()).select_from(Attachment)) or 0


def test_pixel_bombs_are_refused_at_upload(upload: tuple[System, Client, str, int]) -> None:
    system, client, url, _ = upload
    for width, height in ((100_000, 100_000), (8_000, 8_000)):
        r = send(client, url, hostile.png_claiming(width, height), "bomb.png")
        assert r.status_code == 422, r.get_json()
        assert "pixels" in r.get_json()["errors"]["file"][0]
    assert attachment_count(system) == 0 and stored_files(system) == []


def test_photos_are_re_encoded_without_metadata_or_appended_payloads(upload: tuple[System, Client, str, int]) -> None:
    _system, client, url, case_id = upload
    samples = {
        "gps.jpg": hostile.jpeg_with_gps_and_comment(),
        "zip.png": hostile.photo("PNG") + hostile.zip_archive(),
        "html.jpg": hostile.photo("JPEG") + hostile.HTML_PAYLOAD,
        "plain.webp": hostile.photo("WEBP"),
    }
    for name, data in samples.items():
        r = send(client, url, data, name)
        assert r.status_code == 201, (name, r.get_json())
        meta = r.get_json()
        got = client.get(f"/api/v1/cases/{case_id}/attachments/{meta['id']}")
        assert got.status_code == 200 and got.data != data
        assert got.headers["Content-Disposition"].startswith("inline"), name  # re-encoded: safe to show
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        kept = got.data
        assert not zipfile.is_zipfile(io.BytesIO(kept)) and b"<script" not in kept and b"secret-comment" not in kept
        with Image.open(io.BytesIO(kept)) as image, Image.open(io.BytesIO(data)) as sent:
            assert image.size == sent.size and image.format == sent.format
            assert not image.getexif() and "comment" not in image.info, name


def test_pdfs_with_active_content_or_a_second_type_are_refused(upload: tuple[System, Client, str, int]) -> None:
    system, client, url, _ = upload
    refused = {
        "openaction-js.pdf": hostile.pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
        "names-js.pdf": hostile.pdf(b"/Names << /JavaScript 4 0 R >>", objects=[b"<< /Names [(a) 5 0 R] >>"]),
        "escaped-name.pdf": hostile.pdf(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"),
        "launch.pdf": hostile.pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >>"),
        "hidden-in-object-stream.pdf": hostile.pdf_with_hidden_javascript(),
        "pdf-zip.pdf": hostile.pdf() + hostile.zip_archive(),
        "pdf-html.pdf": hostile.pdf(header=b"%PDF-1.7\n%" + hostile.HTML_PAYLOAD + b"\n"),
        "not-a-pdf.pdf": b"%PDF-1.7\n" + b"garbage " * 20 + b"\n%%EOF\n",
    }
    assert b"JavaScript" not in refused["hidden-in-object-stream.pdf"]
    for name, data in refused.items():
        r = send(client, url, data, name)
        assert r.status_code == 422, (name, r.get_json())
        assert r.get_json()["errors"]["file"], name
    assert attachment_count(system) == 0 and stored_files(system) == []


def test_a_plain_pdf_is_kept_as_sent_and_served_as_a_download(upload: tuple[System, Client, str, int]) -> None:
    _system, client, url, case_id = upload
    document = hostile.pdf(b"/Lang (zh-CN)")
    r = send(client, url, document, "report.pdf")
    assert r.status_code == 201, r.get_json()
    got = client.get(f"/api/v1/cases/{case_id}/attachments/{r.get_json()['id']}")
    assert got.data == document and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_a_photo_stored_before_re_encoding_downloads(upload: tuple[System, Client, str, int]) -> None:
    system, client, url, case_id = upload
    r = send(client, url, hostile.photo("PNG"), "old.png")
    with system.sessions() as session, session.begin():
        session.get(Attachment, r.get_json()["id"]).reencoded = False  # as rows from before migration 0011
    got = client.get(f"/api/v1/cases/{case_id}/attachments/{r.get_json()['id']}")
    assert got.status_code == 200 and got.headers["Content-Disposition"].startswith("attachment")
