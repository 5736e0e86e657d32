"""Signed tokens in the public forms (no session, no cookie): the form was served by us, for this
elevator, recently. Blocks blind cross-site and scripted posts; the nonce makes a double-submitted
form one signal (its idempotency key)."""

from __future__ import annotations

import secrets
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "liftcase.qr.form"
MAX_AGE_SECONDS = 2 * 3600


class FormTokenError(ValueError):
    pass


def issue(secret: str, code: str, now: datetime) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps({"c": code, "t": int(now.timestamp()), "n": secrets.token_hex(8)})


def verify(secret: str, token: str, code: str, now: datetime) -> str:
    """The form's nonce; FormTokenError when the token is forged, for another elevator, or stale."""
    try:
        data = URLSafeSerializer(secret, salt=SALT).loads(token or "")
    except BadSignature as err:
        raise FormTokenError("form token invalid") from err
    if not isinstance(data, dict) or data.get("c") != code:
        raise FormTokenError("form token is for another elevator")
    age = now.timestamp() - float(data.get("t", 0))
    if not -300 <= age <= MAX_AGE_SECONDS:
        raise FormTokenError("form expired")
    return str(data.get("n", ""))
