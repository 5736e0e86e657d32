"""The dispatch big screen (救援调度大屏) on a 1920×1080 wall in Debian's Chromium, both languages
(issue 15 §4): cases on the map are clustered (leaflet.markercluster) and a cluster holding a rescue
is red; the district labels never overlap, at any zoom; the screen is filled without scrolling."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import func, select

from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator
from tests.support.console_harness import CHROMIUM, WALL, context, page_errors, shot, sign_in, start_rescue
from tests.web.console.test_console_language import VISIBLE_TEXT, problems
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":
    assert os.path.exists(CHROMIUM) and (NODE_MODULES / "leaflet.markercluster").is_dir()
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "leaflet.markercluster").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)

# Every visible district label's box and every case drawn (cluster or point); no two may meet.
LABEL_BOXES = """() => [...document.querySelectorAll('#map .district-label > span')]
  .filter((s) => getComputedStyle(s).visibility !== 'hidden')
  .map((s) => { const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, s.textContent]; })"""
CASE_BOXES = """() => [...document.querySelectorAll('#map .case-cluster, #map .case-point')]
  .map((s) => { const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, 'case']; })"""
# What the map shows for the cases: the clusters' counts and the single markers (paths less the outlines).
MAP_CASES = """(outlines) => {
  const clusters = [...document.querySelectorAll('#map .case-cluster')];
  return {
    clustered: clusters.reduce((n, c) => n + Number(c.textContent), 0),
    clusters: clusters.length,
    red: document.querySelectorAll('#map .case-cluster.has-rescue').length,
    single: document.querySelectorAll('#map path.leaflet-interactive').length - outlines,
  };
}"""


def _overlapping(page: Any) -> list[tuple[str, str]]:
    """Labels that meet another label or a case on the map (cases may meet each other)."""
    labels, cases = page.evaluate(LABEL_BOXES), page.evaluate(CASE_BOXES)
    return [
        (a[4], b[4])
        for i, a in enumerate(labels)
        for b in labels[i + 1:] + cases
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]


@pytest.fixture(scope="module")
def many_cases(system: System) -> int:
    """A rescue and a dozen fault warnings in 通川区 (they cluster), one warning in every other district."""
    with system.sessions() as session:
        here = list(session.scalars(select(Elevator.id).where(Elevator.district_code == "511702").limit(13)))
        elsewhere = list(
            session.scalars(
                select(func.min(Elevator.id)).where(Elevator.district_code != "511702").group_by(Elevator.district_code)
            )
        )
    start_rescue(system, here[0])
    for elevator_id in here[1:] + elsewhere:
        signal = {"source": "iot", "warning_type": "door_lock_fault"}
        open_or_join(system.engine, system.settings.sla_file, "warning", elevator_id=elevator_id, signal=signal)
    return len(here) + len(elsewhere)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_clustered_cases_labels_apart_and_the_wall_filled(
    system: System, base: str, browser: Any, many_cases: int, lang: str
) -> None:
    wall = context(browser, WALL, lang=lang)
    page = wall.new_page()
    errors = page_errors(page)
    page.goto(f"{base}/console/signin?lang={'en' if lang == 'en' else 'zh-CN'}")
    sign_in(page, base, "dispatcher")
    page.goto(f"{base}/console/screens/dispatch?kiosk=1")
    page.wait_for_selector("#map[data-points][data-clusters]")
    page.wait_for_selector("#dispatch-screen[data-updated]")
    outlines = len(page.evaluate("JSON.parse(document.getElementById('districts').textContent)"))
    points = int(page.get_attribute("#map", "data-points"))
    assert points >= many_cases

    # Clusters: every case is in one or shown alone; the 通川区 cluster holds the rescue, so it is red.
    shown = page.evaluate(MAP_CASES, outlines)
    assert shown["clusters"] >= 1 and shown["red"] >= 1, shown
    assert shown["clustered"] + shown["single"] == points, shown
    assert shown["single"] < points  # fewer things to read than cases

    shot(page, f"dispatch-wall-{lang}")
    # District labels: none overlaps another, before and after zooming in on the centre.
    assert len(page.evaluate(LABEL_BOXES)) >= outlines - 2 and _overlapping(page) == []
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(2):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(600)
    assert _overlapping(page) == []
    zoomed = page.evaluate(MAP_CASES, outlines)
    assert zoomed["clustered"] + zoomed["single"] <= points

    # 1920×1080 filled: no scrolling, the map runs to the bottom edge, the columns span the width.
    size = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight, innerWidth, innerHeight]"
    )
    assert size[0] <= size[2] and size[1] <= size[3], size
    grid = page.locator("#dispatch-screen").bounding_box()
    assert grid["width"] >= 1920 - 40 and box["y"] + box["height"] >= 1080 - 40, (grid, box)
    assert problems(page.evaluate(VISIBLE_TEXT), lang) == []
    wall.close()
    assert errors == []
