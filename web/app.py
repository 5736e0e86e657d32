"""Flask app factory. The REST API and console grow here (see the people and console issues)."""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy import text

from liftcase.system import System


def create_app(system: System) -> Flask:
    app = Flask(__name__)
    app.extensions["liftcase"] = system

    @app.get("/healthz")
    def healthz() -> tuple[object, int]:
        """Liveness for load balancers: the database answers. Reveals nothing else."""
        with system.db.connect() as conn:
            conn.execute(text("SELECT 1"))
        return jsonify(status="ok"), 200

    return app
