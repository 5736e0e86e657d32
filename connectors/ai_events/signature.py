"""HMAC-SHA256 over the raw request body with the source's shared secret.

Headers: `X-Liftcase-Source: <name>` and `X-Liftcase-Signature: sha256=<hex>`. The signed body
carries `ts`; a message older or newer than the window is refused, so a captured request cannot be
replayed later (and one replayed inside the window is a duplicate `event_id`: no second case)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

SOURCE_HEADER = "X-Liftcase-Source"
SIGNATURE_HEADER = "X-Liftcase-Signature"
UNSIGNED = (
    f"bad or missing signature: send {SOURCE_HEADER} and {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body>"
)
Source = TypeVar("Source")
WINDOW = timedelta(minutes=5)


def sign(secret: str, body: bytes) -> str:
    """The header value a sender puts in X-Liftcase-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid(secret: str, body: bytes, header: str) -> bool:
    if not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def fresh(ts: datetime, now: datetime, window: timedelta = WINDOW) -> bool:
    return abs(now - ts) <= window


def signed_by(
    headers: Mapping[str, str], body: bytes, secret_of: Callable[[str], tuple[Source, str] | None]
) -> Source | None:
    """The source whose secret signed `body` (`secret_of`: an active source's record and secret by
    name), else None: one answer for an unknown source and a wrong signature, so that a prober
    learns no source names."""
    name = headers.get(SOURCE_HEADER, "").strip()
    found = secret_of(name) if name else None
    if found is None or not valid(found[1], body, headers.get(SIGNATURE_HEADER, "")):
        return None
    return found[0]
