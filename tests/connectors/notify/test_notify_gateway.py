"""The HTTP gateway plugin on its own: the signature a receiver checks, each flavour's body, DingTalk's
own URL signature, and how answers map to delivered / retry / give up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.notify.base import DeliveryError, OutboundMessage, PermanentDeliveryError
from connectors.notify.gateway import HttpGateway, dingtalk_url, payload, signature, verify

AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
MESSAGE = OutboundMessage(7, "1:2:0:notify:maintenance:3:4:sms", "13800000000", "[JY-1] 困人", "trapped",
                          "JY-1", "P1", AT)


def test_signature_covers_timestamp_and_body() -> None:
    sent = signature("s3cret", "1795000000", b'{"a":1}')
    assert verify("s3cret", "1795000000", b'{"a":1}', sent)
    assert not verify("s3cret", "1795000001", b'{"a":1}', sent)  # a replayed body with a new time
    assert not verify("s3cret", "1795000000", b'{"a":2}', sent)
    assert not verify("other", "1795000000", b'{"a":1}', sent)


def test_each_flavour_names_the_recipient_by_mobile() -> None:
    assert payload("wecom", MESSAGE)["text"]["mentioned_mobile_list"] == ["13800000000"]
    assert payload("dingtalk", MESSAGE)["at"]["atMobiles"] == ["13800000000"]
    assert payload("sms", MESSAGE) == {"to": "13800000000", "text": "[JY-1] 困人\ntrapped",
                                       "reference": MESSAGE.dedupe_key}
    with pytest.raises(ValueError, match="flavour"):
        HttpGateway("im", "http://x", "s", flavour="telegram")


def test_dingtalk_url_carries_its_own_signature() -> None:
    url = dingtalk_url("https://oapi.example/robot/send?access_token=t", "SEC1", 1795000000000)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    expected = base64.b64encode(hmac.new(b"SEC1", b"1795000000000\nSEC1", hashlib.sha256).digest()).decode()
    assert query == {"access_token": ["t"], "timestamp": ["1795000000000"], "sign": [expected]}


@pytest.fixture
def receiver() -> Iterator[tuple[list[Any], list[Any], str]]:
    answers: list[Any] = []  # (status, body) to answer, in order; what arrived is appended after
    seen: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append((self.path, dict(self.headers), json.loads(body)))
            status, answer = answers.pop(0)
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield answers, seen, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_answers_map_to_delivered_retry_or_give_up(receiver: Any) -> None:
    answers, seen, base = receiver
    gateway = HttpGateway("im", f"{base}/robot?access_token=t", "SEC1", flavour="dingtalk")
    answers.append((200, b'{"errcode":0,"errmsg":"ok"}'))
    gateway.send(MESSAGE)
    path, headers, body = seen[-1]
    assert "timestamp=" in path and "sign=" in path and body["msgtype"] == "text"
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert verify("SEC1", headers["X-Liftcase-Timestamp"], raw, headers["X-Liftcase-Signature"])
    assert headers["X-Liftcase-Dedupe"] == MESSAGE.dedupe_key

    answers.append((200, b'{"errcode":130101,"errmsg":"send too fast"}'))  # refused inside a 200
    with pytest.raises(DeliveryError, match="130101") as refused:
        gateway.send(MESSAGE)
    assert not isinstance(refused.value, PermanentDeliveryError)
    answers.append((503, b"busy"))
    with pytest.raises(DeliveryError) as busy:
        gateway.send(MESSAGE)
    assert not isinstance(busy.value, PermanentDeliveryError)
    answers.append((429, b"slow down"))
    with pytest.raises(DeliveryError) as limited:
        gateway.send(MESSAGE)
    assert not isinstance(limited.value, PermanentDeliveryError)
    answers.append((403, b"bad key"))
    with pytest.raises(PermanentDeliveryError, match="403"):
        gateway.send(MESSAGE)
    with pytest.raises(DeliveryError, match="gateway"):  # nobody listening: retry later
        HttpGateway("sms", "http://127.0.0.1:9/", "s", flavour="sms", timeout=2).send(MESSAGE)
