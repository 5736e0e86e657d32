"""Static files of the console: its own scripts and styles, and the front-end packages installed by
npm (web/node_modules, nothing vendored) under /static/npm/<package>/ — the API docs page
(Swagger UI) uses them too. Public: the sign-in page and the docs need them before any session.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, send_from_directory, url_for
from werkzeug.wrappers import Response

from infra.settings import ROOT
from web.http import auth

bp = Blueprint("console_assets", __name__)

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
# Bundles built from npm packages by web/scripts (`make`), e.g. the modeler's lint.
BUILD_DIR = ROOT / "var" / "web"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The only npm packages served, and the folder of each that holds its browser build.
NPM_PACKAGES = {
    "bpmn-js": "dist",
    "bpmn-js-bpmnlint": "dist",
    "bpmn-js-i18n": "translations",
    "leaflet": "dist",
    "leaflet.markercluster": "dist",
    "swagger-ui-dist": "",
}


@bp.get("/")
@auth.public
def index() -> Response:
    return redirect(url_for("console.home"))


@bp.get("/console/static/<path:filename>")
@auth.public
def console_file(filename: str) -> Response:
    return send_from_directory(STATIC_DIR, filename, max_age=300)


@bp.get("/console/build/<path:filename>")
@auth.public
def built_file(filename: str) -> Response:
    return send_from_directory(BUILD_DIR, filename, max_age=300)


@bp.get("/static/npm/<package>/<path:filename>")
@auth.public
def npm_file(package: str, filename: str) -> Response:
    if package not in NPM_PACKAGES:
        abort(404)
    return send_from_directory(NODE_MODULES / package / NPM_PACKAGES[package], filename, max_age=86400)
