"""SMS and instant messaging through an HTTP gateway: a JSON POST in the shape of a WeCom or
DingTalk group-robot webhook (or a plain SMS gateway), signed so the gateway can trust it.

Signature: `X-Liftcase-Timestamp: <unix seconds>` and
`X-Liftcase-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`; the receiver
recomputes it and refuses stale timestamps. `X-Liftcase-Dedupe` repeats on every retry of one notice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from connectors.notify.base import DeliveryError, OutboundMessage, PermanentDeliveryError

TIMESTAMP_HEADER = "X-Liftcase-Timestamp"
SIGNATURE_HEADER = "X-Liftcase-Signature"
DEDUPE_HEADER = "X-Liftcase-Dedupe"
# Client errors that a later attempt can still get past.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
FLAVOURS = frozenset({"wecom", "dingtalk", "sms"})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, sent: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), sent)


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot checks its own signature too (加签): `timestamp` and `sign` query parameters,
    sign = base64(HMAC-SHA256(secret, "<timestamp ms>\n<secret>"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def _text(message: OutboundMessage) -> str:
    if not message.body or message.body in message.subject:
        return message.subject
    return f"{message.subject}\n{message.body}"


def payload(flavour: str, message: OutboundMessage) -> dict[str, Any]:
    """The request body each gateway flavour expects; the recipient is named by mobile number."""
    match flavour:
        case "wecom":
            return {"msgtype": "text", "text": {"content": _text(message), "mentioned_mobile_list": [message.to]}}
        case "dingtalk":
            return {"msgtype": "text", "text": {"content": _text(message)}, "at": {"atMobiles": [message.to]}}
        case "sms":
            return {"to": message.to, "text": _text(message), "reference": message.dedupe_key}
    raise ValueError(f"unknown gateway flavour {flavour!r} (wecom, dingtalk, sms)")


class HttpGateway:
    address_field = "phone"

    def __init__(self, name: str, url: str, secret: str, *, flavour: str, timeout: float = 10.0) -> None:
        if flavour not in FLAVOURS:  # refuse a misconfiguration at start, not on the first rescue
            raise ValueError(f"unknown gateway flavour {flavour!r} (one of {', '.join(sorted(FLAVOURS))})")
        self.name, self.url, self.secret, self.flavour, self.timeout = name, url, secret, flavour, timeout

    def send(self, message: OutboundMessage) -> None:
        body = json.dumps(payload(self.flavour, message), ensure_ascii=False).encode()
        timestamp = str(int(message.at.timestamp()))
        url = self.url
        if self.flavour == "dingtalk" and self.secret:
            url = dingtalk_url(url, self.secret, int(message.at.timestamp() * 1000))
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(self.secret, timestamp, body),
                DEDUPE_HEADER: message.dedupe_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(4096)
        except urllib.error.HTTPError as err:
            text = f"gateway answered HTTP {err.code}: {err.read(300).decode(errors='replace')}"
            permanent = 400 <= err.code < 500 and err.code not in RETRYABLE_4XX
            raise (PermanentDeliveryError if permanent else DeliveryError)(text) from err
        except (urllib.error.URLError, OSError) as err:
            raise DeliveryError(f"gateway {self.url}: {getattr(err, 'reason', err)}") from err
        self._check_answer(answer)

    @staticmethod
    def _check_answer(answer: bytes) -> None:
        """WeCom and DingTalk answer 200 with `errcode` != 0 when they refuse a message."""
        try:
            data = json.loads(answer or b"{}")
        except ValueError:
            return
        if isinstance(data, dict) and data.get("errcode") not in (None, 0):
            raise DeliveryError(f"gateway refused: errcode {data.get('errcode')} {data.get('errmsg', '')}")
