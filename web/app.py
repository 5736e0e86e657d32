"""Flask app factory: the REST API under /api/v1 (flask-smorest, OpenAPI at /api/openapi.json),
the public QR pages and AI webhook, and the console.

Every route needs a signed-in user unless its view is marked `@public` (web.http.auth): deny by default.
"""

from __future__ import annotations

from flask import Flask, jsonify
from flask_smorest import Api
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from connectors.ai_events import views as ai_event_views
from connectors.inspection import views as inspection_views
from connectors.qr import views as qr_views
from connectors.sso import client as sso_client
from connectors.sso import views as sso_views
from processes.system import System
from web.api import (
    admin_audit,
    cases,
    checkins,
    city,
    dashboard,
    definitions,
    elevator_import,
    elevators,
    equipment,
    feed,
    inspection_reports,
    maintenance,
    notifications,
    organisations,
    rectification_items,
    register_sync,
    reports,
    session,
    tasks,
    visit_confirmations,
)
from web.console import assets, filters, views
from web.http import auth, errors, headers, i18n, json_body, json_out

# Each module exposes `blp` (a flask_smorest.Blueprint); they appear in the OpenAPI document.
API_MODULES = (
    session,
    city,
    notifications,
    filters,
    cases,
    tasks,
    definitions,
    elevators,
    elevator_import,
    inspection_reports,
    rectification_items,
    feed,
    checkins,
    maintenance,
    visit_confirmations,
    equipment,
    register_sync,
    organisations,
    admin_audit,
    dashboard,
    reports,
)
# Plain Flask blueprints (public pages, webhooks, the console); each module exposes `bp`.
PAGE_MODULES = (qr_views, ai_event_views, inspection_views, sso_views, views, assets)


class Int32Converter(IntegerConverter):
    """Path ids fit the database's INTEGER: a larger number matches no route (404), not a crash."""

    def __init__(self, url_map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)  # type: ignore[arg-type]


def create_app(system: System, *, config: dict[str, object] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=system.settings.secret_key,
        MAX_CONTENT_LENGTH=system.settings.max_upload_bytes,
        API_TITLE="liftcase",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/static/npm/swagger-ui-dist/",
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "token": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": auth.SESSION_COOKIE},
                }
            },
            "security": [{"token": []}, {"session": []}],
        },
    )
    app.config.update(config or {})
    app.extensions["liftcase"] = system
    json_out.install(app)
    if system.settings.proxy_hops:
        # Only then are X-Forwarded-For/-Proto believed: the client's address (sign-in throttle,
        # audit trail) and https (Secure cookies) as the last `proxy_hops` proxies saw them.
        hops = system.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    auth.install(app)
    sso_client.install(app, system.settings)  # single sign-on with the city platform, when configured
    json_body.install(app)  # after auth: bodies of callers who are not signed in are not parsed
    i18n.install(app)
    headers.install(app, map_tile_url=system.settings.map_tile_url)
    app.url_map.converters["int"] = Int32Converter
    api = Api(app)
    api.register_converter(Int32Converter, lambda c: {"type": "integer", "minimum": 0, "maximum": c.max})
    errors.install(app)  # after Api(), which installs its own handler for HTTP errors
    for module in API_MODULES:
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    for module in PAGE_MODULES:
        app.register_blueprint(module.bp)

    @app.get("/healthz")
    @auth.public
    def healthz() -> tuple[object, int]:
        """Liveness for load balancers: the database answers. Reveals nothing else."""
        with system.db.connect() as conn:
            conn.execute(text("SELECT 1"))
        return jsonify(status="ok"), 200

    return app
