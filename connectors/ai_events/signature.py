"""HMAC-SHA256 over the raw request body with the source's shared secret.

Headers: `X-Liftcase-Source: <name>` and `X-Liftcase-Signature: sha256=<hex>`. The signed body
carries `ts`; a message older or newer than the window is refused, so a captured request cannot be
replayed later (and one replayed inside the window is a duplicate `event_id`: no second case)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

SOURCE_HEADER = "X-Liftcase-Source"
SIGNATURE_HEADER = "X-Liftcase-Signature"
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
