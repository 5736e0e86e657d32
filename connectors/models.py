"""Tables of this package (filled in as the package grows)."""

from __future__ import annotations

from liftcase.db import Base  # noqa: F401
