"""WSGI entry for gunicorn: `gunicorn 'liftcase.wsgi:app'`. Settings come from the environment
(LIFTCASE_DATABASE_URL, LIFTCASE_REDIS_URL, LIFTCASE_SECRET_KEY, ...), read once at start."""

from __future__ import annotations

from infra.settings import Settings
from liftcase.bootstrap import build_system
from web.app import create_app

system = build_system(Settings.from_env())
app = create_app(system)
system.warm_up()  # each gunicorn worker imports this: parse the processes now, not on a request
