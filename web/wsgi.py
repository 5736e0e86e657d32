"""WSGI entry for gunicorn: `gunicorn 'web.wsgi:app'`. Settings come from the environment
(LIFTCASE_DATABASE_URL, LIFTCASE_REDIS_URL, LIFTCASE_SECRET_KEY, ...), read once at start."""

from __future__ import annotations

import liftcase.jobs  # noqa: F401 - job functions this process may enqueue
from liftcase.settings import Settings
from liftcase.system import build_system
from web.app import create_app

app = create_app(build_system(Settings.from_env()))
