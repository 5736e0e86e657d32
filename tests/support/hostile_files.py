"""Hostile files built in code for the security tests: images that claim more pixels than they
hold, photos carrying metadata and appended payloads (polyglots), PDFs with active content."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def photo(fmt: str = "JPEG", size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (180, 60, 30)).save(out, format=fmt)
    return out.getvalue()


def jpeg_with_gps_and_comment() -> bytes:
    """A JPEG carrying EXIF (GPS position, camera) and a comment segment."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (31.0, 12.0, 0.5), 3: "E", 4: (107.0, 28.0, 0.2)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 90, 160)).save(out, format="JPEG", exif=exif, comment=b"secret-comment")
    return out.getvalue()


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("payload.html", "<script>alert(document.cookie)</script>")
    return out.getvalue()


HTML_PAYLOAD = b"<html><body><script>fetch('/api/v1/users')</script></body></html>"


def pdf(catalog_extra: bytes = b"", *, objects: list[bytes] | None = None, header: bytes = b"%PDF-1.7\n") -> bytes:
    """A small well-formed PDF (one empty page), with extra entries in its catalog dictionary and
    extra objects (numbered from 4), cross-reference offsets computed."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        *(objects or []),
    ]
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def pdf_with_hidden_javascript() -> bytes:
    """An OpenAction JavaScript action inside a compressed object stream: `/JavaScript` appears
    nowhere in the file's bytes (pydyf, WeasyPrint's PDF writer, compresses it)."""
    import pydyf

    document = pydyf.PDF()
    action = pydyf.Dictionary({"S": "/JavaScript", "JS": pydyf.String("app.alert('hi')")})
    document.add_object(action)
    box = pydyf.Array([0, 0, 200, 200])
    page = pydyf.Dictionary({"Type": "/Page", "Parent": document.pages.reference, "MediaBox": box})
    document.add_page(page)
    document.catalog["OpenAction"] = action.reference
    out = io.BytesIO()
    document.write(out, version=b"1.7", compress=True)
    return out.getvalue()
