"""The reports API over the real app: stored reports by scope, PDFs, exports, audit packages."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from demo.scenarios import SCENARIOS
from infra.clock import SimulatedClock
from reports.audit_verify import verify_package
from reports.flows import make_scheduled_reports
from tests.support.api_client import Client, app_for
from tests.support.system import make_system


def test_reports_api_in_scope(sqlite_url: str, clock: SimulatedClock, tmp_path: Path) -> None:
    system = make_system(sqlite_url, clock, elevators=80, upload_dir=tmp_path / "uploads")
    try:
        case_id = SCENARIOS["rescue"](system, clock)
        made = make_scheduled_reports(system, "week", date(2026, 11, 30), kinds=("risk",)).made
        app = app_for(system)
        regulator, city, maint, analyst = (Client(app, u) for u in ("regulator", "city_regulator", "maint", "analyst"))

        mine = regulator.get("/api/v1/reports").get_json()
        assert [r["district_code"] for r in mine] == ["511702"]
        assert len(city.get("/api/v1/reports").get_json()) == len(made)
        assert maint.get("/api/v1/reports").status_code == 403
        other = next(r for r in city.get("/api/v1/reports").get_json() if r["district_code"] != "511702")
        assert regulator.get(f"/api/v1/reports/{other['id']}/file").status_code == 404
        r = regulator.get(mine[0]["url"])
        assert r.status_code == 200 and r.data.startswith(b"%PDF") and r.mimetype == "application/pdf"

        r = city.get(f"/api/v1/reports/cases/{case_id}.pdf")
        assert r.status_code == 200 and r.data.startswith(b"%PDF")
        assert analyst.get(f"/api/v1/reports/cases/{case_id}.pdf").status_code == 404
        assert city.get("/api/v1/reports/rescue.pdf?month=2026-11").data.startswith(b"%PDF")
        assert city.get("/api/v1/reports/rescue.pdf?month=2026-13").status_code == 422

        r = city.get("/api/v1/reports/exports/cases?format=csv&type=rescue")
        rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
        assert r.status_code == 200 and len(rows) == 1 and rows[0]["案件类型"] == "困人救援"
        assert (
            len(
                list(
                    csv.reader(
                        io.StringIO(analyst.get("/api/v1/reports/exports/cases?format=csv").data.decode("utf-8-sig"))
                    )
                )
            )
            == 1
        )
        r = city.get("/api/v1/reports/exports/timelines?format=xlsx")
        assert r.status_code == 200 and r.data[:2] == b"PK"

        r = Client(app, "auditor").get("/api/v1/reports/audit-package?from=2026-11-22&to=2026-11-25")
        assert r.status_code == 200 and r.mimetype == "application/zip"
        (tmp_path / "p.zip").write_bytes(r.data)
        verdict = verify_package(tmp_path / "p.zip", r.headers["X-Manifest-Digest"])
        assert verdict.ok and verdict.cases == 1
        assert (
            Client(app, "auditor").get("/api/v1/reports/audit-package?from=2026-11-25&to=2026-11-22").status_code == 422
        )
        assert maint.get("/api/v1/reports/audit-package?from=2026-11-22&to=2026-11-25").status_code == 403
        assert (
            regulator.get("/api/v1/reports/audit-package?from=2026-11-22&to=2026-11-25&district=511703").status_code
            == 404
        )
    finally:
        system.db.dispose()
