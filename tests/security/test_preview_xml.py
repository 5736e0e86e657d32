"""The deploy preview (POST /api/v1/process-definitions/preview) fed hostile XML: entity expansion
(billion laughs), an external entity naming a local file, a huge document and XML that is not
BPMN. Each is a clear 4xx or a refusal with problems; none expands, reads the file or fails with 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from infra.clock import SimulatedClock
from tests.support.api_client import Client, app_for
from tests.support.system import START, make_system

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="rescue" name="&lol9;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="rescue" name="&secret;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % ext SYSTEM "http://127.0.0.1:7951/evil.dtd"> %ext;]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('preview') / 'liftcase.sqlite3'}"
    system = make_system(url, SimulatedClock(START), elevators=20)
    yield app_for(system)
    system.db.dispose()


def preview(app: Flask, xml: str) -> tuple[int, str]:
    r = Client(app, "analyst").post("/api/v1/process-definitions/preview", json={"xml": xml, "filename": "x.bpmn"})
    return r.status_code, r.get_data(as_text=True)


@pytest.mark.parametrize(
    "xml", [LAUGHS, EXTERNAL, PARAMETER], ids=["billion-laughs", "external-file", "parameter-entity"]
)
def test_entities_are_never_expanded_and_the_doctype_is_refused(app: Flask, xml: str) -> None:
    status, text = preview(app, xml)
    assert status in (200, 422), (status, text[:300])
    assert "root:" not in text and "lollollol" not in text  # /etc/passwd not read, nothing expanded
    assert '"valid":false' in text and len(text) < 20_000
    assert "DOCTYPE" in text or "entity" in text.lower()  # the refusal names the cause


@pytest.mark.parametrize(
    "xml",
    [
        "<html><body>not a process</body></html>",
        '<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>',
        "not xml at all <<<",
        "<a>" * 300 + "</a>" * 300,
    ],
    ids=["html", "no-process", "not-xml", "deep"],
)
def test_xml_that_is_not_a_process_is_a_clear_refusal(app: Flask, xml: str) -> None:
    status, text = preview(app, xml)
    assert status in (200, 422), (status, text[:300])
    assert '"problems"' in text or '"errors"' in text


def test_a_huge_document_is_refused_before_it_is_parsed(app: Flask) -> None:
    xml = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">' + "<!-- pad -->" * 2_000_000
    status, _ = preview(app, xml + "</bpmn:definitions>")
    assert status in (413, 422)


def test_an_anonymous_caller_gets_401(app: Flask) -> None:
    r = app.test_client().post("/api/v1/process-definitions/preview", json={"xml": "<a/>"})
    assert r.status_code == 401
