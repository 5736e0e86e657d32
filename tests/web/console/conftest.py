"""The browser tests' module-scoped fixtures (one seeded city, its app on a real HTTP server, one
Chromium per module), from tests/support/console_harness.py."""

from tests.support.console_harness import base, browser, clock, system  # noqa: F401
