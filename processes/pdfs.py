"""PDF documents as we accept them: readable by pypdf, with no active content (JavaScript, a
launch action: what a viewer would run on opening) and nothing that makes the file a second
type too (a ZIP, an HTML page). PDFs are kept byte for byte, so what would run is refused.

Two looks: pypdf reads every object the cross-reference lists, object streams included
(names decoded: `/J#61vaScript` is `/JavaScript`), and a scan of the raw bytes outside streams
finds objects a lenient viewer would read that the cross-reference does not list."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

# Keys and name values that make a viewer run something: the JavaScript action (`/S /JavaScript`,
# its `/JS` script, the document's `/JavaScript` name tree) and the launch action (`/S /Launch`).
ACTIVE_NAMES = frozenset({"/JS", "/JavaScript", "/Launch"})
MAX_OBJECTS = 200_000
_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]+")
_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.S)
_HTML = re.compile(rb"<(script|html|!doctype|iframe|body)\b", re.I)
_EOF_TAIL = b"\r\n\t\x0c\x00 "


class PdfRefused(ValueError):
    """Not a PDF we accept; the message says why."""


def check(data: bytes) -> None:
    """Raise PdfRefused for a PDF we do not keep."""
    _check_shape(data)
    outside_streams = _STREAM.sub(b"stream endstream", data)
    if any(_decode_name(m.group()) in ACTIVE_NAMES for m in _NAME.finditer(outside_streams)):
        raise PdfRefused("PDFs with JavaScript or launch actions are not accepted")
    if _HTML.search(outside_streams):
        raise PdfRefused("the PDF also holds an HTML page (a polyglot); not accepted")
    for name in _names(_reader(data)):
        if name in ACTIVE_NAMES:
            raise PdfRefused("PDFs with JavaScript or launch actions are not accepted")


def _check_shape(data: bytes) -> None:
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise PdfRefused("not a complete PDF (no %%EOF)")
    if data[end + 5 :].strip(_EOF_TAIL):
        raise PdfRefused("data after the PDF's end (%%EOF): a second file appended; not accepted")
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise PdfRefused("the PDF is also a ZIP archive (a polyglot); not accepted")


def _decode_name(raw: bytes) -> str:
    """`/J#61vaScript` -> `/JavaScript` (PDF names may escape any byte as #xx)."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _reader(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfRefused("password-protected PDFs cannot be checked; not accepted")
    except PdfRefused:
        raise
    except Exception as err:  # pypdf raises many kinds on a malformed file
        raise PdfRefused(f"not a readable PDF ({type(err).__name__})") from err
    return reader


def _names(reader: PdfReader) -> Iterator[str]:
    """Every key and name value of every object the file lists, depth first, without recursion."""
    try:
        stack: list[Any] = [reader.trailer, *_listed(reader)]
        seen = 0
        while stack:
            item = stack.pop()
            seen += 1
            if seen > MAX_OBJECTS:
                raise PdfRefused(f"the PDF has more than {MAX_OBJECTS:,} objects; not accepted")
            if isinstance(item, IndirectObject):
                continue  # listed objects are all on the stack already
            if isinstance(item, NameObject):
                yield str(item)
            elif isinstance(item, DictionaryObject):
                yield from (str(k) for k in item)
                stack.extend(item.values())
            elif isinstance(item, ArrayObject):
                stack.extend(item)
    except PdfRefused:
        raise
    except Exception as err:
        raise PdfRefused(f"not a readable PDF ({type(err).__name__})") from err


def _listed(reader: PdfReader) -> Iterator[Any]:
    for generation, numbers in reader.xref.items():
        for number in numbers:
            yield reader.get_object(IndirectObject(number, generation, reader))
    for number in reader.xref_objStm:
        yield reader.get_object(number)
